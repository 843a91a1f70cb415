/**
 * Registry credential files (mounted `kubernetes.io/dockerconfigjson` Secrets, `--registry-config`,
 * `--docker-config`) change while the webhook runs: a rotated pull secret must take effect
 * without a restart. The folders holding them are watched with ./watch.ts (a mounted Secret changes by
 * swapping its `..data` symlink, which only shows on the folder), and re-read periodically in
 * case an event is missed; when the content of any file changes (or it
 * appears or disappears), `onChange` runs once. Content is compared by hash and never kept.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { watchFolders } from './watch';

export interface CredentialWatchOptions {
  /** Quiet time after the last file-system event. Default 250 ms. */
  readonly debounceMs?: number;
  /** Re-read this often even without events. Default 30 s; 0 disables. */
  readonly pollIntervalMs?: number;
}

/** A hash of every file's content (or its absence), in order. */
async function credentialFingerprint(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    try {
      hash
        .update(`file\0${path}\0`)
        .update(await readFile(path))
        .update('\0');
    } catch (err) {
      hash.update(`missing\0${path}\0${(err as NodeJS.ErrnoException).code ?? ''}\0`);
    }
  }
  return hash.digest('hex');
}

/** Starts watching; returns a function that stops it (no callback runs after it returns). */
export function watchCredentialFiles(paths: readonly string[], onChange: () => void, options: CredentialWatchOptions = {}): () => void {
  let closed = false;
  let current: string | undefined;
  // Each run hashes the files and calls back only when the hash moved since the last run.
  const check = async (): Promise<void> => {
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
  };
  const stop = watchFolders([...new Set(paths.map((p) => dirname(p)))], check, {
    debounceMs: options.debounceMs,
    pollIntervalMs: options.pollIntervalMs,
    runAtStart: true,
  });
  return () => {
    closed = true;
    stop();
  };
}
