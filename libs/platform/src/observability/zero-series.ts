import { Histogram, type Counter } from 'prom-client';

/** The values each label of a metric can take: a bounded list per label name. */
export type LabelValues<L extends string> = { readonly [K in L]: readonly string[] };

/** One series of a metric: a value for every label. */
export type LabelSet<L extends string> = Record<L, string>;

/**
 * Every combination of the listed label values (their cross product), e.g.
 * `{service: ['github'], state: ['open', 'closed']}` → two label sets.
 */
export function labelCombinations<L extends string>(values: LabelValues<L>): Array<LabelSet<L>> {
  let sets: Array<Partial<LabelSet<L>>> = [{}];
  for (const name of Object.keys(values) as L[]) {
    sets = sets.flatMap((set) => values[name].map((value) => ({ ...set, [name]: value })));
  }
  return sets as Array<LabelSet<L>>;
}

/**
 * Creates each label set of `counter` at 0, at start-up. Prometheus computes `rate()` and
 * `increase()` from the difference between samples, so a series that first appears with its
 * first event (value 1, no earlier sample) adds nothing: after every restart, and for every label
 * set that is rare, the first event would go uncounted. Every counter with bounded labels calls
 * this in its constructor with all the label sets its code can produce. Histograms too: each
 * label set gets its buckets, `_sum` and `_count` at 0, so `histogram_quantile` over `rate()` and
 * ratios of `_count` see the first observation of every label set after a restart.
 */
export function startAtZero<L extends string>(
  metric: Counter<L> | Histogram<L>,
  labelSets: Iterable<LabelSet<L>>,
): void {
  if (metric instanceof Histogram) {
    for (const labels of labelSets) metric.zero(labels);
    return;
  }
  for (const labels of labelSets) metric.inc(labels, 0);
}
