// ACL administration over Kafka's APIs (DescribeAcls, CreateAcls, DeleteAcls; KIP-140, KIP-290),
// sent to any broker as Kafka's AdminClient does (a KRaft broker forwards them to the controller).
// Works against Apache Kafka and Redpanda as against streamctl. A broker's refusal is a
// KafkaClientError with its code: SECURITY_DISABLED (54) when it has no authorizer,
// CLUSTER_AUTHORIZATION_FAILED (31) for a principal that may not manage ACLs, INVALID_REQUEST (42)
// for a binding it will not take (with its reason).
import { type AclOperationName, type AclPatternType, type AclPermission, type AclResourceType, aclCodes, aclNames } from "../protocol/acl-codes.ts";
import { CreateAcls, DeleteAcls, DescribeAcls } from "../protocol/messages/index.ts";
import type { AdminClient } from "./admin.ts";
import { kafkaError } from "./errors.ts";

export interface AclBindingView {
  resourceType: AclResourceType;
  resourceName: string;
  patternType: AclPatternType;
  principal: string;
  host: string;
  operation: AclOperationName;
  permission: AclPermission;
}

/** Which bindings a list or delete means: null/"ANY" match everything (Kafka's AclBindingFilter). */
export interface AclFilterSpec {
  resourceType: AclResourceType | "ANY";
  resourceName: string | null;
  patternType: AclPatternType | "ANY" | "MATCH";
  principal: string | null;
  host: string | null;
  operation: AclOperationName | "ANY";
  permission: AclPermission | "ANY";
}

function wireFilter(f: AclFilterSpec) {
  return {
    resourceTypeFilter: aclCodes.resource(f.resourceType),
    resourceNameFilter: f.resourceName,
    patternTypeFilter: aclCodes.pattern(f.patternType),
    principalFilter: f.principal,
    hostFilter: f.host,
    operation: aclCodes.operation(f.operation),
    permissionType: aclCodes.permission(f.permission),
  };
}

/** A binding as a broker described it (codes this client does not know read as UNKNOWN names). */
function bindingOf(b: { resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number }): AclBindingView {
  return {
    resourceType: (aclNames.resource(b.resourceType) ?? "UNKNOWN") as AclResourceType,
    resourceName: b.resourceName,
    patternType: (aclNames.pattern(b.patternType) ?? "UNKNOWN") as AclPatternType,
    principal: b.principal,
    host: b.host,
    operation: (aclNames.operation(b.operation) ?? "UNKNOWN") as AclOperationName,
    permission: (aclNames.permission(b.permissionType) ?? "UNKNOWN") as AclPermission,
  };
}

export async function describeAcls(admin: AdminClient, filter: AclFilterSpec): Promise<AclBindingView[]> {
  const conn = await admin.anyConnection();
  const res = await admin.request(conn, DescribeAcls, wireFilter(filter));
  if (res.errorCode !== 0) throw kafkaError(res.errorCode, "describe ACLs", res.errorMessage);
  return res.resources.flatMap((r) => r.acls.map((a) => bindingOf({ ...r, ...a })));
}

/** Creates the bindings; the first refused one fails the call with the broker's reason (the others may have been created). */
export async function createAcls(admin: AdminClient, bindings: readonly AclBindingView[]): Promise<void> {
  const conn = await admin.anyConnection();
  const res = await admin.request(conn, CreateAcls, {
    creations: bindings.map((b) => ({
      resourceType: aclCodes.resource(b.resourceType),
      resourceName: b.resourceName,
      resourcePatternType: aclCodes.pattern(b.patternType),
      principal: b.principal,
      host: b.host,
      operation: aclCodes.operation(b.operation),
      permissionType: aclCodes.permission(b.permission),
    })),
  });
  res.results.forEach((r, i) => {
    if (r.errorCode !== 0) throw kafkaError(r.errorCode, `create ACL ${describeBinding(bindings[i]!)}`, r.errorMessage);
  });
}

/** Deletes what each filter matches; answers every binding deleted. */
export async function deleteAcls(admin: AdminClient, filters: readonly AclFilterSpec[]): Promise<AclBindingView[]> {
  const conn = await admin.anyConnection();
  const res = await admin.request(conn, DeleteAcls, { filters: filters.map(wireFilter) });
  const out: AclBindingView[] = [];
  for (const r of res.filterResults) {
    if (r.errorCode !== 0) throw kafkaError(r.errorCode, "delete ACLs", r.errorMessage);
    for (const m of r.matchingAcls) {
      if (m.errorCode !== 0) throw kafkaError(m.errorCode, "delete ACLs", m.errorMessage);
      out.push(bindingOf(m));
    }
  }
  return out;
}

export function describeBinding(b: AclBindingView): string {
  return `${b.permission} ${b.principal} ${b.operation} on ${b.resourceType} ${b.patternType === "PREFIXED" ? `${b.resourceName}* (PREFIXED)` : b.resourceName} from ${b.host}`;
}
