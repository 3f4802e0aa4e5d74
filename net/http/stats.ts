// GET /v1/stats: one JSON document with everything `streamctl top` draws.
//
// Counters (bytes and records in/out per topic, requests per API) only ever rise; rates are the
// difference between now and a sample taken STATS_WINDOW_SAMPLES seconds ago, kept by a 1 s timer
// here, so that any client (and `top --once`) gets rates from a single request. Per partition,
// records/s in is the movement of its end offset and bytes/s in the growth of its size.
// Group lag per partition is end − committed; `lagSeconds` estimates how far behind in time a
// group is: the age of the oldest record it has not consumed (the first batch after its
// committed offset); `lagTrend` is records/s of lag change (negative: catching up).
import { formatFsyncPolicy } from "../../core/log/durability.ts";
import { BATCH_HEADER_BYTES, OFF_MAX_TIMESTAMP } from "../../core/batch/header.ts";
import * as be from "../../core/bytes.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { apiByKey } from "../protocol/messages/index.ts";
import { coordinatorOf, groupView, type GroupView } from "./groups.ts";
import { STATS_SAMPLE_MS, STATS_WINDOW_SAMPLES } from "./limits.ts";
import { CLUSTER } from "../../core/broker/auth.ts";
import type { Route } from "./router.ts";
import { partitionViews } from "./topics.ts";

interface TopicSample {
  bytesIn: number;
  recordsIn: number;
  bytesOut: number;
  recordsOut: number;
  ends: number[];
  sizes: number[];
}

interface Sample {
  t: number;
  topics: Map<string, TopicSample>;
  groups: Map<string, { lag: number; committed: number }>;
  apis: Map<number, number>;
}

export interface GroupSummary extends GroupView {
  lagSeconds: number | null;
  lagTrend: number | null;
  commitRate: number | null;
}

