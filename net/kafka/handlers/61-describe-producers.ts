// DescribeProducers (key 61), v0 (KIP-664). The idempotent producers with state on each partition
// asked for (core/log/producer-state.ts, through the core): producer id, epoch, the last sequence
// and timestamp of its last batch kept. There are no transactions, so coordinator_epoch and
// current_txn_start_offset are -1. The state is in memory: after a restart a partition lists
// only producers that wrote since. Unknown partitions → UNKNOWN_TOPIC_OR_PARTITION (3).
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
          const activeProducers = ctx.broker.producers(t.name, partitionIndex).map((p) => ({
            producerId: BigInt(p.producerId),
            producerEpoch: p.epoch,
            lastSequence: p.lastSequence,
            lastTimestamp: BigInt(p.lastTimestamp),
            coordinatorEpoch: -1,
            currentTxnStartOffset: -1n,
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
