// A topic's effective configs as Kafka's admin APIs describe them: name, value, and where the
// value comes from (ConfigSource: 1 = set on the topic, 5 = the broker's default).
import { configStrings } from "../../core/topics/configs.ts";
import type { Topic } from "../../core/topics/topic-store.ts";

export const CONFIG_SOURCE_TOPIC = 1;
export const CONFIG_SOURCE_DEFAULT = 5;

export interface DescribedConfig {
  name: string;
  value: string;
  source: number;
}

export function describeTopicConfigs(topic: Pick<Topic, "configs" | "overrides">, keys: readonly string[] | null = null): DescribedConfig[] {
  const all = configStrings(topic.configs) as Record<string, string>;
  const names = keys === null ? Object.keys(all) : keys.filter((k) => k in all);
  return names.map((name) => ({
    name,
    value: all[name]!,
    source: Object.hasOwn(topic.overrides, name) ? CONFIG_SOURCE_TOPIC : CONFIG_SOURCE_DEFAULT,
  }));
}