export class StatsSampler {
  private readonly samples: Sample[] = [];
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(readonly broker: Broker) {
    this.samples.push(this.take());
    this.timer = setInterval(() => {
      this.samples.push(this.take());
      if (this.samples.length > STATS_WINDOW_SAMPLES + 1) this.samples.shift();
    }, STATS_SAMPLE_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every group described, with lag; [] while the broker has no coordinator. */
  groups(): GroupView[] {
    const s = coordinatorOf(this.broker);
    if (!s) return [];
    return s
      .listGroups()
      .map((g) => s.describeGroup(g.groupId))
      .filter((d) => d !== null)
      .map((d) => groupView(d));
  }

  take(groups: GroupView[] = this.groups()): Sample {
    const topics = new Map<string, TopicSample>();
    for (const t of this.broker.topics()) {
      const m = this.broker.metrics.topic(t.name);
      topics.set(t.name, {
        bytesIn: m.bytesIn,
        recordsIn: m.recordsIn,
        bytesOut: m.bytesOut,
        recordsOut: m.recordsOut,
        ends: t.partitions.map((l) => l.highWatermark),
        sizes: t.partitions.map((l) => l.sizeBytes),
      });
    }
    const groupSamples = new Map<string, { lag: number; committed: number }>();
    for (const g of groups) {
      const committed = g.offsets.reduce((n, t) => n + t.partitions.reduce((m, p) => m + (p.committed ?? 0), 0), 0);
      groupSamples.set(g.group, { lag: g.lag, committed });
    }
    const apis = new Map<number, number>();
    for (const [key, s] of this.broker.metrics.apis) apis.set(key, s.count);
    return { t: performance.now(), topics, groups: groupSamples, apis };
  }

  /** The oldest sample at least half a second old that has `has` (a topic or group created since
   * the broker started is missing from the older ones). */
  private base(now: number, has: (s: Sample) => boolean = () => true): Sample | undefined {
    return this.samples.find((s) => now - s.t >= STATS_SAMPLE_MS / 2 && has(s));
  }

  stats() {
    const groups = this.groups();
    const now = this.take(groups);
    const base = this.base(now.t);
    const rateOver = (from: Sample | undefined) => (a: number, b: number | undefined) => (from && b !== undefined ? Math.max(0, (a - b) / ((now.t - from.t) / 1000)) : null);
    const rate = rateOver(base);
    const topics = this.broker.store
      .topics()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((t) => {
        const cur = now.topics.get(t.name)!;
        const from = this.base(now.t, (s) => s.topics.has(t.name));
        const old = from?.topics.get(t.name);
        const rate = rateOver(from);
        const partitions = partitionViews(t).map((p) => ({
          ...p,
          recordsInPerSec: rate(p.end, old?.ends[p.partition]),
          bytesInPerSec: rate(p.bytes, old?.sizes[p.partition]),
        }));
        return {
          name: t.name,
          partitions,
          end: partitions.reduce((n, p) => n + p.end, 0),
          records: partitions.reduce((n, p) => n + p.end - p.start, 0),
          bytes: partitions.reduce((n, p) => n + p.bytes, 0),
          bytesIn: cur.bytesIn,
          recordsIn: cur.recordsIn,
          bytesOut: cur.bytesOut,
          recordsOut: cur.recordsOut,
          rates: {
            bytesIn: rate(cur.bytesIn, old?.bytesIn),
            recordsIn: rate(cur.recordsIn, old?.recordsIn),
            bytesOut: rate(cur.bytesOut, old?.bytesOut),
            recordsOut: rate(cur.recordsOut, old?.recordsOut),
          },
        };
      });
    const groupSummaries: GroupSummary[] = groups.map((g) => {
      const from = this.base(now.t, (s) => s.groups.has(g.group));
      const old = from?.groups.get(g.group);
      const cur = now.groups.get(g.group)!;
      return {
        ...g,
        lagSeconds: this.lagSeconds(g),
        lagTrend: from && old ? (cur.lag - old.lag) / ((now.t - from.t) / 1000) : null,
        commitRate: rateOver(from)(cur.committed, old?.committed),
      };
    });
    const m = this.broker.metrics;
    const apis = [...m.apis]
      .sort(([a], [b]) => a - b)
      .map(([key, s]) => ({
        api: apiByKey.get(key)?.name ?? `api-${key}`,
        key,
        requests: s.count,
        rejected: s.rejected,
        latencyMsAvg: s.count ? s.latencyMsTotal / s.count : 0,
        latencyMsMax: s.latencyMsMax,
        requestsPerSec: rate(s.count, base?.apis.get(key) ?? (base ? 0 : undefined)),
      }));
    return {
      time: Date.now(),
      uptimeMs: Date.now() - m.startedAt,
      windowMs: base ? Math.round(now.t - base.t) : null,
      fsync: formatFsyncPolicy(this.broker.fsyncPolicy),
      connections: { open: m.connectionsOpen, total: m.connectionsTotal, refused: m.connectionsRefused },
      diskBytes: topics.reduce((n, t) => n + t.bytes, 0),
      topics,
      groups: groupSummaries,
      apis,
    };
  }

  /** Age in seconds of the oldest record the group has not consumed (0 when caught up). */
  private lagSeconds(g: GroupView): number | null {
    let oldest = Number.POSITIVE_INFINITY;
    for (const t of g.offsets) {
      const topic = this.broker.topic(t.topic);
      for (const p of t.partitions) {
        if (p.lag === null || p.lag <= 0 || p.committed === null) continue;
        const ts = firstBatchTimestamp(topic?.partitions[p.partition], p.committed);
        if (ts !== null && ts < oldest) oldest = ts;
      }
    }
    if (oldest === Number.POSITIVE_INFINITY) return g.lag > 0 ? null : 0;
    return Math.max(0, (Date.now() - oldest) / 1000);
  }
}

/** maxTimestamp of the batch holding `offset` (reads one batch header, no decoding). */
function firstBatchTimestamp(log: { read(offset: number, maxBytes: number): { chunks: Uint8Array[] }; startOffset: number } | undefined, offset: number): number | null {
  if (!log) return null;
  try {
    const chunk = log.read(Math.max(offset, log.startOffset), 1).chunks[0];
    if (!chunk || chunk.length < BATCH_HEADER_BYTES) return null;
    return be.int64(chunk, OFF_MAX_TIMESTAMP);
  } catch {
    return null;
  }
}

export function statsRoutes(sampler: StatsSampler): Route[] {
  return [{ method: "GET", path: "/v1/stats", access: () => [["DESCRIBE", CLUSTER]], handle: () => Response.json(sampler.stats()) }];
}
