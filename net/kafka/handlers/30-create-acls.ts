// CreateAcls (key 30), v0-3 (KIP-140; v1 pattern types, KIP-290; v2 flexible). Adds bindings
// (core/security/acls.ts), durable before the answer; one already present is not added twice.
// Needs ALTER on the cluster (net/kafka/acl-gate.ts). Per creation, in request order: 0, or
// INVALID_REQUEST (42) with Kafka's reason (an UNKNOWN or ANY code, an operation the resource type
// does not have, a cluster resource not named kafka-cluster, a principal not like User:NAME),
// SECURITY_DISABLED (54) when no listener authenticates. v0 bindings are LITERAL.
import type { AclBinding } from "../../../core/broker/auth.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { CreateAcls, type CreateAclsRequest, type CreateAclsRequestAclCreation, type CreateAclsResponse } from "../../protocol/messages/index.ts";
import { aclNames } from "../acl-operations.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const createAclsHandler = defineHandler<CreateAclsRequest, CreateAclsResponse>({
  api: CreateAcls,
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const bindings = req.creations.map(bindingOf);
    const known = bindings.filter((b): b is AclBinding => b !== null);
    let outcomes: Array<{ errorCode: number; errorMessage: string | null }>;
    try {
      const results = await ctx.broker.auth.createAcls(known);
      let next = 0;
      outcomes = bindings.map((b) => {
        if (b === null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "the binding has an unknown or ANY resource type, pattern type, operation or permission" };
        const err = results[next++];
        return err ? { errorCode: kafkaErrorCode(err), errorMessage: errorMessage(err) } : { errorCode: 0, errorMessage: null };
      });
    } catch (err) {
      outcomes = bindings.map(() => ({ errorCode: kafkaErrorCode(err), errorMessage: errorMessage(err) }));
    }
    return { throttleTimeMs: 0, results: outcomes };
  },
});

/** The binding a creation names, or null when one of its codes is UNKNOWN, ANY, MATCH or out of range. */
function bindingOf(c: CreateAclsRequestAclCreation): AclBinding | null {
  const resourceType = aclNames.resource(c.resourceType);
  const patternType = aclNames.pattern(c.resourcePatternType);
  const operation = aclNames.operation(c.operation);
  const permission = aclNames.permission(c.permissionType);
  if (resourceType === undefined || patternType === undefined || operation === undefined || permission === undefined) return null;
  return { resourceType, resourceName: c.resourceName, patternType, principal: c.principal, host: c.host, operation, permission } as AclBinding;
}
