// CreatePartitions (key 37), v0-3 (v1 same as v0, v2 flexible, v3 same as v2). Grows topics: the
// core adds the partition logs and rewrites topic.json atomically; partitions never shrink.
// Per topic, as Kafka's admin managers answer:
// - unknown topic → UNKNOWN_TOPIC_OR_PARTITION (3); a topic named twice → INVALID_REQUEST (42);
// - count not above the current one, or above the broker's limit → INVALID_PARTITIONS (37);
// - assignments, when given, one per new partition, each naming this broker alone (one node, one
//   replica), else INVALID_REPLICA_ASSIGNMENT (39);
// - validate_only: every check, no change.
import { CoreError } from "../../../core/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  CreatePartitions,
  type CreatePartitionsRequest,
  type CreatePartitionsRequestCreatePartitionsTopic,
  type CreatePartitionsResponse,
  type CreatePartitionsResponseCreatePartitionsTopicResult,
  defaultCreatePartitionsResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

type Result = CreatePartitionsResponseCreatePartitionsTopicResult;

export const createPartitionsHandler = defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  api: CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(req, ctx) {
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results: Result[] = [];
    for (const t of req.topics) {
      if (counts.get(t.name)! > 1) results.push(result(t.name, ErrorCode.INVALID_REQUEST, "Duplicate topic in request."));
      else results.push(await grow(t, req.validateOnly, ctx));
    }
    return { ...defaultCreatePartitionsResponse(), throttleTimeMs: 0, results };
  },
});

function result(name: string, errorCode: number, errorMessage: string | null): Result {
  return { name, errorCode, errorMessage };
}

async function grow(t: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean, ctx: RequestContext): Promise<Result> {
  const { broker } = ctx;
  try {
    const current = broker.requireTopic(t.name).partitions.length;
    if (t.assignments !== null) {
      const problem = assignmentProblem(t.assignments, t.count - current, broker.nodeId);
      if (problem !== null) return result(t.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
    }
    await broker.createPartitions(t.name, t.count, { validateOnly, via: `CreatePartitions from ${ctx.clientId ?? "a client"}` });
    return result(t.name, 0, null);
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    return result(t.name, kafkaErrorCode(err), errorMessage(err));
  }
}

/** Why manual assignments for `added` new partitions do not fit a one-broker cluster, or null. */
function assignmentProblem(assignments: Array<{ brokerIds: number[] }>, added: number, nodeId: number): string | null {
  if (added > 0 && assignments.length !== added) return `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`;
  const unknown = [...new Set(assignments.flatMap((a) => a.brokerIds).filter((id) => id !== nodeId))];
  if (unknown.length > 0) return `Unknown broker(s) in replica assignment: ${unknown.join(", ")}.`;
  if (assignments.some((a) => a.brokerIds.length !== 1)) return "Inconsistent replication factor: the topic has one replica per partition, on this broker.";
  return null;
}
