// Finding a partition by topic name and index, with the CoreError that says why it is missing.
import { CoreError } from "../errors.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { Topic, TopicStore } from "../topics/topic-store.ts";

/**
 * Why `name` finds no topic: STORAGE when it is a topic kept unopened because its topic.json is
 * damaged (core/topics/topic-store.ts), else UNKNOWN_TOPIC.
 */
export function missingTopic(store: TopicStore, name: string): CoreError {
  try {
    store.requireTopic(name);
  } catch (err) {
    if (err instanceof CoreError) return err;
    throw err;
  }
  throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' does not exist`, { topic: name });
}

/** The partition's log, or CoreError UNKNOWN_PARTITION. */
export function partitionOf(topic: Topic, partition: number): PartitionLog {
  const log = topic.partitions[partition];
  if (!log) {
    throw new CoreError("UNKNOWN_PARTITION", `topic '${topic.name}' has partitions 0..${topic.partitions.length - 1}, not ${partition}`, { topic: topic.name });
  }
  return log;
}
