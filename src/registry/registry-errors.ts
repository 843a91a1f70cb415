/**
 * The registry's error body (`{"errors":[{"code","message","detail"}]}`), reduced to text that
 * is safe to put in our messages: the registry is hostile, so codes and messages are checked,
 * stripped of control characters and shortened.
 */

export interface RegistryErrorInfo {
  /** First error code, when it looks like one (`MANIFEST_UNKNOWN`). */
  readonly code?: string;
  /** All codes. */
  readonly codes: readonly string[];
  /** First message, sanitised. */
  readonly message?: string;
}

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
const MAX_MESSAGE = 200;
const MAX_ERRORS = 16;

export function parseRegistryErrors(body: Buffer): RegistryErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { codes: [] };
  }
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { errors?: unknown }).errors)) {
    return { codes: [] };
  }
  const codes: string[] = [];
  let message: string | undefined;
  for (const entry of (json as { errors: unknown[] }).errors.slice(0, MAX_ERRORS)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { code, message: msg } = entry as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CODE_RE.test(code)) codes.push(code);
    if (message === undefined && typeof msg === 'string') message = sanitise(msg);
  }
  return { ...(codes[0] !== undefined ? { code: codes[0] } : {}), codes, ...(message ? { message } : {}) };
}

/** Printable ASCII only, shortened: safe to embed in an error message. */
export function sanitise(text: string, max = MAX_MESSAGE): string {
  const clean = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/** ` (MANIFEST_UNKNOWN: manifest unknown)` or '' */
export function formatRegistryError(info: RegistryErrorInfo): string {
  if (info.code === undefined && info.message === undefined) return '';
  return ` (${[info.code, info.message].filter(Boolean).join(': ')})`;
}
