// What a client may do to a resource, for the answers that report it (Metadata, DescribeCluster,
// DescribeGroups, DescribeTopicPartitions: KIP-430's authorized operations). There is no
// authorizer yet, so every operation a resource type supports is allowed, as Kafka answers
// without one (AuthHelper.authorizedOperations). The operations each type supports are Kafka
// 3.8's AclEntry.supportedOperations; the security issue narrows the set per principal.
export type AclOperationName =
  | "READ"
  | "WRITE"
  | "CREATE"
  | "DELETE"
  | "ALTER"
  | "DESCRIBE"
  | "CLUSTER_ACTION"
  | "DESCRIBE_CONFIGS"
  | "ALTER_CONFIGS"
  | "IDEMPOTENT_WRITE";

export type ResourceKind = "topic" | "group" | "cluster";

const SUPPORTED: Record<ResourceKind, readonly AclOperationName[]> = {
  topic: ["READ", "WRITE", "CREATE", "DESCRIBE", "DELETE", "ALTER", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"],
  group: ["READ", "DESCRIBE", "DELETE"],
  cluster: ["CREATE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "ALTER", "DESCRIBE"],
};

/** The operations allowed on a resource of this kind (all it supports: no authorizer). */
export function authorizedOperations(kind: ResourceKind, _name: string): readonly AclOperationName[] {
  return SUPPORTED[kind];
}
