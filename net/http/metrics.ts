// GET /metrics: Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Counters end in _total and only
// rise; Prometheus computes rates. Families:
//
//   streamctl_uptime_seconds                                  gauge
//   streamctl_topic_{bytes,records}_{in,out}_total{topic}      counter
//   streamctl_partition_{start,end}_offset{topic,partition}    gauge   (end = high watermark)
//   streamctl_partition_size_bytes{topic,partition}           gauge
//   streamctl_disk_bytes                                      gauge   (sum of segment files)
//   streamctl_tail_cache_bytes                                gauge   (core/log/tail-cache.ts)
//   streamctl_kafka_requests_total{api}                       counter
//   streamctl_kafka_requests_rejected_total{api}              counter (unknown version, undecodable)
//   streamctl_kafka_refusals_total{reason,api}                counter (every refusal, net/kafka/refusals.ts)
//   streamctl_kafka_request_duration_seconds{api}             histogram
//   streamctl_connections_open / _total / _refused_total      gauge / counter / counter
//   streamctl_connections_timed_out_total{reason}             counter (closed: the client stalled)
//   streamctl_group_lag{group,topic,partition}                gauge
//   streamctl_group_members{group}                            gauge
//
//   streamctl_fsync_duration_seconds                          histogram
import { FSYNC_BUCKETS_MS, LATENCY_BUCKETS_MS } from "../../core/broker/metrics.ts";
import { apiByKey } from "../protocol/messages/index.ts";
import { CLUSTER } from "../../core/broker/auth.ts";
import type { Route } from "./router.ts";
import type { StatsSampler } from "./stats.ts";

type Labels = Record<string, string | number>;

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

class Exposition {
  private out: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: Array<[Labels, number]>): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.out.push(`${name}${labelText(labels)} ${num(value)}`);
  }

  histogram(name: string, help: string, series: Array<{ labels: Labels; buckets: number[]; bounds: number[]; sum: number; count: number }>): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const s of series) {
      s.bounds.forEach((le, i) => this.out.push(`${name}_bucket${labelText({ ...s.labels, le: num(le) })} ${s.buckets[i]}`));
      this.out.push(`${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      this.out.push(`${name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      this.out.push(`${name}_count${labelText(s.labels)} ${s.count}`);
    }
  }

  text(): string {
    return `${this.out.join("\n")}\n`;
  }
}

