// Broker counters the control plane reads (`/v1/stats`, `/metrics`): request counts and latency
// per API, bytes and records in/out per topic, connections. Plain numbers, no allocation per
// request beyond the first time a key is seen.

export interface ApiStats {
  count: number;
  rejected: number;
  latencyMsTotal: number;
  latencyMsMax: number;
  /** Requests with latency ≤ LATENCY_BUCKETS_MS[i] (cumulative, as a Prometheus histogram). */
  latencyBuckets: number[];
}

/** Upper bounds of the request-latency histogram, in ms: sub-ms (metadata) to long polls. */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

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
  /** When the broker started (ms since the epoch), for uptime. */
  readonly startedAt = Date.now();

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
    const s = this.api(apiKey);
    s.count++;
    s.latencyMsTotal += latencyMs;
    if (latencyMs > s.latencyMsMax) s.latencyMsMax = latencyMs;
    for (let i = LATENCY_BUCKETS_MS.length - 1; i >= 0 && latencyMs <= LATENCY_BUCKETS_MS[i]!; i--) s.latencyBuckets[i]!++;
  }

  requestRejected(apiKey: number, _version: number): void {
    this.api(apiKey).rejected++;
  }
}
