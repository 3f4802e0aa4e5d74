// WriteTxnMarkers (key 27), v0-1: broker to broker (issue #20 in a cluster). A transaction
// coordinator asks the leader of a partition of an ended transaction to write its commit or
// abort marker (net/cluster/markers.ts sends it). Each partition is answered once its marker is
// on every in-sync replica (acks=all, core/broker/broker.ts appendMarker); a marker for an
// __consumer_offsets partition ends the producer's pending transactional offsets in the groups
// this broker coordinates there (net/cluster/offsets.ts), as Kafka's does. Per partition:
// NOT_LEADER_OR_FOLLOWER (6) when this broker does not lead it (the coordinator retries at the
// new leader), UNKNOWN_TOPIC_OR_PARTITION (3), INVALID_PRODUCER_EPOCH (47) for an epoch older
// than the partition's producer has, TRANSACTION_COORDINATOR_FENCED (52) for a coordinator epoch
// older than the last marker's. With authorization on, CLUSTER_ACTION on the cluster is needed
// (an inter-broker request; net/kafka/acl-rules-admin.ts).
import { CoreError } from "../../../core/errors.ts";
import {
  WriteTxnMarkers,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const writeTxnMarkersHandler = defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
  api: WriteTxnMarkers,
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const markers = await Promise.all(
      req.markers.map(async (m) => {
        const marker = { producerId: Number(m.producerId), producerEpoch: m.producerEpoch, commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch };
        const topics = await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                try {
                  await ctx.broker.writeTxnMarker(t.name, partitionIndex, marker);
                  return { partitionIndex, errorCode: 0 };
                } catch (err) {
                  if (!(err instanceof CoreError)) throw err;
                  ctx.broker.log.debug?.(`WriteTxnMarkers ${t.name}/${partitionIndex} producer ${marker.producerId}: ${errorMessage(err)}`);
                  return { partitionIndex, errorCode: kafkaErrorCode(err) };
                }
              }),
            ),
          })),
        );
        return { producerId: m.producerId, topics };
      }),
    );
    return { markers };
  },
});
