// Topic configs: the keys we accept, Kafka's defaults (LogConfig.java, ServerLogConfigs.java) and
// validation. Values travel as strings (the Kafka wire form and topic.json); effective configs
// are typed. An unknown key or a bad value is INVALID_CONFIG naming the key and the rule.
//
// | key                    | default     | valid                                     |
// |------------------------|-------------|-------------------------------------------|
// | retention.ms           | 604800000   | integer ≥ -1 (-1: keep forever)           |
// | retention.bytes        | -1          | integer ≥ -1 (-1: no limit)               |
// | segment.bytes          | 1073741824  | integer 14 … 2147483647                   |
// | segment.ms             | 604800000   | integer ≥ 1                               |
// | cleanup.policy         | delete      | delete, compact, or both comma-separated  |
// | max.message.bytes      | 1048588     | integer 0 … 2147483647                    |
// | message.timestamp.type | CreateTime  | CreateTime or LogAppendTime               |
// | min.insync.replicas    | 1           | integer ≥ 1 (cluster mode: acks=all needs |
// |                        |             |   this many in-sync replicas)             |
// | unclean.leader.election.enable | false | true or false (cluster mode: a replica |
// |                        |             |   outside the ISR may become leader)      |
import { CoreError } from "../errors.ts";
import { MESSAGE_BYTES_MAX_DEFAULT } from "../limits.ts";
import type { LogConfig } from "../log/types.ts";

export interface TopicConfigs {
  "retention.ms": number;
  "retention.bytes": number;
  "segment.bytes": number;
  "segment.ms": number;
  "cleanup.policy": string;
  "max.message.bytes": number;
  "message.timestamp.type": "CreateTime" | "LogAppendTime";
  "min.insync.replicas": number;
  "unclean.leader.election.enable": boolean;
}

export type TopicConfigKey = keyof TopicConfigs;

const INT32_MAX = 2147483647;

interface ConfigDef {
  default: string;
  /** Normalized string value, or an error message. */
  check(value: string): { ok: string } | { error: string };
}

function integer(min: number, max: number, rule: string): ConfigDef["check"] {
  return (value) => {
    const t = value.trim();
    if (!/^-?\d+$/.test(t)) return { error: `must be an integer (${rule})` };
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < min || n > max) return { error: `must be ${rule}` };
    return { ok: String(n) };
  };
}

export const CONFIG_DEFS: Record<TopicConfigKey, ConfigDef> = {
  "retention.ms": { default: "604800000", check: integer(-1, Number.MAX_SAFE_INTEGER, "≥ -1") },
  "retention.bytes": { default: "-1", check: integer(-1, Number.MAX_SAFE_INTEGER, "≥ -1") },
  "segment.bytes": { default: "1073741824", check: integer(14, INT32_MAX, `between 14 and ${INT32_MAX}`) },
  "segment.ms": { default: "604800000", check: integer(1, Number.MAX_SAFE_INTEGER, "≥ 1") },
  "cleanup.policy": {
    default: "delete",
    check: (value) => {
      const parts = value.split(",").map((p) => p.trim());
      if (parts.length === 0 || parts.some((p) => p !== "delete" && p !== "compact")) {
        return { error: "must be delete, compact, or compact,delete" };
      }
      return { ok: [...new Set(parts)].sort().join(",") };
    },
  },
  "max.message.bytes": { default: String(MESSAGE_BYTES_MAX_DEFAULT), check: integer(0, INT32_MAX, `between 0 and ${INT32_MAX}`) },
  "message.timestamp.type": {
    default: "CreateTime",
    check: (value) => (value === "CreateTime" || value === "LogAppendTime" ? { ok: value } : { error: "must be CreateTime or LogAppendTime" }),
  },
  "min.insync.replicas": { default: "1", check: integer(1, INT32_MAX, "≥ 1") },
  "unclean.leader.election.enable": {
    default: "false",
    check: (value) => (value === "true" || value === "false" ? { ok: value } : { error: "must be true or false" }),
  },
};

export const CONFIG_KEYS = Object.keys(CONFIG_DEFS) as TopicConfigKey[];

export function isConfigKey(key: string): key is TopicConfigKey {
  return Object.hasOwn(CONFIG_DEFS, key);
}

/** Validates string configs; returns them normalized. Throws INVALID_CONFIG. */
export function validateConfigs(configs: Record<string, string>, topic?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    if (!isConfigKey(key)) {
      throw new CoreError("INVALID_CONFIG", `unknown topic config '${key}' (known: ${CONFIG_KEYS.join(", ")})`, { topic });
    }
    if (typeof value !== "string") throw new CoreError("INVALID_CONFIG", `config ${key}: value must be a string`, { topic });
    const r = CONFIG_DEFS[key].check(value);
    if ("error" in r) throw new CoreError("INVALID_CONFIG", `config ${key}=${JSON.stringify(value)}: ${r.error}`, { topic });
    out[key] = r.ok;
  }
  return out;
}

/** Effective configs: Kafka's defaults, then broker defaults, then the topic's overrides. */
export function effectiveConfigs(brokerDefaults: Record<string, string>, overrides: Record<string, string>): TopicConfigs {
  const pick = (key: TopicConfigKey): string => overrides[key] ?? brokerDefaults[key] ?? CONFIG_DEFS[key].default;
  return {
    "retention.ms": Number(pick("retention.ms")),
    "retention.bytes": Number(pick("retention.bytes")),
    "segment.bytes": Number(pick("segment.bytes")),
    "segment.ms": Number(pick("segment.ms")),
    "cleanup.policy": pick("cleanup.policy"),
    "max.message.bytes": Number(pick("max.message.bytes")),
    "message.timestamp.type": pick("message.timestamp.type") as TopicConfigs["message.timestamp.type"],
    "min.insync.replicas": Number(pick("min.insync.replicas")),
    "unclean.leader.election.enable": pick("unclean.leader.election.enable") === "true",
  };
}

/** Every effective config as strings (DescribeConfigs, the control plane). */
export function configStrings(configs: TopicConfigs): Record<TopicConfigKey, string> {
  const out = {} as Record<TopicConfigKey, string>;
  for (const key of CONFIG_KEYS) out[key] = String(configs[key]);
  return out;
}

export function logConfigOf(configs: TopicConfigs): LogConfig {
  return {
    segmentBytes: configs["segment.bytes"],
    segmentMs: configs["segment.ms"],
    retentionMs: configs["retention.ms"],
    retentionBytes: configs["retention.bytes"],
    timestampType: configs["message.timestamp.type"],
  };
}
