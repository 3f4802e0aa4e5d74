// LeaveGroup (key 13), v0-5. The member leaves at once and the group rebalances without waiting
// for its session to expire.
// - v0-2: one member_id; its error is the top-level error_code. v1: throttle_time_ms.
// - v3: a batch of members, by member id or by group_instance_id (KIP-345); one error each, the
//   top level is NONE unless the group itself cannot answer. v4: flexible (KIP-482).
// - v5: a reason per member (KIP-800), logged.
import {
  LeaveGroup,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  defaultLeaveGroupResponse,
} from "../../protocol/messages/index.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const leaveGroupHandler = defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  api: LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const leaving = v >= 3 ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId, groupInstanceId: null }];
    if (v >= 5) for (const m of req.members) if (m.reason) ctx.broker.log.debug?.(`group ${req.groupId}: ${m.memberId} leaves: ${m.reason}`);
    const denied = ctx.broker.groupOwnership(req.groupId);
    if (denied !== null) return { ...defaultLeaveGroupResponse(), throttleTimeMs: 0, errorCode: groupErrorCode(denied), members: [] };
    const r = ctx.broker.groups.leave(req.groupId, leaving);
    const members = r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: groupErrorCode(m.error) }));
    let errorCode = groupErrorCode(r.error);
    if (v < 3 && errorCode === 0) errorCode = members[0]?.errorCode ?? 0;
    return { ...defaultLeaveGroupResponse(), throttleTimeMs: 0, errorCode, members: v >= 3 ? members : [] };
  },
});
