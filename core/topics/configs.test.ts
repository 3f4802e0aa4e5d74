// Topic configs as Kafka 3.8 validates them (issue #21, item 2): every documented key accepted with
// Kafka's type and range rules, values normalized, unknown keys and bad values INVALID_CONFIG, and
// which keys this broker acts on.
import { describe, expect, test } from "bun:test";
import { CoreError } from "../errors.ts";
import { CONFIG_KEYS, effectiveConfigs, isAppliedConfig, isListConfig, validateConfigs } from "./configs.ts";

/** Kafka 3.8's topic configs (kafka.apache.org/38/generated/topic_config.html). */
const KAFKA_38_TOPIC_CONFIGS = [
  "cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type", "compression.zstd.level",
  "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
  "index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
  "max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
  "message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "message.timestamp.difference.max.ms",
  "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
  "remote.storage.enable", "retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms",
  "segment.ms", "unclean.leader.election.enable",
];

function outcome(key: string, value: string): string {
  try {
    return validateConfigs({ [key]: value })[key]!;
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    expect(e.code).toBe("INVALID_CONFIG");
    return "INVALID_CONFIG";
  }
}

describe("topic configs (issue #21)", () => {
  test("every topic config Kafka 3.8 documents, and no other", () => {
    expect([...CONFIG_KEYS].sort()).toEqual([...KAFKA_38_TOPIC_CONFIGS].sort());
  });

  test.each([
    // INT: 32-bit, Kafka's ranges
    ["segment.bytes", "14", "14"],
    ["segment.bytes", "13", "INVALID_CONFIG"],
    ["segment.bytes", "2147483648", "INVALID_CONFIG"],
    ["segment.bytes", " +1048576 ", "1048576"],
    ["max.message.bytes", "-1", "INVALID_CONFIG"],
    ["min.insync.replicas", "0", "INVALID_CONFIG"],
    ["min.insync.replicas", "2", "2"],
    ["compression.gzip.level", "-1", "-1"],
    ["compression.gzip.level", "0", "INVALID_CONFIG"],
    ["compression.gzip.level", "9", "9"],
    ["compression.lz4.level", "18", "INVALID_CONFIG"],
    ["compression.zstd.level", "-131072", "-131072"],
    ["compression.zstd.level", "23", "INVALID_CONFIG"],
    ["index.interval.bytes", "1.5", "INVALID_CONFIG"],
    // LONG: 64-bit, the defaults of Long.MAX_VALUE included
    ["flush.ms", "9223372036854775807", "9223372036854775807"],
    ["flush.ms", "9223372036854775808", "INVALID_CONFIG"],
    ["flush.messages", "0", "INVALID_CONFIG"],
    ["retention.ms", "-1", "-1"],
    ["retention.ms", "-2", "INVALID_CONFIG"],
    ["retention.ms", "soon", "INVALID_CONFIG"],
    ["retention.bytes", "-5", "-5"],
    ["local.retention.ms", "-2", "-2"],
    ["local.retention.bytes", "-3", "INVALID_CONFIG"],
    ["delete.retention.ms", "0", "0"],
    ["message.timestamp.difference.max.ms", "3600000", "3600000"],
    ["message.timestamp.before.max.ms", "-1", "INVALID_CONFIG"],
    ["max.compaction.lag.ms", "0", "INVALID_CONFIG"],
    // DOUBLE
    ["min.cleanable.dirty.ratio", "0.1", "0.1"],
    ["min.cleanable.dirty.ratio", "1", "1"],
    ["min.cleanable.dirty.ratio", "1.01", "INVALID_CONFIG"],
    ["min.cleanable.dirty.ratio", "half", "INVALID_CONFIG"],
    // BOOLEAN: true/false in any case
    ["preallocate", "TRUE", "true"],
    ["unclean.leader.election.enable", "yes", "INVALID_CONFIG"],
    ["message.downconversion.enable", "false", "false"],
    ["remote.storage.enable", "False", "false"],
    // STRING
    ["compression.type", "zstd", "zstd"],
    ["compression.type", "producer", "producer"],
    ["compression.type", "brotli", "INVALID_CONFIG"],
    ["message.timestamp.type", "LogAppendTime", "LogAppendTime"],
    ["message.timestamp.type", "logappendtime", "INVALID_CONFIG"],
    ["message.format.version", "2.8-IV1", "2.8-IV1"],
    ["message.format.version", "0.10.2", "0.10.2"],
    ["message.format.version", "9.9", "INVALID_CONFIG"],
    // LIST
    ["cleanup.policy", "delete , compact", "compact,delete"],
    ["cleanup.policy", "compact,compact", "compact"],
    ["cleanup.policy", "shred", "INVALID_CONFIG"],
    ["leader.replication.throttled.replicas", "*", "*"],
    ["leader.replication.throttled.replicas", "0:1, 1:2", "0:1,1:2"],
    ["follower.replication.throttled.replicas", "0:x", "INVALID_CONFIG"],
    ["follower.replication.throttled.replicas", "", ""],
    // unknown
    ["retention.hours", "1", "INVALID_CONFIG"],
    ["constructor", "1", "INVALID_CONFIG"],
  ])("%s=%j → %s", (key, value, want) => {
    expect(outcome(key, value)).toBe(want);
  });

  test("what spans keys: min.compaction.lag.ms above max.compaction.lag.ms is INVALID_CONFIG", () => {
    expect(() => effectiveConfigs({}, { "min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5" })).toThrow("min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
    expect(effectiveConfigs({}, { "min.compaction.lag.ms": "5", "max.compaction.lag.ms": "5" }).values["min.compaction.lag.ms"]).toBe("5");
  });

  test("effective values: overrides, then broker defaults, then Kafka's; typed where the broker acts on them", () => {
    const c = effectiveConfigs({ "retention.ms": "1000", "compression.type": "gzip" }, { "compression.type": "zstd", "segment.ms": "60000" });
    expect([c["retention.ms"], c["segment.ms"], c.values["compression.type"], c.values["flush.ms"]]).toEqual([1000, 60000, "zstd", "9223372036854775807"]);
    expect(Object.keys(c.values)).toEqual([...CONFIG_KEYS]);
  });

  test("the broker acts on fifteen configs (four of them compaction's, issue #20; message.downconversion.enable for Fetch v0-3; compression.type on append); the others are accepted without effect; list configs", () => {
    expect(CONFIG_KEYS.slice(0, 7)).toEqual(["retention.ms", "retention.bytes", "segment.bytes", "segment.ms", "cleanup.policy", "max.message.bytes", "message.timestamp.type"]);
    expect(CONFIG_KEYS.filter(isAppliedConfig).sort()).toEqual(
      [
        ...CONFIG_KEYS.slice(0, 7),
        "min.insync.replicas",
        "unclean.leader.election.enable",
        "delete.retention.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "message.downconversion.enable",
        "compression.type",
      ].sort(),
    );
    expect(CONFIG_KEYS.filter(isListConfig).sort()).toEqual(["cleanup.policy", "follower.replication.throttled.replicas", "leader.replication.throttled.replicas"]);
  });
});
