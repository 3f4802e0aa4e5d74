// DescribeProducers (key 61), v0 (KIP-664). The idempotent and transactional producers with state
// on each partition asked for (core/log/producer-state.ts, through the core): producer id, epoch,
// the last sequence and timestamp of its last batch kept, the coordinator epoch of its last marker
// and the first offset of its open transaction (-1: none). The state is rebuilt from the log after
// a restart, and built on followers from the replicated log. Unknown partitions →
// UNKNOWN_TOPIC_OR_PARTITION (3); in a cluster a partition this broker does not lead →
// NOT_LEADER_OR_FOLLOWER (6), as Kafka answers (the admin client asks each partition's leader).
import { CoreError } from "../../../core/errors.ts";
import {
  DescribeProducers,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
  type DescribeProducersResponsePartitionResponse,
  defaultDescribeProducersResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const describeProducersHandler = defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  api: DescribeProducers,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex): DescribeProducersResponsePartitionResponse => {
        try {
          const producers = ctx.broker.producers(t.name, partitionIndex);
          ctx.broker.checkLeader(t.name, partitionIndex);
          const activeProducers = producers.map((p) => ({
            producerId: BigInt(p.producerId),
            producerEpoch: p.epoch,
            lastSequence: p.lastSequence,
            lastTimestamp: BigInt(p.lastTimestamp),
            coordinatorEpoch: p.coordinatorEpoch,
            currentTxnStartOffset: BigInt(p.currentTxnStartOffset),
          }));
          return { partitionIndex, errorCode: 0, errorMessage: null, activeProducers };
        } catch (err) {
          if (!(err instanceof CoreError)) throw err;
          return { partitionIndex, errorCode: kafkaErrorCode(err), errorMessage: errorMessage(err), activeProducers: [] };
        }
      }),
    }));
    return { ...defaultDescribeProducersResponse(), throttleTimeMs: 0, topics };
  },
});
