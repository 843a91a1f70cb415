/**
 * Calls and notices between a webhook's primary and its workers (./workers.ts), over the IPC
 * channel node:cluster gives each worker (structured clone: `serialization: 'advanced'`).
 *
 *   call(op, payload) ──► { imgverify: 'call', id, op, payload } ──► handler ──► { imgverify: 'reply', id, ... }
 *   notify(op, payload) ──► { imgverify: 'notice', op, payload } ──► listener
 *
 * Every call has a deadline; a channel that closes (the other process exited) fails the calls
 * in flight. Messages without the `imgverify` tag are someone else's and are ignored. Both ends
 * are this program, but a handler's answer is still checked by its caller before use.
 */
import { ImgverifyError, type ErrorCode } from '../index';
import { errorMessage } from '../util/describe';

/** A process (a worker's `process`, or the primary's `Worker`): sends messages, and receives them. */
export interface Endpoint {
  send(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

type Message =
  | { readonly imgverify: 'call'; readonly id: number; readonly op: string; readonly payload: unknown }
  | { readonly imgverify: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly imgverify: 'reply'; readonly id: number; readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string } }
  | { readonly imgverify: 'notice'; readonly op: string; readonly payload: unknown };

function isMessage(value: unknown): value is Message {
  if (typeof value !== 'object' || value === null) return false;
  const tag = (value as { imgverify?: unknown }).imgverify;
  return tag === 'call' || tag === 'reply' || tag === 'notice';
}

export type CallHandler = (payload: unknown) => unknown;
export type NoticeListener = (payload: unknown) => void;

export class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  private readonly handlers = new Map<string, CallHandler>();
  private readonly listeners = new Map<string, NoticeListener>();
  private closed = false;
  private readonly onMessage = (message: unknown): void => this.receive(message);

  constructor(
    private readonly endpoint: Endpoint,
    private readonly peer: string,
  ) {
    endpoint.on('message', this.onMessage);
  }

  /** Answers calls of `op`: the handler's value (or promise) is the reply; a throw is the caller's error. */
  handle(op: string, handler: CallHandler): this {
    this.handlers.set(op, handler);
    return this;
  }

  /** Listens to notices of `op`. */
  listen(op: string, listener: NoticeListener): this {
    this.listeners.set(op, listener);
    return this;
  }

  /** Calls `op` at the other end; rejects after `timeoutMs`, or when the channel closes. */
  call(op: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new ImgverifyError('ABORTED', `${this.peer} is gone`));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ImgverifyError('ABORTED', `${this.peer} did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      if (!this.send({ imgverify: 'call', id, op, payload })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ImgverifyError('ABORTED', `${this.peer} cannot be reached`));
      }
    });
  }

  /** Sends a notice (no answer); false when the other end cannot be reached. */
  notify(op: string, payload: unknown): boolean {
    return !this.closed && this.send({ imgverify: 'notice', op, payload });
  }

  /** Stops listening; calls in flight fail with `why`. */
  close(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.endpoint.off('message', this.onMessage);
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new ImgverifyError('ABORTED', `${this.peer}: ${why}`));
    }
    this.pending.clear();
  }

  private send(message: Message): boolean {
    try {
      return this.endpoint.send(message);
    } catch {
      // A channel closed under us (the other process is exiting).
      return false;
    }
  }

  private receive(message: unknown): void {
    if (!isMessage(message) || this.closed) return;
    if (message.imgverify === 'notice') {
      this.listeners.get(message.op)?.(message.payload);
      return;
    }
    if (message.imgverify === 'reply') {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new ImgverifyError(message.error.code, message.error.message));
      return;
    }
    const { id, op } = message;
    const handler = this.handlers.get(op);
    void (async () => {
      try {
        if (!handler) throw new ImgverifyError('INTERNAL_ERROR', `no handler for ${op}`);
        const value: unknown = await handler(message.payload);
        this.send({ imgverify: 'reply', id, ok: true, value });
      } catch (err) {
        const code: ErrorCode = err instanceof ImgverifyError ? err.code : 'INTERNAL_ERROR';
        this.send({ imgverify: 'reply', id, ok: false, error: { code, message: errorMessage(err) } });
      }
    })();
  }
}
