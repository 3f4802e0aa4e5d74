// OffsetForLeaderEpoch (key 23), v0-4 (v1: leader_epoch in the answer; v2: current_leader_epoch and
// throttle_time_ms; v3: replica_id; v4 flexible). Consumers send it to check for log truncation
// after a leader change (KIP-320); followers to truncate (KIP-101, the cluster issue). One broker,
// one epoch (core/broker/leadership.ts): epoch 0 ends at the log end offset, an undefined (-1) or
// larger epoch has no end (-1, -1), an older one ends at the log start. A current_leader_epoch
// other than -1 and 0 is FENCED_LEADER_EPOCH (74, older) or UNKNOWN_LEADER_EPOCH (75, newer);
// unknown partitions are UNKNOWN_TOPIC_OR_PARTITION (3).
import { CoreError } from "../../../core/errors.ts";
import {
  OffsetForLeaderEpoch,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochResponseEpochEndOffset,
  defaultOffsetForLeaderEpochResponse,
} from "../../protocol/messages/index.ts";
import { kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const offsetForLeaderEpochHandler = defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  api: OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const topics = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p): OffsetForLeaderEpochResponseEpochEndOffset => {
        try {
          const found = ctx.broker.endOffsetForEpoch(t.topic, p.partition, p.leaderEpoch, v >= 2 ? p.currentLeaderEpoch : -1);
          return { errorCode: 0, partition: p.partition, leaderEpoch: found.leaderEpoch, endOffset: BigInt(found.endOffset) };
        } catch (err) {
          if (!(err instanceof CoreError)) throw err;
          return { errorCode: kafkaErrorCode(err), partition: p.partition, leaderEpoch: -1, endOffset: -1n };
        }
      }),
    }));
    return { ...defaultOffsetForLeaderEpochResponse(), throttleTimeMs: 0, topics };
  },
});
