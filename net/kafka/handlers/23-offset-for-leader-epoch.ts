// OffsetForLeaderEpoch (key 23), v0-4 (KIP-101, KIP-279): for each partition, the largest leader
// epoch ≤ the requested one that this leader's log knows, and the offset where it ends (the start
// of the next epoch, or the log end for the latest). A follower truncates its log to it after an
// election; a consumer checks that its position did not diverge (KIP-320).
// - Only the leader answers (NOT_LEADER_OR_FOLLOWER); current_leader_epoch (v2+) fences a stale
//   asker: older → FENCED_LEADER_EPOCH, newer → UNKNOWN_LEADER_EPOCH, -1 → not checked.
// - An epoch below every epoch the log knows: UNDEFINED (-1, -1), and the follower falls back to
//   its high watermark. A single node's log is epoch 0 from its start.
// - Unknown topic or partition → UNKNOWN_TOPIC_OR_PARTITION.
import { ErrorCode } from "../../protocol/errors.ts";
import {
  OffsetForLeaderEpoch,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  defaultOffsetForLeaderEpochResponse,
} from "../../protocol/messages/index.ts";
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const offsetForLeaderEpochHandler = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  api: OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const topics = req.topics.map((t) => {
      const topic = ctx.broker.topic(t.topic);
      const partitions = t.partitions.map((p) => {
        const base = { errorCode: 0, partition: p.partition, leaderEpoch: -1, endOffset: -1n };
        const log = topic?.partitions[p.partition];
        if (!topic || !log) return { ...base, errorCode: topic ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : kafkaErrorCode(ctx.broker.missingTopic(t.topic)) };
        try {
          ctx.broker.checkLeader(t.topic, p.partition, ctx.apiVersion >= 2 ? p.currentLeaderEpoch : -1);
        } catch (err) {
          return { ...base, errorCode: kafkaErrorCode(err) };
        }
        const found = log.endOffsetForEpoch(p.leaderEpoch);
        return { ...base, leaderEpoch: found.epoch, endOffset: BigInt(found.endOffset) };
      });
      return { topic: t.topic, partitions };
    });
    return { ...defaultOffsetForLeaderEpochResponse(), throttleTimeMs: 0, topics };
  },
});
