// The limits' relations (issue #17): they hold as shipped, and each check catches a number that
// breaks another's reason.
import { describe, expect, test } from "bun:test";
import { AssertionError } from "./assert.ts";
import { brokenRelations, checkCoreLimits, checkLimits, CORE_LIMIT_RELATIONS, CORE_LIMITS } from "./limits.ts";
import { HTTP_LIMIT_RELATIONS, HTTP_LIMITS } from "../net/http/limits.ts";
import { KAFKA_DOOR_LIMIT_RELATIONS, KAFKA_DOOR_LIMITS } from "../net/kafka/limits.ts";
import { CLIENT_LIMIT_RELATIONS, CLIENT_LIMITS } from "../net/client/constants.ts";

describe("limits", () => {
  test.each([
    ["core", CORE_LIMIT_RELATIONS, CORE_LIMITS],
    ["kafka door", KAFKA_DOOR_LIMIT_RELATIONS, KAFKA_DOOR_LIMITS],
    ["http door", HTTP_LIMIT_RELATIONS, HTTP_LIMITS],
    ["client", CLIENT_LIMIT_RELATIONS, CLIENT_LIMITS],
  ] as const)("%s: every relation holds as shipped", (_, relations, limits) => {
    expect(brokenRelations(relations as never, limits)).toEqual([]);
  });

  test("checkCoreLimits passes as shipped", () => {
    expect(() => checkCoreLimits()).not.toThrow();
  });

  test.each([
    ["a max.message.bytes above the request cap", { MESSAGE_BYTES_MAX_DEFAULT: 200 * 1024 * 1024 }, "fits in a request frame"],
    ["a decompression cap below max.message.bytes", { DECOMPRESSED_BYTES_MAX: 1024 }, "can be decompressed"],
    ["a recycle floor above the capacity step", { RECYCLE_MIN_BYTES: 4 * 1024 * 1024 }, "capacity step"],
    ["producers expiring within a client's retries", { PRODUCER_EXPIRATION_MS: 60_000 }, "producers expire long after"],
    ["one producer snapshot only", { PRODUCER_SNAPSHOTS_KEPT: 1 }, "fall back on"],
    ["a tail cache of one chunk per partition", { TAIL_CACHE_PARTITION_BYTES: 64 * 1024 }, "the tail cache"],
    ["a tail cache above its share of the broker's memory", { TAIL_CACHE_BYTES_MAX: 512 * 1024 * 1024 }, "the tail cache"],
  ])("core: %s is caught, naming the reason", (_, change, reason) => {
    const broken = brokenRelations(CORE_LIMIT_RELATIONS, { ...CORE_LIMITS, ...change });
    expect(broken.some((why) => why.includes(reason))).toBe(true);
    expect(() => checkLimits("core", CORE_LIMIT_RELATIONS, { ...CORE_LIMITS, ...change })).toThrow(AssertionError);
  });

  test("kafka door: an output queue smaller than a batch is caught", () => {
    expect(brokenRelations(KAFKA_DOOR_LIMIT_RELATIONS, { ...KAFKA_DOOR_LIMITS, OUTPUT_BYTES_HIGH: 1024 })).toHaveLength(1);
  });

  test("kafka door: a down-conversion cap below an old client's fetch size is caught", () => {
    expect(brokenRelations(KAFKA_DOOR_LIMIT_RELATIONS, { ...KAFKA_DOOR_LIMITS, DOWN_CONVERT_BYTES_MAX: 64 * 1024 })).toHaveLength(1);
  });

  test("client: a default batch bigger than max.message.bytes is caught", () => {
    expect(brokenRelations(CLIENT_LIMIT_RELATIONS, { ...CLIENT_LIMITS, BATCH_BYTES_DEFAULT: 2_000_000 })).toEqual(["a default batch with its header fits a default topic's max.message.bytes, which fits a request"]);
  });

  test("http door: a body cap above Bun's is caught", () => {
    expect(brokenRelations(HTTP_LIMIT_RELATIONS, { ...HTTP_LIMITS, RECORDS_BODY_BYTES_MAX: 2 * 1024 * 1024 * 1024 })).toHaveLength(1);
  });
});
