// Where `streamctl top` gets its numbers, one document per refresh (top-frame.ts's StatsDoc):
//
// - KafkaStats, any Kafka-protocol cluster: Metadata, ListOffsets (log start and end of every
//   partition) and the group APIs. Records/s in per partition is the movement of its end offset
//   between two refreshes, lag trend and commits/s likewise, so the first frame (and `--once`) has
//   none yet ("-"). Sizes, rates out, uptime, fsync and connections are not in the Kafka protocol:
//   null.
// - streamctl's /v1/stats, when the broker is a streamctl whose control plane matches it
//   (admin-common.ts): everything, with rates over the broker's own window.
import type { GroupAdmin } from "../net/client/admin-groups.ts";
import type { AdminClient } from "../net/client/admin.ts";
import type { ControlPlaneClient } from "../net/http/client.ts";
import type { StatsDoc } from "./top-frame.ts";

export interface StatsSource {
  /** Shown in the summary line: the control plane's URL or the Kafka broker's address. */
  readonly label: string;
  poll(): Promise<StatsDoc>;
}

export function httpStats(cp: ControlPlaneClient): StatsSource {
  return { label: cp.base.origin, poll: () => cp.get<StatsDoc>("/v1/stats") };
}

interface Sample {
  t: number;
  ends: Map<string, Map<number, number>>;
  groups: Map<string, { lag: number; committed: number }>;
}

export class KafkaStats implements StatsSource {
  private last: Sample | null = null;

  constructor(
    readonly label: string,
    private readonly admin: Pick<AdminClient, "metadata" | "offsetRanges">,
    private readonly groupAdmin: Pick<GroupAdmin, "list" | "describe">,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async poll(): Promise<StatsDoc> {
    const t = this.now();
    const md = await this.admin.metadata(null);
    const topics = md.topics.filter((x) => x.errorCode === 0 && !x.internal);
    const [ranges, groups] = await Promise.all([this.admin.offsetRanges(topics), this.groupViews()]);
    const last = this.last;
    const secs = last ? (t - last.t) / 1000 : 0;
    const rate = (now: number, before: number | undefined) => (last && before !== undefined && secs > 0 ? Math.max(0, (now - before) / secs) : null);
    const sample: Sample = { t, ends: new Map(), groups: new Map() };
    const topicRows = topics.map((tm) => {
      const r = ranges.get(tm.name) ?? new Map<number, { start: number; end: number }>();
      sample.ends.set(tm.name, new Map([...r].map(([p, x]) => [p, x.end])));
      const before = last?.ends.get(tm.name);
      const partitions = tm.partitions.map((p) => {
        const x = r.get(p.partition) ?? { start: 0, end: 0 };
        return { partition: p.partition, start: x.start, end: x.end, bytes: null, segments: null, recordsInPerSec: rate(x.end, before?.get(p.partition)), bytesInPerSec: null };
      });
      const known = before !== undefined && partitions.every((p) => p.recordsInPerSec !== null);
      return {
        name: tm.name,
        partitions,
        end: partitions.reduce((n, p) => n + p.end, 0),
        records: partitions.reduce((n, p) => n + p.end - p.start, 0),
        bytes: null,
        rates: { bytesIn: null, recordsIn: known ? partitions.reduce((n, p) => n + p.recordsInPerSec!, 0) : null, bytesOut: null, recordsOut: null },
      };
    });
    const groupRows = groups.map((g) => {
      const committed = g.offsets.reduce((n, x) => n + x.partitions.reduce((m, p) => m + (p.committed ?? 0), 0), 0);
      sample.groups.set(g.group, { lag: g.lag, committed });
      const before = last?.groups.get(g.group);
      return {
        group: g.group,
        state: g.state,
        members: g.members,
        lag: g.lag,
        lagSeconds: null,
        lagTrend: before && secs > 0 ? (g.lag - before.lag) / secs : null,
        commitRate: rate(committed, before?.committed),
      };
    });
    this.last = sample;
    return { time: Date.now(), uptimeMs: null, windowMs: last ? Math.round(t - last.t) : null, fsync: null, connections: null, diskBytes: null, topics: topicRows, groups: groupRows };
  }

  private async groupViews() {
    const listed = await this.groupAdmin.list();
    const views = await Promise.all(listed.map((g) => this.groupAdmin.describe(g.group).catch(() => null)));
    return views.filter((v) => v !== null);
  }
}
