// Operating errors raised by core: each has a stable `code` that net/ maps to a Kafka error code
// or an HTTP status in one place, and context (file, position, offset) for the message.
// Programmer errors are not here: they are assert()s (see core/assert.ts).

export type CoreErrorCode =
  | "CORRUPT_BATCH" // bytes that are not a valid RecordBatch v2 (length, magic, CRC)
  | "INVALID_RECORD" // a well-formed batch that breaks a rule (counts, deltas, control from client)
  | "UNSUPPORTED_COMPRESSION" // codec bits we do not know
  | "DECOMPRESSION_LIMIT" // a compressed payload would expand past its cap
  | "MESSAGE_TOO_LARGE" // a batch above max.message.bytes
  | "INVALID_TIMESTAMP"
  | "INVALID_TOPIC" // a topic name outside Kafka's rule
  | "TOPIC_EXISTS"
  | "UNKNOWN_TOPIC"
  | "UNKNOWN_PARTITION" // the topic exists, the partition index does not
  | "PRODUCER_FENCED" // an idempotent producer's epoch is older than one already seen
  | "OUT_OF_ORDER_SEQUENCE" // an idempotent producer's batch does not follow its last sequence
  | "INVALID_TXN_STATE" // a producer's batch outside the transaction it has open (issue #20)
  | "COORDINATOR_FENCED" // a transaction marker from a coordinator older than the last one seen
  | "INVALID_PARTITIONS"
  | "INVALID_CONFIG"
  | "OFFSET_OUT_OF_RANGE"
  | "FENCED_LEADER_EPOCH" // a client's current leader epoch is older than the partition's
  | "UNKNOWN_LEADER_EPOCH" // a client's current leader epoch is newer than the partition's
  | "POLICY_VIOLATION" // allowed in general, refused by the topic's configs (DeleteRecords on a compact-only topic)
  | "GROUP_NOT_EMPTY" // a consumer group with members cannot be deleted or have its offsets reset
  | "GROUP_NOT_FOUND"
  | "DATA_DIR_LOCKED" // another broker holds the data dir
  | "NOT_LEADER" // cluster mode: this broker does not lead the partition (or lost leadership)
  | "NOT_ENOUGH_REPLICAS" // fewer in-sync replicas than min.insync.replicas: nothing appended
  | "NOT_ENOUGH_REPLICAS_AFTER_APPEND" // appended, but the ISR shrank below min.insync.replicas
  | "STORAGE" // the disk failed us (ENOSPC, EIO, a corrupt range in the middle of a log)
  | "CLOSED" // the log or registry was closed under the caller
  | "USER_NOT_FOUND" // no such user, or no credential of that mechanism
  | "USER_EXISTS" // a user created twice
  | "UNACCEPTABLE_CREDENTIAL" // a user name, password or SCRAM parameters outside the rules
  | "DUPLICATE_RESOURCE" // the same user and mechanism twice in one change
  | "UNSUPPORTED_MECHANISM" // a SASL mechanism this broker does not have
  | "NOT_AUTHORIZED" // the principal may not do this
  | "INVALID_ACL" // an ACL binding or filter outside the rules (core/security/acls.ts)
  | "SECURITY_DISABLED"; // ACLs asked of a broker whose authorization is off (no listener authenticates)

export interface CoreErrorContext {
  file?: string;
  position?: number;
  offset?: number;
  topic?: string;
  partition?: number;
}

export class CoreError extends Error {
  override name = "CoreError";
  constructor(
    readonly code: CoreErrorCode,
    message: string,
    readonly context: CoreErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(withContext(message, context), options);
  }
}

function withContext(message: string, ctx: CoreErrorContext): string {
  const parts: string[] = [];
  if (ctx.topic !== undefined) parts.push(`topic ${ctx.topic}`);
  if (ctx.partition !== undefined) parts.push(`partition ${ctx.partition}`);
  if (ctx.file !== undefined) parts.push(`file ${ctx.file}`);
  if (ctx.position !== undefined) parts.push(`position ${ctx.position}`);
  if (ctx.offset !== undefined) parts.push(`offset ${ctx.offset}`);
  return parts.length ? `${message} (${parts.join(", ")})` : message;
}
