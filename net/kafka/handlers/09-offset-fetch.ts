// OffsetFetch (key 9), v0-9. Committed offsets of a group: -1 (and metadata "") where nothing is
// committed, including for groups that do not exist (as Kafka). Offsets are read as of the last
// durable commit. require_stable (v7, KIP-447): a partition with offsets pending in an open
// transaction (TxnOffsetCommit) answers UNSTABLE_OFFSET_COMMIT (88) and the client asks again.
// - v0-1: the topics and partitions are listed. v2: topics may be null = every committed offset
//   of the group, and a top-level error_code. v3: throttle_time_ms.
// - v5: committed_leader_epoch (KIP-320). v6: flexible (KIP-482). v7: require_stable.
// - v8: several groups in one request (KIP-709), each with its own topics and error.
// - v9: member id and epoch (KIP-848): a consumer-protocol member's epoch must be its current one
//   (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH); epoch -1 (admin tools) and classic groups ignore them.
import {
  OffsetFetch,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  defaultOffsetFetchResponse,
} from "../../protocol/messages/index.ts";
import type { FetchOffsetsResult } from "../../../core/groups/types.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const offsetFetchHandler = defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  api: OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const groups = ctx.broker.groups;
    if (v >= 8) {
      return {
        ...defaultOffsetFetchResponse(),
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          const denied = ctx.broker.groupOwnership(g.groupId);
          if (denied !== null) return { groupId: g.groupId, errorCode: groupErrorCode(denied), topics: [] };
          const member = v >= 9 && g.memberId !== null ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : undefined;
          const r = groups.fetchOffsets(g.groupId, g.topics === null ? null : g.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })), member, req.requireStable);
          return { groupId: g.groupId, errorCode: groupErrorCode(r.error), topics: partitionsOf(r, v) };
        }),
      };
    }
    const topics = v >= 2 && req.topics === null ? null : (req.topics ?? []).map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));
    const denied = ctx.broker.groupOwnership(req.groupId);
    const r = denied !== null ? { error: denied, topics: [] } : groups.fetchOffsets(req.groupId, topics, undefined, v >= 7 && req.requireStable);
    const out = partitionsOf(r, v);
    // v0-1 have no top-level error: it goes on every partition.
    if (v < 2 && r.error !== null) for (const t of out) for (const p of t.partitions) p.errorCode = groupErrorCode(r.error);
    return { ...defaultOffsetFetchResponse(), throttleTimeMs: 0, errorCode: groupErrorCode(r.error), topics: out };
  },
});

function partitionsOf(r: FetchOffsetsResult, v: number) {
  return r.topics.map((t) => ({
    name: t.topic,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partition,
      committedOffset: BigInt(p.offset),
      committedLeaderEpoch: v >= 5 ? p.leaderEpoch : -1,
      metadata: p.metadata,
      errorCode: groupErrorCode(p.error),
    })),
  }));
}
