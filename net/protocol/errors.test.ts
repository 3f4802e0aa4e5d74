// The Kafka error table: complete for -1…120, unique names and codes, spot checks against
// Errors.java at 3.8.0 for the codes the broker uses most.
import { expect, test } from "bun:test";
import { describeError, errorByCode, ErrorCode, isRetriable, KAFKA_ERRORS } from "./errors.ts";

test("every code from -1 to 120 once, names unique", () => {
  expect(KAFKA_ERRORS.map((e) => e.code)).toEqual(Array.from({ length: 122 }, (_, i) => i - 1));
  expect(new Set(KAFKA_ERRORS.map((e) => e.name)).size).toBe(KAFKA_ERRORS.length);
});

test.each([
  ["NONE", 0, false],
  ["UNKNOWN_SERVER_ERROR", -1, false],
  ["OFFSET_OUT_OF_RANGE", 1, false],
  ["CORRUPT_MESSAGE", 2, true],
  ["UNKNOWN_TOPIC_OR_PARTITION", 3, true],
  ["NOT_LEADER_OR_FOLLOWER", 6, true],
  ["MESSAGE_TOO_LARGE", 10, false],
  ["NOT_COORDINATOR", 16, true],
  ["ILLEGAL_GENERATION", 22, false],
  ["UNKNOWN_MEMBER_ID", 25, false],
  ["REBALANCE_IN_PROGRESS", 27, false],
  ["UNSUPPORTED_VERSION", 35, false],
  ["TOPIC_ALREADY_EXISTS", 36, false],
  ["INVALID_REQUEST", 42, false],
  ["UNSUPPORTED_FOR_MESSAGE_FORMAT", 43, false],
  ["UNSUPPORTED_COMPRESSION_TYPE", 76, false],
  ["MEMBER_ID_REQUIRED", 79, false],
  ["INVALID_RECORD", 87, false],
  ["UNKNOWN_TOPIC_ID", 100, true],
  ["TRANSACTION_ABORTABLE", 120, false],
] as const)("%s = %i, retriable %p", (name, code, retriable) => {
  expect(ErrorCode[name]).toBe(code);
  expect(errorByCode(code)).toMatchObject({ name, code, retriable });
  expect(isRetriable(code)).toBe(retriable);
});

test("unknown codes", () => {
  expect(errorByCode(121)).toBeUndefined();
  expect(isRetriable(999)).toBe(false);
  expect(describeError(3)).toBe("UNKNOWN_TOPIC_OR_PARTITION (3)");
  expect(describeError(999)).toBe("error 999");
});

test("every error but NONE has a message", () => {
  for (const e of KAFKA_ERRORS) expect(e.message.length > 0).toBe(e.code !== 0);
});
