// ConsumerGroupDescribe (key 69), v0: groups of the consumer group protocol (KIP-848) with their
// epochs, assignor and members (subscriptions, current and target assignment). An unknown id, or
// a classic group, is GROUP_ID_NOT_FOUND as Kafka answers; "" is INVALID_GROUP_ID.
// authorized_operations as DescribeGroups (KIP-430): the operations the principal may do on the
// group (every one while authorization is off), INT32_MIN when not asked.
import {
  ConsumerGroupDescribe,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  defaultConsumerGroupDescribeResponse,
  defaultConsumerGroupDescribeResponseDescribedGroup,
} from "../../protocol/messages/index.ts";
import { allowedBits, OPERATIONS_NOT_REQUESTED } from "../acl-operations.ts";
import { groupErrorCode, uuidFromString } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const consumerGroupDescribeHandler = defineHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>({
  api: ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const groups = req.groupIds.map((groupId) => {
      const empty = { ...defaultConsumerGroupDescribeResponseDescribedGroup(), groupId, authorizedOperations: OPERATIONS_NOT_REQUESTED };
      const denied = ctx.broker.groupOwnership(groupId);
      if (denied !== null) return { ...empty, errorCode: groupErrorCode(denied) };
      if (groupId === "") return { ...empty, errorCode: groupErrorCode("INVALID_GROUP_ID") };
      const view = ctx.broker.groups.consumer.describe(groupId);
      if (view === undefined) return { ...empty, errorCode: groupErrorCode("GROUP_ID_NOT_FOUND"), errorMessage: `Group ${groupId} not found.` };
      const assignment = (a: typeof view.members[number]["assignment"]) => ({
        topicPartitions: a.map((t) => ({ topicId: uuidFromString(t.topicId), topicName: t.topic, partitions: t.partitions })),
      });
      return {
        ...empty,
        errorCode: 0,
        groupState: view.state,
        groupEpoch: view.groupEpoch,
        assignmentEpoch: view.assignmentEpoch,
        assignorName: view.assignorName,
        members: view.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: assignment(m.assignment),
          targetAssignment: assignment(m.targetAssignment),
        })),
        authorizedOperations: req.includeAuthorizedOperations ? allowedBits(ctx, { type: "GROUP", name: groupId }) : OPERATIONS_NOT_REQUESTED,
      };
    });
    return { ...defaultConsumerGroupDescribeResponse(), throttleTimeMs: 0, groups };
  },
});
