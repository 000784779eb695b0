// A log-bucketed latency histogram in the manner of HdrHistogram: integer
// microseconds, exact below 2^(SUB_BITS+1) µs, and above that every power of two
// split into 2^SUB_BITS equal buckets, so any recorded value is reported within
// 1/2^SUB_BITS (under 0.8%) of itself. Fixed size, no allocation per record, and
// histograms from several workers merge by adding counts.

const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS;
/** Largest value tracked without clamping: 2^40 µs, about 12.7 days. */
export const MAX_TRACKABLE_US = 2 ** 40 - 1;
const MAX_BUCKET = 40 - SUB_BITS;
const SLOTS = (MAX_BUCKET + 1) * SUB_COUNT + SUB_COUNT;

/** Index of the slot holding v (a non-negative integer no larger than MAX_TRACKABLE_US). */
export function slotOf(v: number): number {
  if (v < 2 * SUB_COUNT) return v;
  // Math.log2 can round up just below a power of two; fix it with one comparison.
  let msb = Math.floor(Math.log2(v));
  if (2 ** msb > v) msb--;
  else if (2 ** (msb + 1) <= v) msb++;
  const shift = msb - SUB_BITS;
  return shift * SUB_COUNT + Math.floor(v / 2 ** shift);
}

/** Smallest value that lands in slot i. */
export function slotLow(i: number): number {
  if (i < 2 * SUB_COUNT) return i;
  const shift = Math.floor(i / SUB_COUNT) - 1;
  return (i - shift * SUB_COUNT) * 2 ** shift;
}

/** Largest value that lands in slot i. */
export function slotHigh(i: number): number {
  if (i < 2 * SUB_COUNT) return i;
  const shift = Math.floor(i / SUB_COUNT) - 1;
  return slotLow(i) + 2 ** shift - 1;
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Wire form for sending a histogram between threads or processes: [slot, count] pairs. */
export interface SerializedHistogram {
  count: number;
  min: number;
  max: number;
  sum: number;
  slots: [number, number][];
}

export class Histogram {
  private readonly counts = new Float64Array(SLOTS);
  count = 0;
  /** Exact extremes and sum of the recorded (rounded) values. */
  min = Infinity;
  max = 0;
  sum = 0;

  /** Records a latency in microseconds; fractions are rounded, negatives count as 0. */
  record(us: number): void {
    let v = Math.round(us);
    if (!(v > 0)) v = 0; // also catches NaN
    if (v > MAX_TRACKABLE_US) v = MAX_TRACKABLE_US;
    this.counts[slotOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /**
   * The value at or below which `p` percent of the recorded values fall, reported
   * as the top of its bucket (never above the exact maximum). 0 when empty.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in 0..100`);
    if (this.count === 0) return 0;
    // The shrink keeps float noise (0.999 * 10000 = 9990.000000000002) from skipping a rank.
    const rank = Math.max(1, Math.ceil((p / 100) * this.count * (1 - 1e-12)));
    let seen = 0;
    for (let i = 0; i < SLOTS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.min, Math.min(slotHigh(i), this.max));
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      min: this.count === 0 ? 0 : this.min,
      mean: Math.round(this.mean),
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
    };
  }

  add(other: Histogram): void {
    if (other.count === 0) return;
    for (let i = 0; i < SLOTS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
  }

  serialize(): SerializedHistogram {
    const slots: [number, number][] = [];
    for (let i = 0; i < SLOTS; i++) if (this.counts[i]! > 0) slots.push([i, this.counts[i]!]);
    return { count: this.count, min: this.count === 0 ? 0 : this.min, max: this.max, sum: this.sum, slots };
  }

  static deserialize(s: SerializedHistogram): Histogram {
    const h = new Histogram();
    for (const [i, c] of s.slots) {
      if (!Number.isInteger(i) || i < 0 || i >= SLOTS) throw new RangeError(`histogram slot ${i} out of range`);
      h.counts[i]! += c;
    }
    h.count = s.count;
    h.min = s.count === 0 ? Infinity : s.min;
    h.max = s.max;
    h.sum = s.sum;
    return h;
  }
}

/** Formats microseconds for a table: 850us, 12.3ms, 4.20s. */
export function formatUs(us: number): string {
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}
