import { abortable } from './abort';

/**
 * One run of an operation shared by several callers, each with its own deadline (signal): a
 * caller that gives up gets its signal's reason at once, and the run itself is stopped (its
 * signal aborted) once every caller waiting for it has given up, so nothing keeps running, or
 * keeps a connection or a process alive, for nobody. A caller without a signal waits to the end.
 */
export class SharedRun<T> {
  readonly promise: Promise<T>;
  private readonly controller = new AbortController();
  private waiting = 0;
  private settled = false;

  /** `start` gets the run's own signal; `onStop` is called when the run is stopped for want of callers. */
  constructor(
    start: (signal: AbortSignal) => Promise<T>,
    private readonly onStop: () => void = () => undefined,
  ) {
    this.promise = start(this.controller.signal);
    this.promise.then(
      () => (this.settled = true),
      () => (this.settled = true),
    );
  }

  /** Whether the run was stopped because every caller gave up. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Waits for the run, or rejects with `signal`'s reason when it aborts first. */
  async join(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    this.waiting++;
    let left = false;
    const onAbort = (): void => {
      left = true;
      if (--this.waiting > 0 || this.settled) return;
      this.onStop();
      this.controller.abort(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await abortable(this.promise, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!left) this.waiting--;
    }
  }
}
