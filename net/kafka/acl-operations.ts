// Kafka's codes for the ACL model (clients/.../acl/AclOperation.java, AclPermissionType.java,
// resource/ResourceType.java, PatternType.java) both ways, KIP-430's authorized_operations fields
// (the core's allowed operations as a bit field, one bit per AclOperation code, and the schema's
// "not asked" value, INT32_MIN), and the requester of a Kafka request.
import type { AclOperation, Operation, PatternType, Permission, Requester, Resource, ResourceType } from "../../core/broker/auth.ts";
import type { RequestContext } from "./handler.ts";

const ACL_OPERATION_CODE: Record<AclOperation, number> = {
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
};

export const OPERATIONS_NOT_REQUESTED = -2147483648;

export function operationBits(operations: readonly Operation[]): number {
  let bits = 0;
  for (const op of operations) bits |= 1 << ACL_OPERATION_CODE[op];
  return bits;
}

/** KIP-430's bit field of what the request's principal may do to `resource`. */
export function allowedBits(ctx: Pick<RequestContext, "session" | "remoteAddress" | "broker">, resource: Resource): number {
  return operationBits(ctx.broker.authorizedOperations(requesterOf(ctx), resource));
}

/** The principal and client address a request is decided for. */
export function requesterOf(ctx: Pick<RequestContext, "session" | "remoteAddress">): Requester {
  return { principal: ctx.session.principal, host: hostOf(ctx.remoteAddress) };
}

/** "::ffff:10.0.0.1" → "10.0.0.1": ACL hosts name IPv4 clients as IPv4. */
export function hostOf(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

export const ANY_CODE = 1;
export const MATCH_CODE = 2;

const RESOURCE_CODE: Record<ResourceType, number> = { TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5 };
const PATTERN_CODE: Record<PatternType, number> = { LITERAL: 3, PREFIXED: 4 };
const PERMISSION_CODE: Record<Permission, number> = { DENY: 2, ALLOW: 3 };

function invert<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));
}

const RESOURCE_BY_CODE = invert(RESOURCE_CODE);
const PATTERN_BY_CODE = invert(PATTERN_CODE);
const PERMISSION_BY_CODE = invert(PERMISSION_CODE);
const OPERATION_BY_CODE = invert(ACL_OPERATION_CODE);

export const aclCodes = {
  resource: (t: ResourceType) => RESOURCE_CODE[t],
  pattern: (p: PatternType) => PATTERN_CODE[p],
  permission: (p: Permission) => PERMISSION_CODE[p],
  operation: (o: AclOperation) => ACL_OPERATION_CODE[o],
};

/** A code → its name; "ANY"/"MATCH" where a filter may say so and `filter` is set; else undefined (UNKNOWN or out of range). */
export const aclNames = {
  resource: (c: number, filter = false): ResourceType | "ANY" | undefined => (filter && c === ANY_CODE ? "ANY" : RESOURCE_BY_CODE.get(c)),
  pattern: (c: number, filter = false): PatternType | "ANY" | "MATCH" | undefined => (filter && c === ANY_CODE ? "ANY" : filter && c === MATCH_CODE ? "MATCH" : PATTERN_BY_CODE.get(c)),
  permission: (c: number, filter = false): Permission | "ANY" | undefined => (filter && c === ANY_CODE ? "ANY" : PERMISSION_BY_CODE.get(c)),
  operation: (c: number, filter = false): AclOperation | "ANY" | undefined => (filter && c === ANY_CODE ? "ANY" : OPERATION_BY_CODE.get(c)),
};
