// ZooKeeper 3.6+ reports its latencies in mntr as summaries: for a name N,
// zk_avg_N, zk_min_N, zk_max_N, zk_cnt_N, zk_sum_N and, for most, zk_p50_N,
// zk_p95_N, zk_p99_N, zk_p999_N, all in ms and cleared by srst. Synod keeps
// the same names so dashboards built for ZooKeeper read it unchanged, but
// records microseconds and prints ms with three decimals: on a fast disk an
// fdatasync takes well under a millisecond, which ZooKeeper's whole-ms
// figures would show as 0.

import { Histogram } from './histogram.js';

export class LatencyMetric {
  private readonly h = new Histogram();

  constructor(readonly name: string) {}

  get count(): number {
    return this.h.count;
  }

  recordMs(ms: number): void {
    this.h.record(ms * 1000);
  }

  recordUs(us: number): void {
    this.h.record(us);
  }

  /** The value at or below which p percent of the recorded ones fall, in ms. */
  percentileMs(p: number): number {
    return this.h.percentile(p) / 1000;
  }

  reset(): void {
    this.h.reset();
  }

  /** mntr rows in ZooKeeper's order. */
  rows(): Array<[string, number]> {
    const h = this.h;
    const ms = (us: number): number => Math.round(us) / 1000;
    const n = this.name;
    return [
      [`zk_avg_${n}`, ms(h.mean)],
      [`zk_min_${n}`, h.count === 0 ? 0 : ms(h.min)],
      [`zk_max_${n}`, ms(h.max)],
      [`zk_cnt_${n}`, h.count],
      [`zk_sum_${n}`, ms(h.sum)],
      [`zk_p50_${n}`, ms(h.percentile(50))],
      [`zk_p95_${n}`, ms(h.percentile(95))],
      [`zk_p99_${n}`, ms(h.percentile(99))],
      [`zk_p999_${n}`, ms(h.percentile(99.9))],
    ];
  }
}
