/**
 * Bounded-concurrency mapping that yields results in completion order, so a caller can
 * report progress as images finish while at most `concurrency` are in flight.
 */
export async function* mapConcurrent<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const iterator = Symbol.asyncIterator in Object(items) ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  const inFlight = new Map<number, Promise<{ id: number; value: R }>>();
  let index = 0;
  let done = false;
  const launch = async (): Promise<void> => {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      return;
    }
    const id = index++;
    const settled = fn(next.value, id).then((value) => ({ id, value }));
    // Handled at once: it may reject while the next item is produced, or after another one
    // ended the mapping (the rejection then goes nowhere instead of ending the process).
    settled.catch(() => undefined);
    inFlight.set(id, settled);
  };
  while (!done && inFlight.size < concurrency) await launch();
  while (inFlight.size > 0) {
    const { id, value } = await Promise.race(inFlight.values());
    inFlight.delete(id);
    yield value;
    if (!done) await launch();
  }
}

/** Maps with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  for await (const { index, value } of mapConcurrent(items, limit, async (item, i) => ({ index: i, value: await fn(item) }))) {
    results[index] = value;
  }
  return results;
}

/**
 * Connections per registry host that let `concurrency` images verify without queueing behind
 * each other: an image has at most two requests out at once (its `.sig` chain and its referrers
 * lookup beside it). Never fewer than the registry client's default (32), never more than its
 * bound (1024). Requests beyond it wait in the client, in arrival order (../registry/transport/limiter).
 */
export function connectionsForImages(concurrency: number): number {
  return Math.min(1024, Math.max(32, 2 * concurrency));
}
