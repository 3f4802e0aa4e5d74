// Altering a topic's configs, whichever door asks (Kafka's AlterConfigs and
// IncrementalAlterConfigs, HTTP's PATCH), as Kafka's ConfigurationControlManager does it:
//
//   replace      (legacy AlterConfigs) the given configs become the topic's whole set of
//                overrides: every override not named goes back to its default
//   incremental  per key: SET a value; DELETE (back to the default); APPEND the comma-separated
//                items not already there, or SUBTRACT them, for list configs only (else
//                INVALID_CONFIG "Can't APPEND to key … because its type is not LIST."), starting
//                from the topic's current value
//
// Every change is validated before any is applied (INVALID_CONFIG naming the key and the rule);
// `validateOnly` checks and changes nothing. The result is durable (topic.json) before it returns.
import { CoreError } from "../errors.ts";
import { configStrings, isListConfig } from "../topics/configs.ts";
import type { Topic, TopicStore } from "../topics/topic-store.ts";

export type ConfigOperation = "set" | "delete" | "append" | "subtract";

export interface ConfigChange {
  name: string;
  op: ConfigOperation;
  /** Ignored for delete. */
  value: string | null;
}

export function replaceTopicConfigs(store: TopicStore, name: string, configs: Record<string, string>, validateOnly: boolean): Promise<Topic> {
  const topic = store.requireTopic(name);
  const changes: Record<string, string | null> = {};
  for (const key of Object.keys(topic.overrides)) changes[key] = null;
  Object.assign(changes, configs);
  return store.alterConfigs(name, changes, { validateOnly });
}

export function alterTopicConfigs(store: TopicStore, name: string, ops: readonly ConfigChange[], validateOnly: boolean): Promise<Topic> {
  const topic = store.requireTopic(name);
  const current = configStrings(topic.configs) as Record<string, string>;
  const changes: Record<string, string | null> = {};
  for (const { name: key, op, value } of ops) {
    if (op === "set") changes[key] = value ?? "";
    else if (op === "delete") changes[key] = null;
    else {
      if (!isListConfig(key)) throw new CoreError("INVALID_CONFIG", `Can't ${op.toUpperCase()} to key ${key} because its type is not LIST.`);
      const before = key in changes ? (changes[key] ?? current[key] ?? "") : (current[key] ?? "");
      const items = before === "" ? [] : before.split(",");
      for (const item of (value ?? "").split(",")) {
        if (op === "append" && !items.includes(item)) items.push(item);
        if (op === "subtract") {
          const at = items.indexOf(item);
          if (at >= 0) items.splice(at, 1);
        }
      }
      changes[key] = items.join(",");
    }
  }
  return store.alterConfigs(name, changes, { validateOnly });
}