export function renderMetrics(sampler: StatsSampler): string {
  const { broker } = sampler;
  const m = broker.metrics;
  const e = new Exposition();
  const topics = broker.topics().sort((a, b) => a.name.localeCompare(b.name));
  e.family("streamctl_uptime_seconds", "gauge", "Seconds since the broker started.", [[{}, (Date.now() - m.startedAt) / 1000]]);
  const perTopic = (pick: (s: ReturnType<typeof m.topic>) => number): Array<[Labels, number]> => topics.map((t) => [{ topic: t.name }, pick(m.topic(t.name))]);
  e.family("streamctl_topic_bytes_in_total", "counter", "Record batch bytes appended to the topic.", perTopic((s) => s.bytesIn));
  e.family("streamctl_topic_records_in_total", "counter", "Records appended to the topic.", perTopic((s) => s.recordsIn));
  e.family("streamctl_topic_bytes_out_total", "counter", "Record batch bytes served from the topic (Fetch, HTTP).", perTopic((s) => s.bytesOut));
  e.family("streamctl_topic_records_out_total", "counter", "Records served from the topic over HTTP (Fetch hands out batches undecoded).", perTopic((s) => s.recordsOut));
  const perPartition = (pick: (l: (typeof topics)[number]["partitions"][number]) => number): Array<[Labels, number]> =>
    topics.flatMap((t) => t.partitions.map((l, p): [Labels, number] => [{ topic: t.name, partition: p }, pick(l)]));
  e.family("streamctl_partition_start_offset", "gauge", "First offset still in the partition's log.", perPartition((l) => l.startOffset));
  e.family("streamctl_partition_end_offset", "gauge", "High watermark: one past the last offset consumers can read.", perPartition((l) => l.highWatermark));
  e.family("streamctl_partition_size_bytes", "gauge", "Bytes of the partition's segment files.", perPartition((l) => l.sizeBytes));
  e.family("streamctl_disk_bytes", "gauge", "Bytes of every segment file of every topic.", [[{}, topics.reduce((n, t) => n + t.partitions.reduce((k, l) => k + l.sizeBytes, 0), 0)]]);
  e.family("streamctl_tail_cache_bytes", "gauge", "Memory held by the partitions' caches of their latest batches (bounded by TAIL_CACHE_BYTES_MAX).", [[{}, broker.tailCacheBytes]]);
  const apis = [...m.apis].sort(([a], [b]) => a - b);
  const apiName = (key: number) => apiByKey.get(key)?.name ?? `api-${key}`;
  e.family("streamctl_kafka_requests_total", "counter", "Kafka requests handled, by API.", apis.map(([k, s]) => [{ api: apiName(k) }, s.count]));
  e.family("streamctl_kafka_requests_rejected_total", "counter", "Kafka requests refused before handling (unknown version, undecodable body), by API.", apis.map(([k, s]) => [{ api: apiName(k) }, s.rejected]));
  const refusals = [...m.refusals.values()].sort((a, b) => a.reason.localeCompare(b.reason) || a.api.localeCompare(b.api));
  e.family(
    "streamctl_kafka_refusals_total",
    "counter",
    "Kafka requests refused before a handler saw them (unsupported API or version, undecodable header or body, malformed frame, not allowed before SASL login), by reason and API; each also logged on stderr, rate-limited per client.",
    refusals.map((r) => [{ reason: r.reason, api: r.api }, r.count]),
  );
  e.histogram(
    "streamctl_kafka_request_duration_seconds",
    "Time from decoded request to encoded response, by API (a Fetch long poll counts its wait).",
    apis.map(([k, s]) => ({ labels: { api: apiName(k) }, bounds: LATENCY_BUCKETS_MS.map((b) => b / 1000), buckets: s.latencyBuckets, sum: s.latencyMsTotal / 1000, count: s.count })),
  );
  e.histogram("streamctl_fsync_duration_seconds", "fdatasync of log, index and offset files: what an fsync=always acknowledgement waits for.", [
    { labels: {}, bounds: FSYNC_BUCKETS_MS.map((b) => b / 1000), buckets: m.fsync.latencyBuckets, sum: m.fsync.latencyMsTotal / 1000, count: m.fsync.count },
  ]);
  if (broker.cluster !== null) {
    const live = new Set(broker.cluster.brokers().map((b) => b.id));
    const led = broker.topicAssignments().flatMap((t) => t.partitions.filter((p) => p.leader === broker.nodeId));
    e.family("streamctl_cluster_under_replicated_partitions", "gauge", "Partitions this broker leads whose ISR is smaller than their replicas.", [[{}, led.filter((p) => p.isr.length < p.replicas.length).length]]);
    e.family("streamctl_cluster_offline_partitions", "gauge", "Partitions of the cluster without a live leader (every broker reports the same).", [
      [{}, broker.topicAssignments().flatMap((t) => t.partitions).filter((p) => p.leader < 0 || !live.has(p.leader)).length],
    ]);
    e.family("streamctl_cluster_isr_shrinks_total", "counter", "ISR shrinks this broker made as a leader (a follower fell behind).", [[{}, m.cluster.isrShrinks]]);
    e.family("streamctl_cluster_isr_expands_total", "counter", "ISR expansions this broker made as a leader (a follower caught up).", [[{}, m.cluster.isrExpands]]);
    e.family("streamctl_cluster_leader_elections_total", "counter", "Leader elections this broker made as the controller.", [[{}, m.cluster.leaderElections]]);
  }
  e.family("streamctl_connections_open", "gauge", "Kafka connections open now.", [[{}, m.connectionsOpen]]);
  e.family("streamctl_connections_total", "counter", "Kafka connections accepted.", [[{}, m.connectionsTotal]]);
  e.family("streamctl_connections_refused_total", "counter", "Connections refused, Kafka and HTTP (over --max-connections or --max-connections-per-ip).", [[{}, m.connectionsRefused]]);
  e.family(
    "streamctl_connections_timed_out_total",
    "counter",
    "Connections closed because the client stalled, Kafka and HTTP: kafka_request_stalled (a frame begun, then no byte of it for --request-body-timeout-ms; its request memory given back), kafka_first_request (no whole request within --first-request-timeout-ms), http_head, http_body (answered 408).",
    [...m.connectionsTimedOut].sort(([a], [b]) => a.localeCompare(b)).map(([reason, n]) => [{ reason }, n]),
  );
  const memory = m.requestMemory?.();
  if (memory) {
    e.family("streamctl_request_memory_bytes", "gauge", "Bytes of Kafka requests in flight, counted against --max-request-memory.", [[{}, memory.usedBytes]]);
    e.family("streamctl_request_memory_max_bytes", "gauge", "The request memory budget (--max-request-memory).", [[{}, memory.maxBytes]]);
    e.family("streamctl_request_memory_waiting_connections", "gauge", "Kafka connections waiting, unread, for request memory.", [[{}, memory.waiting]]);
  }
  const groups = sampler.groups();
  e.family(
    "streamctl_group_lag",
    "gauge",
    "Records between a group's committed offset and the partition's end.",
    groups.flatMap((g) => g.offsets.flatMap((t) => t.partitions.filter((p) => p.lag !== null).map((p): [Labels, number] => [{ group: g.group, topic: t.topic, partition: p.partition }, p.lag!]))),
  );
  e.family("streamctl_group_members", "gauge", "Members of the consumer group.", groups.map((g) => [{ group: g.group }, g.members.length]));
  return e.text();
}

export function metricsRoutes(sampler: StatsSampler): Route[] {
  return [
    {
      method: "GET",
      path: "/metrics",
      access: () => [["DESCRIBE", CLUSTER]],
      handle: () => new Response(renderMetrics(sampler), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
    },
  ];
}
