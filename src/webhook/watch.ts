/**
 * Watching folders for changes: the one helper behind the webhook's policy folder and its
 * serving certificate.
 *
 * File-system events are hints, not facts: a mounted ConfigMap or Secret changes by
 * swapping a `..data` symlink (events on the folder, not on the files), editors write
 * through temporary files, and events get lost (inotify overflows, a folder deleted and
 * created again). So the folders are watched, events are debounced into one run of
 * `onChange`, and `onChange` also runs on a timer; the caller makes a run cheap when
 * nothing changed (a content hash). Runs never overlap: a change during a run makes one
 * more run after it.
 */
import { watch, type FSWatcher } from 'node:fs';

/** The default timing (the webhook's policy folder and credential files): quick after events, a poll as a safety net. */
const DEFAULT_DEBOUNCE_MS = 250;
const DEFAULT_POLL_INTERVAL_MS = 30_000;

export interface WatchFoldersOptions {
  /** Quiet time after the last event before `onChange` runs. Default 250 ms. */
  readonly debounceMs?: number | undefined;
  /** `onChange` also runs this often without events; 0: on events only. Folders that could not be watched are tried again then. Default 30 s. */
  readonly pollIntervalMs?: number | undefined;
  /** Run `onChange` once right away (not debounced). */
  readonly runAtStart?: boolean;
  /** A folder that cannot be watched (for now): told once, until it can be again. */
  readonly onWatchError?: (dir: string, error: Error) => void;
}

/**
 * Watches `dirs` (the folders, not the files in them) and runs `onChange` after changes and
 * every `pollIntervalMs`. Returns a function that stops it: no run starts after it returns
 * (a run in progress finishes; the caller ignores its result if it must). `onChange` must
 * not throw or reject: an error from it is rethrown asynchronously, as the bug it is. The
 * watchers and timers never keep the process alive.
 */
export function watchFolders(dirs: readonly string[], onChange: () => void | Promise<void>, options: WatchFoldersOptions): () => void {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const watchers = new Map<string, FSWatcher>();
  const unwatchable = new Set<string>();
  let closed = false;
  let running = false;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;

  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await onChange();
      } while (again && !closed);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    } finally {
      running = false;
    }
  };
  const runNow = (): void => {
    if (!closed) void run();
  };

  const schedule = (): void => {
    if (closed) return;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      runNow();
    }, debounceMs);
    debounce.unref();
  };

  const startWatching = (): void => {
    for (const dir of new Set(dirs)) {
      if (closed || watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, schedule);
        w.on('error', () => {
          // The folder went away or the watch broke: look again now, watch again at the next poll.
          w.close();
          if (watchers.get(dir) === w) watchers.delete(dir);
          schedule();
        });
        watchers.set(dir, w);
        unwatchable.delete(dir);
      } catch (err) {
        // Typically the folder does not exist (yet); the caller's run reports what it finds.
        if (!unwatchable.has(dir)) {
          unwatchable.add(dir);
          options.onWatchError?.(dir, err as Error);
        }
      }
    }
  };

  startWatching();
  if (options.runAtStart) runNow();
  const poll =
    pollIntervalMs > 0
      ? setInterval(() => {
          startWatching();
          runNow();
        }, pollIntervalMs)
      : undefined;
  poll?.unref();

  return () => {
    closed = true;
    if (debounce) clearTimeout(debounce);
    if (poll) clearInterval(poll);
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}
