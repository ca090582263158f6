// A Prometheus histogram for the per-request and per-command hot paths. prom-client's
// Histogram validates and hashes the label object into a string on every observe, also
// through a `.labels()` child; here each label value set finds its series through one Map
// per label, and an observation is a bucket search and three additions. The registry
// renders it with prom-client's own code (the same exposition, line for line), so it is
// one more metric of the registry to every reader. Label values come from closed sets the
// callers choose (metrics.ts), so the maps stay bounded.
import type { Registry } from 'prom-client';

/** One label value set's buckets (not cumulative), sum and count. */
export class Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

type Level = Map<string, Level | Series>;

export interface SeriesHistogramOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

export class SeriesHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #labelNames: readonly L[];
  readonly #bounds: readonly number[];
  readonly #root: Level = new Map();
  /** Every series, in the order first observed (prom-client's order too). */
  readonly #all: Series[] = [];

  constructor(options: SeriesHistogramOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series of these label values, given in `labelNames` order; made at first use. */
  series(...values: string[]): Series {
    let level = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Level | undefined;
      if (!next) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    let found = level.get(values[last]!) as Series | undefined;
    if (!found) {
      const labels = Object.fromEntries(this.#labelNames.map((name, i) => [name, values[i]!]));
      level.set(values[last]!, (found = new Series(labels, this.#bounds)));
      this.#all.push(found);
    }
    return found;
  }

  /** What prom-client's Histogram hands its registry for the text exposition. */
  getForPromString() {
    const bucket = `${this.name}_bucket`;
    const values = this.#all.flatMap((series) => {
      let cumulative = 0;
      const sharedLabels = series.labels;
      return [
        ...this.#bounds.map((le, i) => ({ labels: { le }, sharedLabels, value: (cumulative += series.counts[i]!), metricName: bucket })),
        { labels: { le: '+Inf' }, sharedLabels, value: series.count, metricName: bucket },
        { labels: {}, sharedLabels, value: series.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels, value: series.count, metricName: `${this.name}_count` },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The JSON form (registry.getMetricsAsJSON): each sample's labels in one object. */
  async get() {
    const data = this.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...sample }) => ({ ...sample, labels: { ...sharedLabels, ...labels } })) };
  }

  reset(): void {
    this.#root.clear();
    this.#all.length = 0;
  }
}
