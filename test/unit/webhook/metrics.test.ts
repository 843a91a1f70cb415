import { Counter, escapeLabelValue, Gauge, Histogram, WebhookMetrics } from '../../../src/webhook/metrics';

describe('Prometheus text format', () => {
  test('a counter with labels: HELP, TYPE, sorted labels, one series per label set', () => {
    const c = new Counter('requests_total', 'Requests.');
    c.inc({ result: 'allowed', path: '/validate' });
    c.inc({ path: '/validate', result: 'allowed' });
    c.inc({ path: '/mutate', result: 'denied' }, 3);
    expect(c.render()).toBe(
      '# HELP requests_total Requests.\n' +
        '# TYPE requests_total counter\n' +
        'requests_total{path="/validate",result="allowed"} 2\n' +
        'requests_total{path="/mutate",result="denied"} 3\n',
    );
    expect(() => c.inc({}, -1)).toThrow(/only go up/);
  });

  test('label values are escaped; help text newlines too', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const g = new Gauge('g', 'line one\nline two');
    g.set(1.5, { v: 'x"y' });
    expect(g.render()).toBe('# HELP g line one\\nline two\n# TYPE g gauge\ng{v="x\\"y"} 1.5\n');
  });

  test('a histogram has cumulative buckets, +Inf, _sum and _count', () => {
    const h = new Histogram('latency_seconds', 'Latency.', [0.1, 1]);
    h.observe(0.05, { path: '/validate' });
    h.observe(0.5, { path: '/validate' });
    h.observe(5, { path: '/validate' });
    expect(h.render()).toBe(
      '# HELP latency_seconds Latency.\n' +
        '# TYPE latency_seconds histogram\n' +
        'latency_seconds_bucket{path="/validate",le="0.1"} 1\n' +
        'latency_seconds_bucket{path="/validate",le="1"} 2\n' +
        'latency_seconds_bucket{path="/validate",le="+Inf"} 3\n' +
        'latency_seconds_sum{path="/validate"} 5.55\n' +
        'latency_seconds_count{path="/validate"} 3\n',
    );
    expect(h.count({ path: '/validate' })).toBe(3);
  });

  test('invalid metric and label names are refused', () => {
    expect(() => new Counter('bad-name', 'x')).toThrow();
    expect(() => new Counter('ok', 'x').inc({ 'bad-label': 'v' })).toThrow();
  });

  test('the webhook metrics: every family is declared, unlabelled ones start at 0', () => {
    const m = new WebhookMetrics();
    m.requests.inc({ path: '/validate', result: 'allowed' });
    m.duration.observe(0.02, { path: '/validate' });
    m.verdicts.inc({ verdict: 'denied', matched: 'true' });
    m.cacheHits.inc();
    const text = m.render();
    for (const [name, type] of [
      ['imgverify_admission_requests_total', 'counter'],
      ['imgverify_admission_duration_seconds', 'histogram'],
      ['imgverify_image_verdicts_total', 'counter'],
      ['imgverify_cache_hits_total', 'counter'],
      ['imgverify_cache_misses_total', 'counter'],
      ['imgverify_policy_reloads_total', 'counter'],
      ['imgverify_tls_reloads_total', 'counter'],
      ['imgverify_policies', 'gauge'],
      ['imgverify_cache_entries', 'gauge'],
      ['imgverify_ready', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(text).toContain('imgverify_admission_requests_total{path="/validate",result="allowed"} 1\n');
    expect(text).toContain('imgverify_admission_duration_seconds_bucket{path="/validate",le="0.025"} 1\n');
    expect(text).toContain('imgverify_image_verdicts_total{matched="true",verdict="denied"} 1\n');
    expect(text).toContain('imgverify_cache_hits_total 1\n');
    expect(text).toContain('imgverify_cache_misses_total 0\n');
    // Every non-comment line is `name{labels} value`.
    for (const line of text
      .trimEnd()
      .split('\n')
      .filter((l) => !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? \S+$/);
    }
  });
});

describe('WebhookMetrics.aggregate (a primary and its workers, one scrape)', () => {
  it('adds counters and histograms up, sums per-worker gauges, takes the primary’s for what only it knows', () => {
    const primary = new WebhookMetrics();
    primary.policies.set(3);
    primary.ready.set(1);
    primary.tlsReloads.inc({ result: 'loaded' });
    const workers = [new WebhookMetrics(), new WebhookMetrics()];
    workers.forEach((w, i) => {
      w.requests.inc({ path: '/validate', result: 'allowed' }, 10 + i);
      w.duration.observe(0.002, { path: '/validate' });
      w.cacheEntries.set(5);
      w.admissionsInFlight.set(2 + i);
      w.admissionsQueued.set(1);
      w.tagCacheEntries.set(7);
      // A worker's view of what the primary owns is not counted.
      w.policies.set(99);
      w.ready.set(0);
      // Each worker reloads the shared certificate once: the replica reloaded it once.
      w.tlsReloads.inc({ result: 'loaded' });
    });
    const total = WebhookMetrics.aggregate(
      primary.snapshot(),
      workers.map((w) => w.snapshot()),
    );
    expect(total.requests.get({ path: '/validate', result: 'allowed' })).toBe(21);
    expect(total.cacheEntries.get()).toBe(10);
    expect(total.admissionsInFlight.get()).toBe(5);
    expect(total.admissionsQueued.get()).toBe(2);
    expect(total.tagCacheEntries.get()).toBe(14);
    expect(total.policies.get()).toBe(3);
    expect(total.ready.get()).toBe(1);
    expect(total.tlsReloads.get({ result: 'loaded' })).toBe(1);
    expect(total.render()).toMatch(/^imgverify_admission_duration_seconds_count\{path="\/validate"\} 2$/m);
  });
});
