// Topic names, exactly Kafka's rule (clients/.../common/internals/Topic.java): 1–249 characters
// of [a-zA-Z0-9._-], not "." or "..". Names that differ only by '.' vs '_' collide (metric names
// cannot tell them apart), which Kafka also refuses.
import { CoreError } from "../errors.ts";
import { TOPIC_NAME_LENGTH_MAX } from "../limits.ts";

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Why `name` is not a legal topic name, or null. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "topic name is empty";
  if (name === "." || name === "..") return `topic name cannot be '${name}'`;
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `topic name is ${name.length} characters, more than ${TOPIC_NAME_LENGTH_MAX}`;
  if (!LEGAL.test(name)) return `topic name '${name}' has characters outside [a-zA-Z0-9._-]`;
  return null;
}

export function validateTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new CoreError("INVALID_TOPIC", problem, { topic: name });
}

/** The form under which '.' and '_' collide. */
export function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}
