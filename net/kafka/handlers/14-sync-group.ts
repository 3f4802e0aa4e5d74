// SyncGroup (key 14), v0-5. The leader sends every member's assignment; the others wait (a long
// poll) until it does, then each gets its own. A rebalance starting meanwhile answers the waiters
// with REBALANCE_IN_PROGRESS.
// - v1: throttle_time_ms. v3: group_instance_id (KIP-345). v4: flexible (KIP-482).
// - v5: protocol type and name in request and response (KIP-559); a mismatch with the group's is
//   INCONSISTENT_GROUP_PROTOCOL.
// Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID,
// INCONSISTENT_GROUP_PROTOCOL, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR.
import {
  SyncGroup,
  type SyncGroupRequest,
  type SyncGroupResponse,
  defaultSyncGroupResponse,
} from "../../protocol/messages/index.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const syncGroupHandler = defineHandler<SyncGroupRequest, SyncGroupResponse>({
  api: SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const denied = ctx.broker.groupOwnership(req.groupId);
    if (denied !== null) return { ...defaultSyncGroupResponse(), throttleTimeMs: 0, errorCode: groupErrorCode(denied), protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
    const r = await ctx.broker.groups.sync({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return {
      ...defaultSyncGroupResponse(),
      throttleTimeMs: 0,
      errorCode: groupErrorCode(r.error),
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: r.assignment,
    };
  },
});
