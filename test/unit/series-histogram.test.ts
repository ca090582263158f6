import { expect } from 'chai';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../src/metrics/series-histogram.ts';

// The request and store-command histograms skip prom-client's label hashing; what a
// scrape shows must not change by a character.
describe('SeriesHistogram', () => {
  const buckets = [0.01, 0.1, 1];
  const observations: [string, string, number][] = [
    ['GET', '200', 0.004],
    ['GET', '200', 0.01],
    ['POST', '400', 0.5],
    ['GET', '200', 7],
    ['GET', '404', 0.1],
    ['POST', '400', 1],
  ];

  it('renders the exposition prom-client renders for the same observations', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'h_seconds', help: 'Help with "quotes" and \\ backslash.', labelNames: ['method', 'status'], buckets, registers: [theirs] });
    const fast = new SeriesHistogram({ name: 'h_seconds', help: 'Help with "quotes" and \\ backslash.', labelNames: ['method', 'status'], buckets, registers: [ours] });
    for (const [method, status, seconds] of observations) {
      reference.observe({ method, status }, seconds);
      fast.series(method, status).observe(seconds);
    }
    expect(await ours.metrics()).to.equal(await theirs.metrics());
    // The JSON form too, but for prom-client's exemplar slots (always empty here).
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((m) => ({ ...m, values: (m.values as { exemplar?: unknown }[]).map(({ exemplar: _, ...sample }) => sample) }));
    expect(await ours.getMetricsAsJSON()).to.deep.equal(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('keeps one series per label value set, whatever the order of first use', async () => {
    const registry = new Registry();
    const fast = new SeriesHistogram({ name: 'h', help: 'h', labelNames: ['a', 'b'], buckets, registers: [registry] });
    expect(fast.series('x', 'y')).to.equal(fast.series('x', 'y'));
    expect(fast.series('x', 'z')).not.to.equal(fast.series('x', 'y'));
    expect(fast.series('y', 'x')).not.to.equal(fast.series('x', 'y'));
    fast.series('x', 'y').observe(Number.NaN);
    expect(fast.series('x', 'y').count, 'a value that is not a number is not counted').to.equal(0);
    registry.resetMetrics();
    expect(await registry.metrics()).to.equal('# HELP h h\n# TYPE h histogram\n');
  });
});
