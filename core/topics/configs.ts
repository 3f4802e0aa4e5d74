// Topic configs: every topic config Kafka 3.8 documents (LogConfig's definitions), with Kafka's
// types, defaults and validators, and what each does here. Values travel as strings (the Kafka
// wire form and topic.json); the configs the broker acts on are also typed. An unknown key or a
// bad value is INVALID_CONFIG naming the key and the rule, in Kafka's words where it has them.
//
// Parsing is ConfigDef's: values are trimmed; INT and LONG are 32/64-bit integers (a leading + is
// fine); DOUBLE a decimal number; BOOLEAN true or false in any case; LIST comma-separated items.
// Stored normalized (integers without + or leading zeros, booleans lower case, lists without the
// spaces around commas; cleanup.policy sorted, without repeats).
//
// | key                                     | type    | default             | valid                      | here        |
// |-----------------------------------------|---------|---------------------|----------------------------|-------------|
// | cleanup.policy                          | list    | delete              | compact, delete (≥ 1 item) | applied *   |
// | compression.gzip.level                  | int     | -1                  | 1…9 or -1                  | no effect   |
// | compression.lz4.level                   | int     | 9                   | 1…17                       | no effect   |
// | compression.type                        | string  | producer            | uncompressed, zstd, lz4, snappy, gzip, producer | applied ** |
// | compression.zstd.level                  | int     | 3                   | -131072…22                 | no effect   |
// | delete.retention.ms                     | long    | 86400000            | ≥ 0                        | applied     |
// | file.delete.delay.ms                    | long    | 60000               | ≥ 0                        | no effect   |
// | flush.messages                          | long    | 9223372036854775807 | ≥ 1                        | no effect   |
// | flush.ms                                | long    | 9223372036854775807 | ≥ 0                        | no effect   |
// | follower.replication.throttled.replicas | list    | (empty)             | * or partition:broker,…    | no effect   |
// | index.interval.bytes                    | int     | 4096                | ≥ 0                        | no effect   |
// | leader.replication.throttled.replicas   | list    | (empty)             | * or partition:broker,…    | no effect   |
// | local.retention.bytes                   | long    | -2                  | ≥ -2                       | no effect   |
// | local.retention.ms                      | long    | -2                  | ≥ -2                       | no effect   |
// | max.compaction.lag.ms                   | long    | 9223372036854775807 | ≥ 1                        | applied     |
// | max.message.bytes                       | int     | 1048588             | ≥ 0                        | applied     |
// | message.downconversion.enable           | boolean | true                |                            | applied (Fetch v0-3) |
// | message.format.version                  | string  | 3.0-IV1             | a Kafka version (0.8.0 … 3.8-IV0) | no effect (Kafka 3.x ignores it too) |
// | message.timestamp.after.max.ms          | long    | 9223372036854775807 | ≥ 0                        | no effect   |
// | message.timestamp.before.max.ms         | long    | 9223372036854775807 | ≥ 0                        | no effect   |
// | message.timestamp.difference.max.ms     | long    | 9223372036854775807 | ≥ 0                        | no effect   |
// | message.timestamp.type                  | string  | CreateTime          | CreateTime, LogAppendTime  | applied     |
// | min.cleanable.dirty.ratio               | double  | 0.5                 | 0…1                        | applied     |
// | min.compaction.lag.ms                   | long    | 0                   | ≥ 0, ≤ max.compaction.lag.ms | applied   |
// | min.insync.replicas                     | int     | 1                   | ≥ 1                        | applied (acks=all) |
// | preallocate                             | boolean | false               |                            | no effect   |
// | remote.storage.enable                   | boolean | false               |                            | no effect   |
// | retention.bytes                         | long    | -1                  | any                        | applied     |
// | retention.ms                            | long    | 604800000           | ≥ -1                       | applied     |
// | segment.bytes                           | int     | 1073741824          | ≥ 14                       | applied     |
// | segment.index.bytes                     | int     | 10485760            | ≥ 4                        | no effect   |
// | segment.jitter.ms                       | long    | 0                   | ≥ 0                        | no effect   |
// | segment.ms                              | long    | 604800000           | ≥ 1                        | applied     |
// | unclean.leader.election.enable          | boolean | false               |                            | applied (cluster mode) |
//
// "No effect": valid in Kafka and accepted, but this broker does not act on it (yet: compaction,
// replication and the compression issue will); the control plane's topic view lists the ones a
// topic sets (`noEffect`). * Kafka 3.8 also accepts an empty cleanup.policy (neither delete nor
// compact: records kept forever); refused here, where retention would still delete. ** producer
// (the default) stores batches as the producer compressed them; any other value rebuilds a
// produced batch in that codec when it came in another (core/batch/recompress.ts, on append; the
// codecs' own levels, compression.*.level, are not applied: each codec's default level is used).
import { CoreError } from "../errors.ts";
import { MESSAGE_BYTES_MAX_DEFAULT } from "../limits.ts";
import type { LogConfig } from "../log/types.ts";

