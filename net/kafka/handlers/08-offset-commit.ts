// OffsetCommit (key 8), v0-9. Stores a group's consumed positions durably: the answer is sent
// only after the batch holding them is on disk under the broker's fsync policy (core/groups/
// offset-store.ts). Validation follows Kafka's validateOffsetCommit:
// - generation -1 from outside group management (admin tools, kcat without -G): accepted while
//   the group is Empty (a group that does not exist is created); else UNKNOWN_MEMBER_ID.
// - from a member: UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID / ILLEGAL_GENERATION when it is not a
//   current member of the current generation; accepted while Stable or PreparingRebalance (the
//   heartbeat tells it to rejoin); REBALANCE_IN_PROGRESS while CompletingRebalance.
// - per partition: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
//   OFFSET_METADATA_TOO_LARGE above offset.metadata.max.bytes (4096).
// Versions: v0 has no generation or member (a simple commit); v1 adds them and a per-partition
// commit timestamp (ignored: offsets do not expire here); v2-4 a retention time (ignored);
// v3 throttle_time_ms; v6 committed_leader_epoch (KIP-320), stored and returned by OffsetFetch;
// v7 group_instance_id (KIP-345); v8 flexible (KIP-482); v9 names the generation field
// generation_id_or_member_epoch (KIP-848): a classic group's generation, or a consumer-protocol
// member's epoch, which must be current (STALE_MEMBER_EPOCH), from v9 only (UNSUPPORTED_VERSION).
import {
  OffsetCommit,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  defaultOffsetCommitResponse,
} from "../../protocol/messages/index.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const offsetCommitHandler = defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  api: OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const denied = ctx.broker.groupOwnership(req.groupId);
    const results = denied !== null ? req.topics.flatMap((t) => t.partitions.map(() => ({ error: denied }))) : await ctx.broker.groups.commitOffsets({
      groupId: req.groupId,
      apiVersion: v,
      generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
      memberId: v >= 1 ? req.memberId : "",
      groupInstanceId: v >= 7 ? req.groupInstanceId : null,
      offsets: req.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          offset: Number(p.committedOffset),
          leaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata,
        })),
      ),
    });
    // Answer in the request's shape: one entry per topic as asked, partitions in order.
    let i = 0;
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: groupErrorCode(results[i++]!.error) })),
    }));
    return { ...defaultOffsetCommitResponse(), throttleTimeMs: 0, topics };
  },
});
