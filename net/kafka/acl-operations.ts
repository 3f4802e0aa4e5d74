// KIP-430's authorized_operations fields: the core's allowed operations as Kafka's bit field, one
// bit per AclOperation code (clients/.../acl/AclOperation.java), and the schema's "not asked"
// value, INT32_MIN, for requests that did not ask.
import type { AclOperationName } from "../../core/broker/authorization.ts";

const ACL_OPERATION_CODE: Record<AclOperationName, number> = {
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

export function operationBits(operations: readonly AclOperationName[]): number {
  let bits = 0;
  for (const op of operations) bits |= 1 << ACL_OPERATION_CODE[op];
  return bits;
}
