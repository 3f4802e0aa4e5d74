// The one place where core's operating errors become Kafka error codes on the wire.
import { CoreError, type CoreErrorCode } from "../../core/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";

const KAFKA_CODE: Record<CoreErrorCode, number> = {
  CORRUPT_BATCH: ErrorCode.CORRUPT_MESSAGE,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
  UNSUPPORTED_COMPRESSION: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
  DECOMPRESSION_LIMIT: ErrorCode.INVALID_RECORD,
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  INVALID_TIMESTAMP: ErrorCode.INVALID_TIMESTAMP,
  INVALID_TOPIC: ErrorCode.INVALID_TOPIC_EXCEPTION,
  TOPIC_EXISTS: ErrorCode.TOPIC_ALREADY_EXISTS,
  UNKNOWN_TOPIC: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  UNKNOWN_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  PRODUCER_FENCED: ErrorCode.INVALID_PRODUCER_EPOCH,
  OUT_OF_ORDER_SEQUENCE: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PARTITIONS: ErrorCode.INVALID_PARTITIONS,
  INVALID_CONFIG: ErrorCode.INVALID_CONFIG,
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  GROUP_NOT_EMPTY: ErrorCode.NON_EMPTY_GROUP,
  GROUP_NOT_FOUND: ErrorCode.GROUP_ID_NOT_FOUND,
  DATA_DIR_LOCKED: ErrorCode.KAFKA_STORAGE_ERROR,
  STORAGE: ErrorCode.KAFKA_STORAGE_ERROR,
  CLOSED: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  USER_NOT_FOUND: ErrorCode.RESOURCE_NOT_FOUND,
  USER_EXISTS: ErrorCode.DUPLICATE_RESOURCE,
  UNACCEPTABLE_CREDENTIAL: ErrorCode.UNACCEPTABLE_CREDENTIAL,
  DUPLICATE_RESOURCE: ErrorCode.DUPLICATE_RESOURCE,
  UNSUPPORTED_MECHANISM: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
  NOT_AUTHORIZED: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
};

/** Kafka error code for any failure; unknown failures are UNKNOWN_SERVER_ERROR (-1). */
export function kafkaErrorCode(err: unknown): number {
  if (err instanceof CoreError) return KAFKA_CODE[err.code] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
