// Where in a partition to start (or stop) reading, in the consumer's terms, and how each becomes an
// offset: a start or stop is resolved per partition when the partition is assigned, through
// ListOffsets, so it means what Kafka means by it (the log start, the end offset at the time of
// asking, the broker's time index over record timestamps).
//
//   earliest              the log start offset
//   latest                the end offset (the next offset to be written)
//   offset                that offset, as it is (past either end, the fetch's OFFSET_OUT_OF_RANGE
//                         moves it: fetcher.ts)
//   timestamp             the first offset whose record timestamp is at or after `ms`; the end
//                         offset when there is none (nothing to read yet)
//   last                  the last `count` records: max(earliest, latest - count)
//   exact                 an offset per topic and partition (another consumer's positions());
//                         partitions it does not name resolve as `otherwise` (default earliest)
import { EARLIEST, LATEST, type KafkaClient } from "./client.ts";

export type OffsetSpec =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: number }
  | { kind: "timestamp"; ms: number }
  | { kind: "last"; count: number }
  | { kind: "exact"; offsets: ReadonlyMap<string, ReadonlyMap<number, number>>; otherwise?: OffsetSpec };

/** topic → partition → offset: what positions() and commit() speak. */
export type TopicOffsets = Map<string, Map<number, number>>;

export const EARLIEST_OFFSET: OffsetSpec = { kind: "earliest" };
export const LATEST_OFFSET: OffsetSpec = { kind: "latest" };

/** partition → offset for `spec` in each of `partitions` of `topic`; the end is the last stable
 * offset under isolation level 1 (read_committed, the default), the high watermark under 0. */
export async function resolveOffsets(client: KafkaClient, topic: string, partitions: readonly number[], spec: OffsetSpec, isolationLevel = 1): Promise<Map<number, number>> {
  if (partitions.length === 0) return new Map();
  const at = (ts: number) => client.listOffsets(topic, new Map(partitions.map((p) => [p, ts])), isolationLevel);
  switch (spec.kind) {
    case "offset":
      return new Map(partitions.map((p) => [p, spec.offset]));
    case "earliest":
      return at(EARLIEST);
    case "latest":
      return at(LATEST);
    case "last": {
      const [earliest, latest] = await Promise.all([at(EARLIEST), at(LATEST)]);
      return new Map(partitions.map((p) => [p, Math.max(earliest.get(p)!, latest.get(p)! - spec.count)]));
    }
    case "timestamp": {
      const found = await at(spec.ms);
      // No record at or after the time: the end (nothing to read yet).
      const missing = partitions.filter((p) => (found.get(p) ?? -1) < 0);
      if (missing.length > 0) {
        const ends = await resolveOffsets(client, topic, missing, LATEST_OFFSET, isolationLevel);
        for (const p of missing) found.set(p, ends.get(p)!);
      }
      return found;
    }
    case "exact": {
      const named = spec.offsets.get(topic);
      const out = new Map<number, number>();
      const missing: number[] = [];
      for (const p of partitions) {
        const o = named?.get(p);
        if (o === undefined) missing.push(p);
        else out.set(p, o);
      }
      if (missing.length > 0) for (const [p, o] of await resolveOffsets(client, topic, missing, spec.otherwise ?? EARLIEST_OFFSET)) out.set(p, o);
      return out;
    }
  }
}
