/**
 * The server's metrics in Prometheus' text exposition format: requests by
 * endpoint and status, a latency histogram per endpoint, a batch-size
 * histogram, and gauges for the queue and the requests in flight.
 *
 * @module
 */

/** Upper bounds (seconds) of the latency histogram's buckets. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Upper bounds of the batch-size histogram's buckets. */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128];

/** A histogram with fixed buckets (cumulative counts, as Prometheus wants them). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  /** A histogram with upper bounds `buckets`. */
  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  /** Records one value. */
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
  }

  /** The `_bucket`, `_sum` and `_count` lines for `name` with `labels` (`endpoint="/x"`). */
  lines(name: string, labels = ""): string[] {
    const sep = labels ? "," : "";
    return [
      ...this.buckets.map((b, i) => `${name}_bucket{${labels}${sep}le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${labels ? `{${labels}}` : ""} ${this.sum}`,
      `${name}_count${labels ? `{${labels}}` : ""} ${this.count}`,
    ];
  }
}

/** Everything the server counts. */
export class Metrics {
  readonly requests = new Map<string, number>();
  readonly latency = new Map<string, Histogram>();
  readonly batchSize = new Histogram(BATCH_BUCKETS);
  inflight = 0;
  queueDepth: () => number = () => 0;

  /** Records a finished request. */
  request(endpoint: string, status: number, seconds: number): void {
    const key = `endpoint="${endpoint}",code="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(endpoint);
    if (!h) this.latency.set(endpoint, h = new Histogram(LATENCY_BUCKETS));
    h.observe(seconds);
  }

  /** The exposition text (`GET /metrics`). */
  render(): string {
    const out: string[] = [
      "# HELP dendrite_requests_total Requests answered, by endpoint and HTTP status.",
      "# TYPE dendrite_requests_total counter",
      ...[...this.requests].map(([k, n]) => `dendrite_requests_total{${k}} ${n}`),
      "# HELP dendrite_request_duration_seconds Time from a request's arrival to its answer.",
      "# TYPE dendrite_request_duration_seconds histogram",
      ...[...this.latency].flatMap(([e, h]) => h.lines("dendrite_request_duration_seconds", `endpoint="${e}"`)),
      "# HELP dendrite_batch_size Samples per forward pass.",
      "# TYPE dendrite_batch_size histogram",
      ...this.batchSize.lines("dendrite_batch_size"),
      "# HELP dendrite_queue_depth Samples waiting for a forward pass.",
      "# TYPE dendrite_queue_depth gauge",
      `dendrite_queue_depth ${this.queueDepth()}`,
      "# HELP dendrite_inflight_requests Requests being handled.",
      "# TYPE dendrite_inflight_requests gauge",
      `dendrite_inflight_requests ${this.inflight}`,
    ];
    return out.join("\n") + "\n";
  }
}
