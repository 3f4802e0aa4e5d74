// DescribeGroups (key 15), v0-5. State, protocol and members of each group: with metadata and
// assignments when Stable, without (and no protocol) otherwise, as Kafka's GroupSummary. A group
// that does not exist reads as Dead with no error (Kafka's classic coordinator).
// - v1: throttle_time_ms. v3: authorized_operations (KIP-430): when asked, the core's allowed
//   group operations (of READ, DESCRIBE, DELETE: the principal's own, core/broker/auth.ts), else
//   INT32_MIN as Kafka.
// - v4: group_instance_id per member (KIP-345). v5: flexible (KIP-482).
import {
  DescribeGroups,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  defaultDescribeGroupsResponse,
} from "../../protocol/messages/index.ts";
import { allowedBits, OPERATIONS_NOT_REQUESTED } from "../acl-operations.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const describeGroupsHandler = defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  api: DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const groups = ctx.broker.groups.describeGroups(req.groups).map((g) => ({
      errorCode: groupErrorCode(ctx.broker.groupOwnership(g.groupId) ?? g.error),
      groupId: g.groupId,
      groupState: g.state,
      protocolType: g.protocolType,
      protocolData: g.protocolData,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: v >= 4 ? m.groupInstanceId : null,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: v >= 3 && req.includeAuthorizedOperations ? allowedBits(ctx, { type: "GROUP", name: g.groupId }) : OPERATIONS_NOT_REQUESTED,
    }));
    return { ...defaultDescribeGroupsResponse(), throttleTimeMs: 0, groups };
  },
});
