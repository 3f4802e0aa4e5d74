// DeleteAcls (key 31), v0-3 (KIP-140; v1 pattern types, KIP-290; v2 flexible). Removes every
// binding each filter matches (core/security/acls.ts), in one durable write, and answers per filter
// what it removed. Needs ALTER on the cluster (net/kafka/acl-gate.ts). Per filter: 0 with the
// matching bindings, INVALID_REQUEST (42) for an unknown code, SECURITY_DISABLED (54) when no
// listener authenticates. v0 filters are LITERAL.
import { DeleteAcls, type DeleteAclsRequest, type DeleteAclsResponse, type DeleteAclsResponseDeleteAclsFilterResult } from "../../protocol/messages/index.ts";
import type { AclFilter } from "../../../core/broker/auth.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { aclCodes } from "../acl-operations.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";
import { aclFilterOf } from "./29-describe-acls.ts";

export const deleteAclsHandler = defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
  api: DeleteAcls,
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const filters = req.filters.map(aclFilterOf);
    const known = filters.filter((f): f is AclFilter => f !== null);
    let results: DeleteAclsResponseDeleteAclsFilterResult[];
    try {
      const deletions = await ctx.broker.auth.deleteAcls(known);
      let next = 0;
      results = filters.map((f) => {
        if (f === null) return failed(ErrorCode.INVALID_REQUEST, "the filter has an unknown resource type, pattern type, operation or permission");
        const d = deletions[next++]!;
        if (d.error !== null) return failed(kafkaErrorCode(d.error), errorMessage(d.error));
        return {
          errorCode: 0,
          errorMessage: null,
          matchingAcls: d.removed.map((b) => ({
            errorCode: 0,
            errorMessage: null,
            resourceType: aclCodes.resource(b.resourceType),
            resourceName: b.resourceName,
            patternType: aclCodes.pattern(b.patternType),
            principal: b.principal,
            host: b.host,
            operation: aclCodes.operation(b.operation),
            permissionType: aclCodes.permission(b.permission),
          })),
        };
      });
    } catch (err) {
      results = filters.map(() => failed(kafkaErrorCode(err), errorMessage(err)));
    }
    return { throttleTimeMs: 0, filterResults: results };
  },
});

function failed(errorCode: number, message: string): DeleteAclsResponseDeleteAclsFilterResult {
  return { errorCode, errorMessage: message, matchingAcls: [] };
}
