/**
 * Bounds on admission requests in flight: how many are decided at once, and how many body
 * bytes they hold (a parsed AdmissionReview takes up to about 20 times its size in memory: 16
 * reviews of 3 MB took a webhook past 900 MB). A request reserves its Content-Length (the
 * largest body allowed when it gives none) before its body is read; bodies up to `smallBytes`
 * (every usual review) reserve nothing and need only a free slot, so large requests never hold
 * up ordinary ones. Requests that do not fit wait in order, each at most a given time, in a
 * bounded queue; past either they are refused (the router answers 429 with Retry-After), so the
 * API server's call fails fast instead of the process running out of memory.
 */

export interface AdmissionLimits {
  /** Requests decided at once. */
  readonly maxConcurrent: number;
  /** Body bytes reserved by the requests in flight. */
  readonly maxBytes: number;
  /** Requests waiting for room; more are refused at once. */
  readonly maxQueued: number;
  /** Bodies up to this size reserve no bytes (only a slot). */
  readonly smallBytes: number;
}

/** Gives the room back; idempotent. */
export type Release = () => void;

interface Waiter {
  readonly bytes: number;
  readonly admit: (release: Release) => void;
}

export class AdmissionLimiter {
  private running = 0;
  private bytes = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly limits: AdmissionLimits,
    private readonly onChange: (state: { readonly running: number; readonly bytes: number; readonly queued: number }) => void = () => undefined,
  ) {}

  /**
   * Room for a request of `bytes` body bytes: at once when it fits and nobody waits; else in
   * order, within `waitMs`. Resolves undefined when the queue is full or the wait runs out.
   */
  acquire(bytes: number, waitMs: number): Promise<Release | undefined> {
    const reserved = bytes <= this.limits.smallBytes ? 0 : Math.min(bytes, this.limits.maxBytes);
    // A small request does not wait behind large ones that wait for bytes.
    if ((this.queue.length === 0 || reserved === 0) && this.fits(reserved)) return Promise.resolve(this.take(reserved));
    if (this.queue.length >= this.limits.maxQueued || waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes: reserved,
        admit: (release) => {
          clearTimeout(timer);
          resolve(release);
        },
      };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
        this.report();
        resolve(undefined);
      }, waitMs);
      this.queue.push(waiter);
      this.report();
    });
  }

  get state(): { readonly running: number; readonly bytes: number; readonly queued: number } {
    return { running: this.running, bytes: this.bytes, queued: this.queue.length };
  }

  private fits(bytes: number): boolean {
    return this.running < this.limits.maxConcurrent && this.bytes + bytes <= this.limits.maxBytes;
  }

  private take(bytes: number): Release {
    this.running++;
    this.bytes += bytes;
    this.report();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.bytes -= bytes;
      // In order; a large request that does not fit yet keeps its place, small ones behind it
      // (no bytes) may pass it while slots are free.
      for (let i = 0; i < this.queue.length && this.running < this.limits.maxConcurrent;) {
        const next = this.queue[i]!;
        const blocked = this.queue.slice(0, i).some((w) => w.bytes > 0);
        if (this.fits(next.bytes) && (next.bytes === 0 || !blocked)) {
          this.queue.splice(i, 1);
          next.admit(this.take(next.bytes));
        } else i++;
      }
      this.report();
    };
  }

  private report(): void {
    this.onChange(this.state);
  }
}