/** The configs the broker acts on, typed; `values` holds every config as its effective string. */
export interface TopicConfigs {
  "retention.ms": number;
  "retention.bytes": number;
  "segment.bytes": number;
  "segment.ms": number;
  "cleanup.policy": string;
  "max.message.bytes": number;
  "message.timestamp.type": "CreateTime" | "LogAppendTime";
  /** Cluster mode: acks=all needs this many in-sync replicas. */
  "min.insync.replicas": number;
  /** Cluster mode: a replica outside the ISR may become leader when none in it is alive. */
  "unclean.leader.election.enable": boolean;
  /** Every topic config (CONFIG_KEYS), effective value as a string. */
  readonly values: Readonly<Record<string, string>>;
}

/** The configs the broker acts on (typed in TopicConfigs). */
export type TopicConfigKey = Exclude<keyof TopicConfigs, "values">;

type ConfigType = "int" | "long" | "double" | "boolean" | "string" | "list";
type Check = (value: string) => { ok: string } | { error: string };

interface ConfigDef {
  type: ConfigType;
  default: string;
  /** Normalized string value, or why it is invalid. */
  check: Check;
  /** Whether this broker acts on it. */
  applied: boolean;
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const LONG_MAX = String(INT64_MAX);

function integer(type: "int" | "long", min: bigint | null, max: bigint | null = null, also: bigint[] = []): Check {
  const [lo, hi] = type === "int" ? [INT32_MIN, INT32_MAX] : [INT64_MIN, INT64_MAX];
  return (value) => {
    const t = value.trim();
    if (!/^[+-]?\d+$/.test(t)) return { error: `Expected value to be a ${type === "int" ? "32-bit" : "64-bit"} integer, but it was a string` };
    const n = BigInt(t);
    if (n < lo || n > hi) return { error: `Not a number of type ${type.toUpperCase()}` };
    if (also.includes(n)) return { ok: String(n) };
    if (min !== null && n < min) return { error: max === null ? `Value must be at least ${min}` : `Value must be between ${min} and ${max}` };
    if (max !== null && n > max) return { error: min === null ? `Value must be no more than ${max}` : `Value must be between ${min} and ${max}` };
    return { ok: String(n) };
  };
}

function double(min: number, max: number): Check {
  return (value) => {
    const t = value.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[dDfF]?$/.test(t)) return { error: "Expected value to be a double, but it was a string" };
    const n = Number(t.replace(/[dDfF]$/, ""));
    if (n < min || n > max) return { error: `Value must be between ${min} and ${max}` };
    return { ok: String(n) };
  };
}

const boolean: Check = (value) => {
  const t = value.trim().toLowerCase();
  return t === "true" || t === "false" ? { ok: t } : { error: "Expected value to be either true or false" };
};

function oneOf(...allowed: string[]): Check {
  return (value) => {
    const t = value.trim();
    return allowed.includes(t) ? { ok: t } : { error: `String must be one of: ${allowed.join(", ")}` };
  };
}

/** A LIST value's items (ConfigDef: trimmed, split at commas with the spaces around them). */
function listItems(value: string): string[] {
  const t = value.trim();
  return t === "" ? [] : t.split(/\s*,\s*/);
}

const cleanupPolicy: Check = (value) => {
  const items = listItems(value);
  if (items.length === 0) return { error: "must name delete, compact, or both (an empty policy, which Kafka accepts, keeps records forever, and retention here would still delete)" };
  if (items.some((p) => p !== "delete" && p !== "compact")) return { error: "Invalid value: every item must be one of [compact, delete]" };
  return { ok: [...new Set(items)].sort().join(",") };
};

