// The broker's log directories, as Kafka's DescribeLogDirs reports them (ReplicaManager.
// describeLogDirs): there is one, the data dir, holding every partition. Per partition its size
// on disk (the bytes of its segments, as Kafka's log.size); the file system's total and usable
// bytes (statfs; -1 when it cannot be asked, as Kafka's defaults).
import { statfsSync } from "node:fs";
import { resolve } from "node:path";
import type { TopicStore } from "../topics/topic-store.ts";

export interface LogDirDescription {
  /** Absolute path. */
  dir: string;
  totalBytes: number;
  usableBytes: number;
  /** Every topic in the dir, each with its partitions that were asked for (all when not asked). */
  topics: Array<{ topic: string; partitions: Array<{ partition: number; sizeBytes: number }> }>;
}

/** `wanted`: topic → partitions to report, or null for all of them. */
export function describeLogDirs(store: TopicStore, dataDir: string, wanted: Map<string, Set<number>> | null): LogDirDescription[] {
  const dir = resolve(dataDir);
  let totalBytes = -1;
  let usableBytes = -1;
  try {
    const s = statfsSync(dir);
    totalBytes = s.blocks * s.bsize;
    usableBytes = s.bavail * s.bsize;
  } catch {
    // a memory file layer in tests, or a file system that will not say
  }
  const topics = store.topics().map((t) => ({
    topic: t.name,
    partitions: t.partitions
      .map((log, partition) => ({ partition, sizeBytes: log.sizeBytes }))
      .filter((p) => wanted === null || (wanted.get(t.name)?.has(p.partition) ?? false)),
  }));
  return [{ dir, totalBytes, usableBytes, topics }];
}
