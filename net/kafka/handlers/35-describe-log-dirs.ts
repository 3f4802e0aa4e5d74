// DescribeLogDirs (key 35), v0-4 (v1 same as v0; v2 flexible; v3 top-level error_code; v4
// total_bytes and usable_bytes). One log dir, the data dir (core/broker/log-dirs.ts), as Kafka's
// ReplicaManager.describeLogDirs answers for it: every topic in the dir, each with the partitions
// asked for (all of them when topics is null), their size on disk, offset_lag 0 (a current
// replica) and is_future_key false (no replica moves between dirs).
import {
  DescribeLogDirs,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
  defaultDescribeLogDirsResponse,
} from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";

export const describeLogDirsHandler = defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  api: DescribeLogDirs,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    let wanted: Map<string, Set<number>> | null = null;
    if (req.topics !== null) {
      wanted = new Map();
      for (const t of req.topics) {
        const set = wanted.get(t.topic) ?? new Set<number>();
        for (const p of t.partitions) set.add(p);
        wanted.set(t.topic, set);
      }
    }
    const results = ctx.broker.describeLogDirs(wanted).map((d) => ({
      errorCode: 0,
      logDir: d.dir,
      topics: d.topics.map((t) => ({
        name: t.topic,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, partitionSize: BigInt(p.sizeBytes), offsetLag: 0n, isFutureKey: false })),
      })),
      totalBytes: BigInt(d.totalBytes),
      usableBytes: BigInt(d.usableBytes),
    }));
    return { ...defaultDescribeLogDirsResponse(), throttleTimeMs: 0, errorCode: 0, results };
  },
});
