// DescribeAcls (key 29), v0-3 (KIP-140; v1 pattern types, KIP-290; v2 flexible). The ACLs a filter
// matches (core/security/acls.ts), grouped by resource pattern as Kafka answers them. Needs
// DESCRIBE on the cluster (net/kafka/acl-gate.ts). Errors, top level: SECURITY_DISABLED (54) when
// no listener authenticates (authorization is off), INVALID_REQUEST (42) for a filter with an
// UNKNOWN (0) or out-of-range code. v0 has no pattern type: it filters LITERAL bindings only, as
// Kafka's default for the field.
import type { AclBinding, AclFilter } from "../../../core/broker/auth.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeAcls, type DescribeAclsRequest, type DescribeAclsResponse, type DescribeAclsResponseDescribeAclsResource } from "../../protocol/messages/index.ts";
import { aclCodes, aclNames } from "../acl-operations.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

export const describeAclsHandler = defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
  api: DescribeAcls,
  minVersion: 0,
  maxVersion: 3,
  handle(req, ctx) {
    const filter = aclFilterOf(req);
    if (filter === null) return failed(ErrorCode.INVALID_REQUEST, "the filter has an unknown resource type, pattern type, operation or permission");
    try {
      return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, resources: grouped(ctx.broker.auth.describeAcls(filter)) };
    } catch (err) {
      return failed(kafkaErrorCode(err), errorMessage(err));
    }
  },
});

function failed(errorCode: number, message: string): DescribeAclsResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage: message, resources: [] };
}

/** A filter as the wire carries it (DescribeAcls and each DeleteAcls filter), or null when a code is unknown. */
export function aclFilterOf(f: Omit<DescribeAclsRequest, "unknownTaggedFields">): AclFilter | null {
  const resourceType = aclNames.resource(f.resourceTypeFilter, true);
  const patternType = aclNames.pattern(f.patternTypeFilter, true);
  const operation = aclNames.operation(f.operation, true);
  const permission = aclNames.permission(f.permissionType, true);
  if (resourceType === undefined || patternType === undefined || operation === undefined || permission === undefined) return null;
  return { resourceType, resourceName: f.resourceNameFilter, patternType, principal: f.principalFilter, host: f.hostFilter, operation, permission };
}

function grouped(bindings: readonly AclBinding[]): DescribeAclsResponseDescribeAclsResource[] {
  const byPattern = new Map<string, DescribeAclsResponseDescribeAclsResource>();
  for (const b of bindings) {
    const key = `${b.resourceType}\0${b.patternType}\0${b.resourceName}`;
    let r = byPattern.get(key);
    if (r === undefined) {
      r = { resourceType: aclCodes.resource(b.resourceType), resourceName: b.resourceName, patternType: aclCodes.pattern(b.patternType), acls: [] };
      byPattern.set(key, r);
    }
    r.acls.push({ principal: b.principal, host: b.host, operation: aclCodes.operation(b.operation), permissionType: aclCodes.permission(b.permission) });
  }
  return [...byPattern.values()];
}
