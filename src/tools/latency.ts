/**
 * Latency bookkeeping for the stress and benchmark tools: a bounded sample
 * store per command and nearest-rank percentiles over it.
 */

/** Percentiles and extremes of one set of samples, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * The nearest-rank percentile of an ascending array: the smallest sample
 * with at least `p` % of the samples at or below it. No interpolation, so a
 * reported p99 is a latency that really happened.
 * @returns `NaN` for an empty array.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0];
  if (p >= 100) return sorted[sorted.length - 1];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

/** The median of any (unsorted) array; the mean of the middle two for an even count. `NaN` when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Summarise unsorted samples (ms). */
export function summarise(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, v) => sum + v, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
    mean: sorted.length > 0 ? total / sorted.length : Number.NaN,
  };
}

/** Default cap on samples kept per recorder (8 bytes each). */
export const DEFAULT_MAX_SAMPLES = 200_000;

/**
 * Keeps latency samples for one kind of operation. A long stress run can
 * produce millions of samples, so past `maxSamples` it switches to reservoir
 * sampling (every sample seen so far has the same chance of being kept):
 * memory stays bounded and the percentiles stay unbiased. `count` and `max`
 * are always exact.
 */
export class LatencyRecorder {
  private readonly samples: number[] = [];
  private seen = 0;
  private maxSeen = Number.NaN;

  constructor(
    private readonly maxSamples = DEFAULT_MAX_SAMPLES,
    /** Source of randomness in [0, 1); injectable so tests are deterministic. */
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(maxSamples) || maxSamples < 1) throw new RangeError('maxSamples must be a positive integer');
  }

  /** Record one sample in milliseconds. */
  record(ms: number): void {
    this.seen += 1;
    if (!(ms <= this.maxSeen)) this.maxSeen = ms;
    if (this.samples.length < this.maxSamples) {
      this.samples.push(ms);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.maxSamples) this.samples[slot] = ms;
  }

  /** Samples held in memory now: never more than `maxSamples`. */
  get kept(): number {
    return this.samples.length;
  }

  /** Samples recorded, kept or not. */
  get count(): number {
    return this.seen;
  }

  summary(): LatencySummary {
    const result = summarise(this.samples);
    return { ...result, count: this.seen, max: this.maxSeen };
  }
}

/** Milliseconds since `start` (a `process.hrtime.bigint()` reading). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
