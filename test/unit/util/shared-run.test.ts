import { SharedRun } from '../../../src/util/shared-run';

/** A run that settles when told to, or rejects with its signal's reason when stopped. */
function controllable(): { run: SharedRun<string>; finish: (v: string) => void; stops: () => number } {
  let finish!: (v: string) => void;
  let stopped = 0;
  const run = new SharedRun<string>(
    (signal) =>
      new Promise((resolve, reject) => {
        finish = resolve;
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    () => stopped++,
  );
  run.promise.catch(() => undefined);
  return { run, finish: (v) => finish(v), stops: () => stopped };
}

describe('SharedRun (issues 20.5, 20.6)', () => {
  test('every caller gets the result', async () => {
    const { run, finish } = controllable();
    const a = run.join(new AbortController().signal);
    const b = run.join();
    finish('done');
    await expect(Promise.all([a, b])).resolves.toEqual(['done', 'done']);
  });

  test('a caller that aborts gets its reason; the run goes on for the others', async () => {
    const { run, finish, stops } = controllable();
    const first = new AbortController();
    const a = run.join(first.signal);
    const b = run.join(new AbortController().signal);
    first.abort(new Error('first gave up'));
    await expect(a).rejects.toThrow('first gave up');
    expect(run.stopped).toBe(false);
    finish('done');
    await expect(b).resolves.toBe('done');
    expect(stops()).toBe(0);
  });

  test('the run is stopped once every caller has aborted', async () => {
    const { run, stops } = controllable();
    const one = new AbortController();
    const two = new AbortController();
    const a = run.join(one.signal);
    const b = run.join(two.signal);
    one.abort(new Error('one'));
    two.abort(new Error('two'));
    await expect(a).rejects.toThrow('one');
    await expect(b).rejects.toThrow('two');
    expect(run.stopped).toBe(true);
    expect(stops()).toBe(1);
    await expect(run.promise).rejects.toThrow('two');
  });

  test('a caller without a signal keeps it running', async () => {
    const { run, finish } = controllable();
    const one = new AbortController();
    const a = run.join(one.signal);
    const b = run.join();
    one.abort(new Error('one'));
    await expect(a).rejects.toThrow('one');
    expect(run.stopped).toBe(false);
    finish('done');
    await expect(b).resolves.toBe('done');
  });

  test('joining with an aborted signal rejects at once and does not count', async () => {
    const { run } = controllable();
    const gone = new AbortController();
    gone.abort(new Error('gone'));
    await expect(run.join(gone.signal)).rejects.toThrow('gone');
    expect(run.stopped).toBe(false);
  });
});
