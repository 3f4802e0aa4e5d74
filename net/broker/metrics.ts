// Broker counters the control plane reads (`/v1/stats`, `/metrics`): request counts and latency
// per API, bytes and records in/out per topic, connections. Plain numbers, no allocation per
// request beyond the first time a key is seen.

export interface ApiStats {
  count: number;
  rejected: number;
  latencyMsTotal: number;
  latencyMsMax: number;
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

  private api(key: number): ApiStats {
    let s = this.apis.get(key);
    if (!s) this.apis.set(key, (s = { count: 0, rejected: 0, latencyMsTotal: 0, latencyMsMax: 0 }));
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
  }

  requestRejected(apiKey: number, _version: number): void {
    this.api(apiKey).rejected++;
  }
}
