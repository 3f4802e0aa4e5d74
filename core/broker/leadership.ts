// Leadership of a single broker: it leads every partition, in leader epoch 0, from the first
// offset of each log, and it is every partition's preferred (first) replica. The answers Kafka's
// leader-epoch cache and controller give in that situation; the cluster issue replaces them with
// real epochs and elections.
//
// End offset for an epoch (OffsetForLeaderEpoch; Kafka's LeaderEpochFileCache.endOffsetFor with
// one entry, epoch 0 starting at the log start):
//
// | requested epoch | answer (epoch, end offset)                                   |
// |-----------------|--------------------------------------------------------------|
// | -1 (undefined)  | -1, -1                                                       |
// | 0 (the current) | 0, the log end offset                                        |
// | > 0             | -1, -1 (larger than any epoch known)                         |
// | < -1            | the requested epoch, the log start (older than any known)    |
//
// A current leader epoch in the request other than -1 (no check) is fenced: below 0 →
// FENCED_LEADER_EPOCH, above 0 → UNKNOWN_LEADER_EPOCH (Kafka's Partition.checkCurrentLeaderEpoch).
//
// Elections (ElectLeaders): the preferred replica already leads every partition, so a preferred
// election is never needed; nor is an unclean one, since every partition has its leader.
import { CoreError } from "../errors.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { TopicStore } from "../topics/topic-store.ts";
import { partitionOf } from "./topic-lookup.ts";

export const LEADER_EPOCH = 0;
const UNDEFINED_EPOCH = -1;
const NO_CHECK = -1;

export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export function checkLeaderEpoch(currentLeaderEpoch: number, context: { topic: string; partition: number }): void {
  if (currentLeaderEpoch === NO_CHECK || currentLeaderEpoch === LEADER_EPOCH) return;
  if (currentLeaderEpoch < LEADER_EPOCH) throw new CoreError("FENCED_LEADER_EPOCH", `leader epoch ${currentLeaderEpoch} is older than ${LEADER_EPOCH}`, context);
  throw new CoreError("UNKNOWN_LEADER_EPOCH", `leader epoch ${currentLeaderEpoch} is newer than ${LEADER_EPOCH}`, context);
}

export function endOffsetForEpoch(log: PartitionLog, requestedEpoch: number): EpochEndOffset {
  if (requestedEpoch === UNDEFINED_EPOCH || requestedEpoch > LEADER_EPOCH) return { leaderEpoch: UNDEFINED_EPOCH, endOffset: -1 };
  if (requestedEpoch === LEADER_EPOCH) return { leaderEpoch: LEADER_EPOCH, endOffset: log.endOffset };
  return { leaderEpoch: requestedEpoch, endOffset: log.startOffset };
}

export type ElectionType = "preferred" | "unclean";

/** The outcome of an election per partition: not needed, or why the partition cannot be found. */
export interface ElectionOutcome {
  topic: string;
  partition: number;
  outcome: "not-needed" | CoreError;
}

/**
 * Elections for the partitions named, or for every partition when `partitions` is null (then, as
 * Kafka's controller, only partitions whose election did something are reported: none here).
 */
export function electLeaders(store: TopicStore, partitions: Array<{ topic: string; partitions: number[] }> | null, _type: ElectionType): ElectionOutcome[] {
  if (partitions === null) return [];
  const out: ElectionOutcome[] = [];
  for (const t of partitions) {
    for (const p of t.partitions) {
      try {
        partitionOf(store.requireTopic(t.topic), p);
        out.push({ topic: t.topic, partition: p, outcome: "not-needed" });
      } catch (err) {
        if (!(err instanceof CoreError)) throw err;
        out.push({ topic: t.topic, partition: p, outcome: err });
      }
    }
  }
  return out;
}