/** Kafka's ThrottledReplicaListValidator: the literal * or items partition:broker (empty items pass). */
const throttledReplicas: Check = (value) => {
  const items = listItems(value);
  if (items.every((i) => /^(\d+:\d+)?$/.test(i)) || items.join("").trim() === "*") return { ok: items.join(",") };
  return { error: "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..." };
};

/** message.format.version: a Kafka version as MetadataVersion spells it, up to 3.8 (ignored since 3.0). */
const metadataVersion: Check = (value) => {
  const t = value.trim();
  const m = /^(0\.(8|9|10|11)(\.\d+){0,2}|[123]\.\d+(\.\d+)?)(-IV\d+)?$/.exec(t);
  if (m === null) return { error: `${t} is not a valid version` };
  const [major, minor] = t.split(/[.-]/).map(Number) as [number, number];
  if (major === 3 && minor > 8) return { error: `${t} is not a valid version` };
  return { ok: t };
};

const def = (type: ConfigType, dflt: string, check: Check, applied = false): ConfigDef => ({ type, default: dflt, check, applied });

export const CONFIG_DEFS: Readonly<Record<string, ConfigDef>> = {
  // The seven the broker acts on first, in the order the control plane has always shown them.
  "retention.ms": def("long", "604800000", integer("long", -1n), true),
  "retention.bytes": def("long", "-1", integer("long", null), true),
  "segment.bytes": def("int", "1073741824", integer("int", 14n), true),
  "segment.ms": def("long", "604800000", integer("long", 1n), true),
  "cleanup.policy": def("list", "delete", cleanupPolicy, true),
  "max.message.bytes": def("int", String(MESSAGE_BYTES_MAX_DEFAULT), integer("int", 0n), true),
  "message.timestamp.type": def("string", "CreateTime", oneOf("CreateTime", "LogAppendTime"), true),
  "compression.gzip.level": def("int", "-1", integer("int", 1n, 9n, [-1n])),
  "compression.lz4.level": def("int", "9", integer("int", 1n, 17n)),
  "compression.type": def("string", "producer", oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"), true),
  "compression.zstd.level": def("int", "3", integer("int", -131072n, 22n)),
  "delete.retention.ms": def("long", "86400000", integer("long", 0n), true),
  "file.delete.delay.ms": def("long", "60000", integer("long", 0n)),
  "flush.messages": def("long", LONG_MAX, integer("long", 1n)),
  "flush.ms": def("long", LONG_MAX, integer("long", 0n)),
  "follower.replication.throttled.replicas": def("list", "", throttledReplicas),
  "index.interval.bytes": def("int", "4096", integer("int", 0n)),
  "leader.replication.throttled.replicas": def("list", "", throttledReplicas),
  "local.retention.bytes": def("long", "-2", integer("long", -2n)),
  "local.retention.ms": def("long", "-2", integer("long", -2n)),
  "max.compaction.lag.ms": def("long", LONG_MAX, integer("long", 1n), true),
  "message.downconversion.enable": def("boolean", "true", boolean, true),
  "message.format.version": def("string", "3.0-IV1", metadataVersion),
  "message.timestamp.after.max.ms": def("long", LONG_MAX, integer("long", 0n)),
  "message.timestamp.before.max.ms": def("long", LONG_MAX, integer("long", 0n)),
  "message.timestamp.difference.max.ms": def("long", LONG_MAX, integer("long", 0n)),
  "min.cleanable.dirty.ratio": def("double", "0.5", double(0, 1), true),
  "min.compaction.lag.ms": def("long", "0", integer("long", 0n), true),
  "min.insync.replicas": def("int", "1", integer("int", 1n), true),
  preallocate: def("boolean", "false", boolean),
  "remote.storage.enable": def("boolean", "false", boolean),
  "segment.index.bytes": def("int", "10485760", integer("int", 4n)),
  "segment.jitter.ms": def("long", "0", integer("long", 0n)),
  "unclean.leader.election.enable": def("boolean", "false", boolean, true),
};

/** Every topic config: the seven the broker acts on, then the others in name order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(CONFIG_DEFS);

export function isConfigKey(key: string): boolean {
  return Object.hasOwn(CONFIG_DEFS, key);
}

/** Configs whose value is a comma-separated list (Kafka's ConfigDef.Type.LIST): the only ones
 * IncrementalAlterConfigs may APPEND to or SUBTRACT from. */
export function isListConfig(key: string): boolean {
  return CONFIG_DEFS[key]?.type === "list";
}

/** Whether this broker acts on the config (false: valid in Kafka, accepted, no effect here). */
export function isAppliedConfig(key: string): boolean {
  return CONFIG_DEFS[key]?.applied ?? false;
}

/** Validates string configs; returns them normalized. Throws INVALID_CONFIG. */
export function validateConfigs(configs: Record<string, string>, topic?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    const d = CONFIG_DEFS[key];
    if (d === undefined || !Object.hasOwn(CONFIG_DEFS, key)) throw new CoreError("INVALID_CONFIG", `Unknown topic config name: ${key}`, { topic });
    if (typeof value !== "string") throw new CoreError("INVALID_CONFIG", `config ${key}: value must be a string`, { topic });
    const r = d.check(value);
    if ("error" in r) throw new CoreError("INVALID_CONFIG", `Invalid value ${value} for configuration ${key}: ${r.error}`, { topic });
    out[key] = r.ok;
  }
  return out;
}

