// Latency histogram for `streamctl bench`, in the style of HdrHistogram (Gil Tene): log-linear
// buckets, so recording is O(1) with no allocation, memory is fixed (~250 KiB) whatever the count,
// and every percentile is exact to within the bucket's relative width.
//
// Layout, for integer values v ≥ 0 (bench records microseconds):
//   v < 2·SUB (2,048)       index = v                                   (exact)
//   v ≥ 2·SUB               shift = ⌊log2 v⌋ − SUB_BITS,  index = SUB·(shift+1) + (v >> shift) − SUB
// i.e. each power-of-two range above 2,048 is split into SUB = 1,024 equal buckets, so a bucket is
// at most 1/1,024 (~0.1%) of its values wide: three significant digits, like HdrHistogram's
// `numberOfSignificantValueDigits = 3`. Values above HISTOGRAM_MAX_VALUE (2^42 − 1 µs, 51 days) are clamped.
//
// Percentiles report the bucket's highest equivalent value (as HdrHistogram does), so they never
// understate; min and max are tracked exactly. Coordinated omission is the caller's business: in
// fixed-rate mode bench measures from the *intended* send time, which corrects it at the source.

const SUB_BITS = 10;
const SUB = 1 << SUB_BITS;
/** Largest shift: floor(v / SUB) must stay below 2^32 for Math.clz32. */
const MAX_SHIFT = 31;
/** Largest value that keeps its own bucket; larger values are clamped to it. */
export const HISTOGRAM_MAX_VALUE = 2 ** (MAX_SHIFT + SUB_BITS + 1) - 1;
const BUCKETS = SUB * (MAX_SHIFT + 2);

export function bucketIndex(v: number): number {
  if (v < 2 * SUB) return v;
  const shift = 31 - Math.clz32(Math.floor(v / SUB)); // ⌊log2 v⌋ − SUB_BITS, for v < 2^53
  return SUB * (shift + 1) + Math.floor(v / 2 ** shift) - SUB;
}

/** The lowest and highest values that share bucket `i`. */
export function bucketRange(i: number): [number, number] {
  if (i < 2 * SUB) return [i, i];
  const shift = Math.floor(i / SUB) - 1;
  const low = (i - SUB * (shift + 1) + SUB) * 2 ** shift;
  return [low, low + 2 ** shift - 1];
}

export interface HistogramSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  private sum = 0;
  min = Infinity;
  max = 0;

  /** Records one value (negative values count as 0; fractions are truncated). */
  record(value: number, times = 1): void {
    let v = value > 0 ? Math.floor(value) : 0;
    if (v > HISTOGRAM_MAX_VALUE) v = HISTOGRAM_MAX_VALUE;
    this.counts[bucketIndex(v)]! += times;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Adds every value of `other` into this one. */
  merge(other: Histogram): void {
    if (other.count === 0) return;
    for (let i = 0; i < BUCKETS; i++) if (other.counts[i] !== 0) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /**
   * The value at percentile `p` (0–100): the highest value equivalent to the smallest recorded
   * value with at least p% of the count at or below it; never above the exact max. 0 when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) * this.count) / 100));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return Math.min(this.max, Math.max(this.min, bucketRange(i)[1]));
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  summary(): HistogramSummary {
    return {
      count: this.count,
      min: this.count === 0 ? 0 : this.min,
      mean: this.mean,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
    };
  }
}
