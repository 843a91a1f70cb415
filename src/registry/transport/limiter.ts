/**
 * How many requests a client has in flight to each registry: at most its connection limit, and
 * fewer while the registry says it is overloaded. A 429 halves the registry's cap (once per
 * round of requests: the 429s of requests sent under the old cap do not halve it again) and,
 * with Retry-After, holds that registry's new requests until then; each answer that is not a
 * 429 then raises the cap by 1/cap (one more request in flight per round of answers), back up
 * to the connection limit (additive increase, multiplicative decrease, as TCP does). Requests
 * wait in arrival order, each under its own deadline.
 */

/** A request's place at a registry: `release()` when its exchange is over (body read or dropped). */
export interface Slot extends Disposable {
  /** The registry answered 429: the cap halves (once per round). */
  throttled(): void;
  /** The registry's Retry-After: its new requests wait that long. */
  pause(ms: number): void;
  /** The registry answered with something else. */
  answered(): void;
  release(): void;
}

export interface RegistryLoad {
  /** The cap in force (an integer from 1 to the connection limit). */
  readonly cap: number;
  readonly inFlight: number;
  readonly waiting: number;
  /** When Retry-After holds new requests until (ms since the epoch), if later than now. */
  readonly pausedUntil?: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

class Gate {
  /** The cap, fractional while it grows back (additive increase adds 1/cap per answer). */
  private limit: number;
  private active = 0;
  private readonly queue: Waiter[] = [];
  /** Bumped at every decrease: a 429 of a request sent before counts against the old cap. */
  private epoch = 0;
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly max: number,
    private readonly now: () => number,
  ) {
    this.limit = max;
  }

  get load(): RegistryLoad {
    return {
      cap: Math.floor(this.limit),
      inFlight: this.active,
      waiting: this.queue.length,
      ...(this.pausedUntil > this.now() ? { pausedUntil: this.pausedUntil } : {}),
    };
  }

  async acquire(signal: AbortSignal | undefined): Promise<Slot> {
    if (signal?.aborted) throw signal.reason;
    if (this.queue.length > 0 || !this.open()) {
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const i = this.queue.indexOf(waiter);
            if (i >= 0) this.queue.splice(i, 1);
            reject(signal!.reason as unknown);
            this.pump();
          },
        };
        this.queue.push(waiter);
        signal?.addEventListener('abort', waiter.onAbort, { once: true });
        this.pump();
      });
    } else {
      this.active++;
    }
    return this.slot();
  }

  /** Whether a request may start now (the cap has room and no Retry-After holds the registry). */
  private open(): boolean {
    return this.active < Math.floor(this.limit) && this.pausedUntil <= this.now();
  }

  /** Starts waiting requests while there is room; wakes up when a Retry-After pause ends. */
  private pump(): void {
    while (this.queue.length > 0 && this.open()) {
      const waiter = this.queue.shift()!;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.active++;
      waiter.resolve();
    }
    if (this.queue.length === 0 && this.timer !== undefined) {
      // Nobody left waiting (the last one aborted): no timer keeps the process alive.
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const wait = this.pausedUntil - this.now();
    if (this.queue.length > 0 && wait > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
    }
  }

  private slot(): Slot {
    const epoch = this.epoch;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.active--;
      this.pump();
    };
    return {
      throttled: () => {
        if (epoch !== this.epoch) return;
        this.limit = Math.max(1, Math.floor(this.limit / 2));
        this.epoch++;
      },
      pause: (ms) => {
        if (ms > 0) this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
      },
      answered: () => {
        if (this.limit < this.max) this.limit = Math.min(this.max, this.limit + 1 / Math.floor(this.limit));
      },
      release,
      [Symbol.dispose]: release,
    };
  }
}

/** One gate per registry (by its name as the reference gives it). */
export class RegistryLimiter {
  private readonly gates = new Map<string, Gate>();

  constructor(
    /** The most requests in flight per registry: the connection limit. */
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waits for room at `registry` (rejects with the signal's reason if it aborts first). */
  acquire(registry: string, signal?: AbortSignal): Promise<Slot> {
    let gate = this.gates.get(registry);
    if (gate === undefined) {
      gate = new Gate(this.max, this.now);
      this.gates.set(registry, gate);
    }
    return gate.acquire(signal);
  }

  /** The cap, requests in flight and waiting at a registry (for tests and diagnostics). */
  load(registry: string): RegistryLoad {
    return this.gates.get(registry)?.load ?? { cap: this.max, inFlight: 0, waiting: 0 };
  }
}
