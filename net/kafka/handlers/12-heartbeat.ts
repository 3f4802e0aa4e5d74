// Heartbeat (key 12), v0-4. Keeps a member's session alive and tells it when to rejoin:
// REBALANCE_IN_PROGRESS while the group is PreparingRebalance; NONE while CompletingRebalance or
// Stable (Kafka ≥ 2.x); UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / FENCED_INSTANCE_ID for members
// that are not (or no longer) current.
// - v1: throttle_time_ms. v3: group_instance_id (KIP-345). v4: flexible (KIP-482).
import {
  Heartbeat,
  type HeartbeatRequest,
  type HeartbeatResponse,
  defaultHeartbeatResponse,
} from "../../protocol/messages/index.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const heartbeatHandler = defineHandler<HeartbeatRequest, HeartbeatResponse>({
  api: Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const error = ctx.broker.groupOwnership(req.groupId) ?? ctx.broker.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    });
    return { ...defaultHeartbeatResponse(), throttleTimeMs: 0, errorCode: groupErrorCode(error) };
  },
});
