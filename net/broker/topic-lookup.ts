// Finding topics by the ID that Metadata v10+ and Fetch v13+ use instead of names, and the error
// for a name that finds no topic.
import type { Topic, TopicStore } from "../../core/topics/topic-store.ts";
import { ErrorCode } from "../protocol/errors.ts";

export function topicById(store: TopicStore, id: Uint8Array): Topic | undefined {
  return store.topics().find((t) => sameBytes(t.topicId, id));
}

/**
 * The error for a topic name that `store.topic` does not find: KAFKA_STORAGE_ERROR when it is a
 * topic kept unopened because its topic.json is damaged (core/topics/topic-store.ts), else
 * UNKNOWN_TOPIC_OR_PARTITION. A damaged topic has no trusted ID: by ID it is unknown.
 */
export function missingTopicCode(store: TopicStore, name: string): number {
  return store.damagedTopic(name) !== undefined ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
