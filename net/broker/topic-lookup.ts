// Finding topics by the ID that Metadata v10+ and Fetch v13+ use instead of names.
import type { Topic, TopicStore } from "../../core/topics/topic-store.ts";

export function topicById(store: TopicStore, id: Uint8Array): Topic | undefined {
  return store.topics().find((t) => sameBytes(t.topicId, id));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
