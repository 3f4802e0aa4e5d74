// `-X key=value`: client settings in the Kafka (librdkafka / Java client) spelling, for users who
// bring them from kcat or a client config. Each key says which commands use it; a key no command
// understands, or one this command does not use, is a usage error (exit 2) naming the keys that
// would work, so a setting is never silently ignored.
//
// | key                 | commands        | meaning                                                        |
// |---------------------|-----------------|----------------------------------------------------------------|
// | bootstrap.servers   | admin           | HOST:PORT[,…]: the same as --broker (which wins when both given) |
// | metadata.broker.list| admin           | librdkafka's name for bootstrap.servers                        |
// | client.id           | admin           | client id in every request header (default streamctl)         |
// | request.timeout.ms  | admin           | how long one admin request (connect included) may take        |
//
// "admin" is topics, groups, top, metadata and offsets. The data commands (produce, consume, tail,
// replay) take their settings as flags today; this table is where their -X keys go when they do.
import { UsageError } from "./io.ts";
import { didYouMean } from "./suggest.ts";

export type SettingScope = "admin";

interface SettingDef {
  scopes: readonly SettingScope[];
  kind: "string" | "positive-int";
  /** Canonical key when this one is an alias. */
  aliasOf?: string;
}

const SETTINGS: Record<string, SettingDef> = {
  "bootstrap.servers": { scopes: ["admin"], kind: "string" },
  "metadata.broker.list": { scopes: ["admin"], kind: "string", aliasOf: "bootstrap.servers" },
  "client.id": { scopes: ["admin"], kind: "string" },
  "request.timeout.ms": { scopes: ["admin"], kind: "positive-int" },
};

export const CLIENT_SETTING_KEYS: readonly string[] = Object.keys(SETTINGS);

export interface ClientSettings {
  bootstrapServers?: string;
  clientId?: string;
  requestTimeoutMs?: number;
}

/** Parses repeated `-X key=value` for a command of `scope`; the last value of a key wins. */
export function parseClientSettings(pairs: readonly string[], scope: SettingScope, command: string): ClientSettings {
  const out: ClientSettings = {};
  const usable = CLIENT_SETTING_KEYS.filter((k) => SETTINGS[k]!.scopes.includes(scope));
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`-X: expected key=value, got "${pair}"`);
    const key = pair.slice(0, at).trim();
    const value = pair.slice(at + 1);
    const def = SETTINGS[key];
    if (def === undefined) throw new UsageError(`-X ${key}: not a client setting streamctl understands${didYouMean(key, CLIENT_SETTING_KEYS)}; ${command} takes ${usable.join(", ")}`);
    if (!def.scopes.includes(scope)) throw new UsageError(`-X ${key}: not used by ${command}; it takes ${usable.join(", ")}`);
    let parsed: string | number = value;
    if (def.kind === "positive-int") {
      if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new UsageError(`-X ${key}: expected a positive integer, got "${value}"`);
      parsed = Number(value);
    } else if (value === "") throw new UsageError(`-X ${key}: empty value`);
    switch (def.aliasOf ?? key) {
      case "bootstrap.servers":
        out.bootstrapServers = parsed as string;
        break;
      case "client.id":
        out.clientId = parsed as string;
        break;
      case "request.timeout.ms":
        out.requestTimeoutMs = parsed as number;
        break;
    }
  }
  return out;
}
