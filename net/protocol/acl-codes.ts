// Kafka's codes of the ACL model on the wire, both ways (clients/.../common/acl/AclOperation.java,
// AclPermissionType.java, resource/ResourceType.java, resource/PatternType.java), shared by the
// broker's ACL handlers and the client's `acls` commands. UNKNOWN (0) has no name here: a code
// without a name is refused by whoever decodes it.
//
// | field          | codes                                                                          |
// |----------------|--------------------------------------------------------------------------------|
// | resource type  | ANY 1 (filters), TOPIC 2, GROUP 3, CLUSTER 4, TRANSACTIONAL_ID 5                |
// | pattern type   | ANY 1, MATCH 2 (filters), LITERAL 3, PREFIXED 4                                |
// | operation      | ANY 1 (filters), ALL 2, READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7,          |
// |                | DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,           |
// |                | IDEMPOTENT_WRITE 12                                                            |
// | permission     | ANY 1 (filters), DENY 2, ALLOW 3                                               |
export type AclResourceType = "TOPIC" | "GROUP" | "CLUSTER" | "TRANSACTIONAL_ID";
export type AclPatternType = "LITERAL" | "PREFIXED";
export type AclPermission = "ALLOW" | "DENY";
export type AclOperationName = "ALL" | "READ" | "WRITE" | "CREATE" | "DELETE" | "ALTER" | "DESCRIBE" | "CLUSTER_ACTION" | "DESCRIBE_CONFIGS" | "ALTER_CONFIGS" | "IDEMPOTENT_WRITE";

export const ANY_CODE = 1;
export const MATCH_CODE = 2;

const RESOURCE_CODE: Record<AclResourceType, number> = { TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5 };
const PATTERN_CODE: Record<AclPatternType, number> = { LITERAL: 3, PREFIXED: 4 };
const PERMISSION_CODE: Record<AclPermission, number> = { DENY: 2, ALLOW: 3 };
export const ACL_OPERATION_CODE: Record<AclOperationName, number> = {
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

function invert<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));
}

const RESOURCE_BY_CODE = invert(RESOURCE_CODE);
const PATTERN_BY_CODE = invert(PATTERN_CODE);
const PERMISSION_BY_CODE = invert(PERMISSION_CODE);
const OPERATION_BY_CODE = invert(ACL_OPERATION_CODE);

/** A name → its code; "ANY"/"MATCH" (filters) → theirs. */
export const aclCodes = {
  resource: (t: AclResourceType | "ANY") => (t === "ANY" ? ANY_CODE : RESOURCE_CODE[t]),
  pattern: (p: AclPatternType | "ANY" | "MATCH") => (p === "ANY" ? ANY_CODE : p === "MATCH" ? MATCH_CODE : PATTERN_CODE[p]),
  permission: (p: AclPermission | "ANY") => (p === "ANY" ? ANY_CODE : PERMISSION_CODE[p]),
  operation: (o: AclOperationName | "ANY") => (o === "ANY" ? ANY_CODE : ACL_OPERATION_CODE[o]),
};

/** A code → its name; "ANY"/"MATCH" only where `filter` allows them; undefined for UNKNOWN or out of range. */
export const aclNames = {
  resource: (c: number, filter = false): AclResourceType | "ANY" | undefined => (filter && c === ANY_CODE ? "ANY" : RESOURCE_BY_CODE.get(c)),
  pattern: (c: number, filter = false): AclPatternType | "ANY" | "MATCH" | undefined => (filter && c === ANY_CODE ? "ANY" : filter && c === MATCH_CODE ? "MATCH" : PATTERN_BY_CODE.get(c)),
  permission: (c: number, filter = false): AclPermission | "ANY" | undefined => (filter && c === ANY_CODE ? "ANY" : PERMISSION_BY_CODE.get(c)),
  operation: (c: number, filter = false): AclOperationName | "ANY" | undefined => (filter && c === ANY_CODE ? "ANY" : OPERATION_BY_CODE.get(c)),
};