/**
 * Effective configs: Kafka's defaults, then broker defaults, then the topic's overrides. Checks
 * what spans keys (Kafka's LogConfig.validateValues): min.compaction.lag.ms ≤ max.compaction.lag.ms.
 */
export function effectiveConfigs(brokerDefaults: Record<string, string>, overrides: Record<string, string>, topic?: string): TopicConfigs {
  const values: Record<string, string> = {};
  for (const key of CONFIG_KEYS) values[key] = overrides[key] ?? brokerDefaults[key] ?? CONFIG_DEFS[key]!.default;
  if (BigInt(values["min.compaction.lag.ms"]!) > BigInt(values["max.compaction.lag.ms"]!)) {
    throw new CoreError(
      "INVALID_CONFIG",
      `conflict topic config setting min.compaction.lag.ms (${values["min.compaction.lag.ms"]}) > max.compaction.lag.ms (${values["max.compaction.lag.ms"]})`,
      { topic },
    );
  }
  return {
    "retention.ms": Number(values["retention.ms"]),
    "retention.bytes": Number(values["retention.bytes"]),
    "segment.bytes": Number(values["segment.bytes"]),
    "segment.ms": Number(values["segment.ms"]),
    "cleanup.policy": values["cleanup.policy"]!,
    "max.message.bytes": Number(values["max.message.bytes"]),
    "message.timestamp.type": values["message.timestamp.type"] as TopicConfigs["message.timestamp.type"],
    "min.insync.replicas": Number(values["min.insync.replicas"]),
    "unclean.leader.election.enable": values["unclean.leader.election.enable"] === "true",
    values,
  };
}

/** Every effective config as strings (DescribeConfigs, the control plane), in CONFIG_KEYS order. */
export function configStrings(configs: TopicConfigs): Record<string, string> {
  return { ...configs.values };
}

export function logConfigOf(configs: TopicConfigs): LogConfig {
  return {
    segmentBytes: configs["segment.bytes"],
    // Kafka's LogConfig.maxSegmentMs: a compacted topic rolls at least every max.compaction.lag.ms,
    // so that no record waits in the active segment (never cleaned) past it.
    segmentMs: configs["cleanup.policy"].includes("compact") ? Math.min(configs["segment.ms"], longMs(configs.values["max.compaction.lag.ms"]!)) : configs["segment.ms"],
    retentionMs: configs["retention.ms"],
    retentionBytes: configs["retention.bytes"],
    timestampType: configs["message.timestamp.type"],
    deleteEnabled: configs["cleanup.policy"].split(",").includes("delete"),
    compact: configs["cleanup.policy"].split(",").includes("compact"),
    deleteRetentionMs: longMs(configs.values["delete.retention.ms"]!),
    minCleanableDirtyRatio: Number(configs.values["min.cleanable.dirty.ratio"]),
    minCompactionLagMs: longMs(configs.values["min.compaction.lag.ms"]!),
    maxCompactionLagMs: longMs(configs.values["max.compaction.lag.ms"]!),
  };
}

/** A LONG of milliseconds as a number: Kafka's Long.MAX_VALUE ("never") and anything past 2^53 as MAX_SAFE_INTEGER. */
function longMs(value: string): number {
  const n = BigInt(value);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}
