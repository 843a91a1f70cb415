/**
 * Process warnings that say a fast path is off or a setting is outside what CI tests: emitted
 * once per process and code (`process.emitWarning`, so `--no-warnings` silences them and
 * `process.on('warning')` receives them), never on a hot path more than that.
 */
const emitted = new Set<string>();

/** Emits `message` as an `ImgverifyWarning` with `code`, the first time `code` is seen. */
export function warnOnce(code: string, message: string): void {
  if (emitted.has(code)) return;
  emitted.add(code);
  process.emitWarning(message, { type: 'ImgverifyWarning', code });
}
