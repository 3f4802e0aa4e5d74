// Broker counters the control plane reads (`/v1/stats`, `/metrics`): request counts and latency
// per API, bytes and records in/out per topic, connections. Plain numbers, no allocation per
// request beyond the first time a key is seen.

export interface ApiStats extends LatencyStats {
  rejected: number;
}

/** Upper bounds of the request-latency histogram, in ms: sub-ms (metadata) to long polls. */
export const LATENCY_BUCKETS_MS = [0.25, 0.5, 1, 2, 3, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/** Upper bounds of the fdatasync-latency histogram, in ms: what an fsync=always ack waits for.
 * Fine around 1–2 ms, where an ack-latency goal sits. */
export const FSYNC_BUCKETS_MS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 25, 50, 100, 250, 1000];

export interface LatencyStats {
  count: number;
  latencyMsTotal: number;
  latencyMsMax: number;
  /** Observations ≤ bounds[i] (cumulative, as a Prometheus histogram). */
  latencyBuckets: number[];
}

function observe(s: LatencyStats, bounds: readonly number[], ms: number): void {
  s.count++;
  s.latencyMsTotal += ms;
  if (ms > s.latencyMsMax) s.latencyMsMax = ms;
  for (let i = bounds.length - 1; i >= 0 && ms <= bounds[i]!; i--) s.latencyBuckets[i]!++;
}

export interface TopicStats {
  bytesIn: number;
  recordsIn: number;
  bytesOut: number;
  recordsOut: number;
}

export class BrokerMetrics {
  readonly apis = new Map<number, ApiStats>();
  readonly topics = new Map<string, TopicStats>();
  connectionsOpen = 0;
  connectionsTotal = 0;
  connectionsRefused = 0;
  /** Connections the broker closed because their client stalled, by reason (a frame begun and then
   * silent, an HTTP body not whole in time): a bounded set of reasons, never from the wire. */
  readonly connectionsTimedOut = new Map<string, number>();
  /** The Kafka door's request memory (--max-request-memory), read when scraped: bytes of requests
   * in flight, the budget, connections waiting for room. Unset in-process. */
  requestMemory?: () => { usedBytes: number; maxBytes: number; waiting: number };
  /** Every fdatasync of a log or index file (the file layer reports them). */
  readonly fsync: LatencyStats = { count: 0, latencyMsTotal: 0, latencyMsMax: 0, latencyBuckets: FSYNC_BUCKETS_MS.map(() => 0) };
  /** When the broker started (ms since the epoch), for uptime. */
  readonly startedAt = Date.now();
  /** Kafka requests the door turned away, by reason and API name (net/kafka/refusals.ts). */
  readonly refusals = new Map<string, { reason: string; api: string; count: number }>();
  /** Cluster mode: ISR changes this broker made as a leader, elections it made as controller. */
  readonly cluster = { isrShrinks: 0, isrExpands: 0, leaderElections: 0 };

  private api(key: number): ApiStats {
    let s = this.apis.get(key);
    if (!s) this.apis.set(key, (s = { count: 0, rejected: 0, latencyMsTotal: 0, latencyMsMax: 0, latencyBuckets: LATENCY_BUCKETS_MS.map(() => 0) }));
    return s;
  }

  topic(name: string): TopicStats {
    let s = this.topics.get(name);
    if (!s) this.topics.set(name, (s = { bytesIn: 0, recordsIn: 0, bytesOut: 0, recordsOut: 0 }));
    return s;
  }

  requestHandled(apiKey: number, latencyMs: number): void {
    observe(this.api(apiKey), LATENCY_BUCKETS_MS, latencyMs);
  }

  fsyncDone(latencyMs: number): void {
    observe(this.fsync, FSYNC_BUCKETS_MS, latencyMs);
  }

  requestRejected(apiKey: number, _version: number): void {
    this.api(apiKey).rejected++;
  }

  connectionTimedOut(reason: "kafka_request_stalled" | "kafka_first_request" | "http_head" | "http_body"): void {
    this.connectionsTimedOut.set(reason, (this.connectionsTimedOut.get(reason) ?? 0) + 1);
  }

  /** `api` is a name or "unknown" (never a number from the wire: the label set stays bounded). */
  requestRefused(reason: string, api: string): void {
    const key = `${reason}\u0000${api}`;
    const s = this.refusals.get(key);
    if (s) s.count++;
    else this.refusals.set(key, { reason, api, count: 1 });
  }
}
