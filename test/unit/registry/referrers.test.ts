/** What a registry client knows of each registry's referrers API (the shared probe itself: test/integration/registry/referrers.test.ts). */
import { ReferrersCapabilities } from '../../../src/registry/referrers';

describe('ReferrersCapabilities', () => {
  test('"no API" is believed for a while, then probed again; "API" stays', () => {
    let now = 1_000;
    const caps = new ReferrersCapabilities(60_000, () => now);
    expect(caps.supported('a.test')).toBeUndefined();
    caps.learn('a.test', false);
    caps.learn('b.test', true);
    expect([caps.supported('a.test'), caps.supported('b.test')]).toEqual([false, true]);
    now += 60_000;
    expect([caps.supported('a.test'), caps.supported('b.test')]).toEqual([undefined, true]);
  });

  test('one probe in flight per registry; ending it wakes the waiters, and only its own end clears it', async () => {
    const caps = new ReferrersCapabilities();
    const end = caps.startProbe('a.test');
    const probe = caps.probe('a.test')!;
    expect(caps.probe('b.test')).toBeUndefined();
    let woke = false;
    void probe.then(() => (woke = true));
    const endNext = caps.startProbe('a.test');
    end();
    await Promise.resolve();
    expect(woke).toBe(true);
    // The probe that replaced it is still in flight.
    expect(caps.probe('a.test')).not.toBe(probe);
    expect(caps.probe('a.test')).toBeDefined();
    endNext();
    expect(caps.probe('a.test')).toBeUndefined();
  });
});
