// ConsumerGroupHeartbeat (key 68), v0: the consumer group protocol (KIP-848), as Kafka 4.x clients
// use it with group.protocol=consumer, beside the classic JoinGroup/SyncGroup groups. One request
// joins (member_epoch 0), heartbeats, reports owned partitions and leaves (-1; -2 for a static
// member that will be back); the answer carries the member's epoch and, when it changed (or the
// member joined or reported what it owns), its assignment by topic id. The coordinator computes
// assignments itself with the server-side assignors `uniform` (default) and `range`
// (core/groups/consumer-group.ts, core/groups/assignors.ts). Kafka 3.8's schema has v0 only: the
// member id is made here when the client sends none, and kept when it sends one (Kafka 4's v1
// semantics, KIP-1082); regex subscriptions (v1) are not on the wire at v0.
// Errors: INVALID_REQUEST (Kafka's messages), UNSUPPORTED_ASSIGNOR, UNKNOWN_MEMBER_ID,
// FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED,
// GROUP_ID_NOT_FOUND (a classic group with members under that id), NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS (cluster mode).
import {
  ConsumerGroupHeartbeat,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  defaultConsumerGroupHeartbeatResponse,
} from "../../protocol/messages/index.ts";
import { clientHost, groupErrorCode, uuidFromString, uuidToString } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const consumerGroupHeartbeatHandler = defineHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>({
  api: ConsumerGroupHeartbeat,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const denied = ctx.broker.groupOwnership(req.groupId);
    if (denied !== null) return { ...defaultConsumerGroupHeartbeatResponse(), errorCode: groupErrorCode(denied), memberEpoch: -1 };
    const r = ctx.broker.groups.consumer.heartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: null,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions?.map((t) => ({ topicId: uuidToString(t.topicId), partitions: t.partitions })) ?? null,
      clientId: ctx.clientId ?? "",
      clientHost: clientHost(ctx),
    });
    return {
      ...defaultConsumerGroupHeartbeatResponse(),
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.error),
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment.map((t) => ({ topicId: uuidFromString(t.topicId), partitions: t.partitions })) },
    };
  },
});
