// DeleteGroups (key 42), v0-2. Deletes groups that have no members (Empty): their committed
// offsets are forgotten durably (a tombstone in the offsets log) before the answer. A group with
// members is NON_EMPTY_GROUP; one that does not exist GROUP_ID_NOT_FOUND; "" INVALID_GROUP_ID.
// - v1: same as v0 (Kafka bumped it for throttling on quota violation). v2: flexible (KIP-482).
import {
  DeleteGroups,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
  defaultDeleteGroupsResponse,
} from "../../protocol/messages/index.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";

export const deleteGroupsHandler = defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  api: DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const mine = req.groupsNames.filter((g) => ctx.broker.groupOwnership(g) === null);
    const theirs = req.groupsNames.filter((g) => ctx.broker.groupOwnership(g) !== null).map((g) => ({ groupId: g, error: ctx.broker.groupOwnership(g) }));
    const results = [...(await ctx.broker.groups.deleteGroups(mine)), ...theirs];
    for (const r of results) if (r.error === null) ctx.broker.log.info(`deleted group ${r.groupId}`);
    return {
      ...defaultDeleteGroupsResponse(),
      throttleTimeMs: 0,
      results: results.map((r) => ({ groupId: r.groupId, errorCode: groupErrorCode(r.error) })),
    };
  },
});
