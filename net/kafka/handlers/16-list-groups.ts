// ListGroups (key 16), v0-5. Every group this broker coordinates (all of them), with protocol type.
// - v1: throttle_time_ms. v3: flexible (KIP-482).
// - v4: states_filter and group_state (KIP-518): only groups in one of the named states
//   (case-insensitive, as Kafka); empty = all.
// - v5: types_filter and group_type (KIP-848): "classic" (JoinGroup/SyncGroup) or "consumer"
//   (ConsumerGroupHeartbeat), case-insensitive as Kafka.
import {
  ListGroups,
  type ListGroupsRequest,
  type ListGroupsResponse,
  defaultListGroupsResponse,
} from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";

export const listGroupsHandler = defineHandler<ListGroupsRequest, ListGroupsResponse>({
  api: ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const v = ctx.apiVersion;
    const states = v >= 4 ? new Set(req.statesFilter.map((s) => s.toLowerCase())) : new Set<string>();
    const types = v >= 5 ? new Set(req.typesFilter.map((s) => s.toLowerCase())) : new Set<string>();
    const groups = ctx.broker.groups
      .listGroups()
      .filter((g) => ctx.broker.groupOwnership(g.groupId) === null)
      .filter((g) => (states.size === 0 || states.has(g.state.toLowerCase())) && (types.size === 0 || types.has(g.groupType)))
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.groupType }));
    return { ...defaultListGroupsResponse(), throttleTimeMs: 0, errorCode: 0, groups };
  },
});
