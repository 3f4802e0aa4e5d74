// JoinGroup (key 11), v0-9. A long poll: the answer comes when the group's rebalance completes
// (every known member rejoined, or the rebalance timeout), so it may stay pending for up to the
// longest member's rebalance timeout; the connection answers in order and keeps reading.
// - v0: no rebalance timeout field; the session timeout serves as both (as Kafka).
// - v1: rebalance_timeout_ms (KIP-62). v2: throttle_time_ms.
// - v4: a new dynamic member first gets MEMBER_ID_REQUIRED (79) with its member id and joins
//   again with it (KIP-394).
// - v5: group_instance_id, static membership (KIP-345): a restarted static member takes its old
//   id's place and assignment without a rebalance (core/groups/coordinator.ts).
// - v6: flexible (KIP-482). v7: protocol type and name in the response (KIP-559).
// - v8: reason (KIP-800), logged. v9: skip_assignment (KIP-814), always false here: we never skip.
// Errors: INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT (outside the broker's
// group.min/max.session.timeout.ms), UNKNOWN_MEMBER_ID, INCONSISTENT_GROUP_PROTOCOL,
// GROUP_MAX_SIZE_REACHED, FENCED_INSTANCE_ID, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR.
import {
  JoinGroup,
  type JoinGroupRequest,
  type JoinGroupResponse,
  defaultJoinGroupResponse,
} from "../../protocol/messages/index.ts";
import type { JoinResult } from "../../../core/groups/types.ts";
import { clientHost, groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const joinGroupHandler = defineHandler<JoinGroupRequest, JoinGroupResponse>({
  api: JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const denied = ctx.broker.groupOwnership(req.groupId);
    if (denied !== null) return { ...defaultJoinGroupResponse(), throttleTimeMs: 0, errorCode: groupErrorCode(denied), memberId: req.memberId };
    if (req.reason) ctx.broker.log.debug?.(`group ${req.groupId}: ${req.memberId || "new member"} joins: ${req.reason}`);
    const result = await ctx.broker.groups.join({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: v >= 5 ? req.groupInstanceId : null,
      clientId: ctx.clientId ?? "",
      clientHost: clientHost(ctx),
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      requireKnownMemberId: v >= 4,
      reason: req.reason,
    });
    return toResponse(result, v);
  },
});

function toResponse(r: JoinResult, v: number): JoinGroupResponse {
  return {
    ...defaultJoinGroupResponse(),
    throttleTimeMs: 0,
    errorCode: groupErrorCode(r.error),
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Nullable only from v7; before, "" stands for none.
    protocolName: v >= 7 ? r.protocolName : (r.protocolName ?? ""),
    leader: r.leaderId,
    skipAssignment: false,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
}
