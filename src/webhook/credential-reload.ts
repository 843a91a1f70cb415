/**
 * Registry credential files (mounted `kubernetes.io/dockerconfigjson` Secrets, `--registry-config`,
 * `--docker-config`) change while the webhook runs: a rotated pull secret must take effect
 * without a restart. This watches the folders holding them (a mounted Secret changes by
 * swapping its `..data` symlink, which only shows on the folder) and re-reads them
 * periodically in case an event is missed; when the content of any file changes (or it
 * appears or disappears), `onChange` runs once. Content is compared by hash and never kept.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface CredentialWatchOptions {
  /** Quiet time after the last file-system event. Default 250 ms. */
  readonly debounceMs?: number;
  /** Re-read this often even without events. Default 30 s; 0 disables. */
  readonly pollIntervalMs?: number;
}

/** A hash of every file's content (or its absence), in order. */
export async function credentialFingerprint(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    try {
      hash.update(`file\0${path}\0`).update(await readFile(path)).update('\0');
    } catch (err) {
      hash.update(`missing\0${path}\0${(err as NodeJS.ErrnoException).code ?? ''}\0`);
    }
  }
  return hash.digest('hex');
}

/** Starts watching; returns a function that stops it (no callback runs after it returns). */
export function watchCredentialFiles(paths: readonly string[], onChange: () => void, options: CredentialWatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? 250;
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  let closed = false;
  let current: string | undefined;
  let checking: Promise<void> | undefined;
  let debounce: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];

  const check = (): Promise<void> => {
    checking ??= (async () => {
      try {
        const next = await credentialFingerprint(paths);
        if (closed) return;
        if (current !== undefined && next !== current) {
          try {
            onChange();
          } catch {
            // The caller logs; a throwing callback must not stop the watch.
          }
        }
        current = next;
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  };
  const schedule = (): void => {
    if (closed) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void check(), debounceMs);
    debounce.unref();
  };

  void check();
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', () => w.close());
      watchers.push(w);
    } catch {
      // The folder does not exist (yet): the poll notices when the file appears.
    }
  }
  const poll = pollIntervalMs > 0 ? setInterval(() => void check(), pollIntervalMs) : undefined;
  poll?.unref();

  return () => {
    closed = true;
    if (debounce) clearTimeout(debounce);
    if (poll) clearInterval(poll);
    for (const w of watchers) w.close();
  };
}
