// DeleteTopics (key 20), v0-6. v0-5 name topics; v6 names them or gives their IDs.
// Unknown name → UNKNOWN_TOPIC_OR_PARTITION (3); unknown ID → UNKNOWN_TOPIC_ID (100). A topic kept
// unopened because its topic.json is damaged can be deleted by name (the operator's way out).
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DeleteTopics,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DeleteTopicsResponseDeletableTopicResult,
  defaultDeleteTopicsResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

type Result = DeleteTopicsResponseDeletableTopicResult;
const NIL_UUID = new Uint8Array(16);

export const deleteTopicsHandler = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  api: DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  async handle(req, ctx) {
    const wanted = ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: NIL_UUID }));
    const responses: Result[] = [];
    for (const w of wanted) responses.push(await deleteOne(w.name, w.topicId, ctx));
    return { ...defaultDeleteTopicsResponse(), throttleTimeMs: 0, responses };
  },
});

async function deleteOne(name: string | null, topicId: Uint8Array, ctx: RequestContext): Promise<Result> {
  const broker = ctx.broker;
  const topic = name !== null ? broker.topic(name) : broker.topicById(topicId);
  // By name, a topic kept unopened because its topic.json is damaged can be deleted too.
  const target = topic?.name ?? (name !== null && broker.store.damagedTopic(name) !== undefined ? name : null);
  if (target === null) {
    const errorCode = name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return { name, topicId, errorCode, errorMessage: null };
  }
  const id = topic?.topicId ?? NIL_UUID;
  try {
    await broker.deleteTopic(target);
    return { name: target, topicId: id, errorCode: 0, errorMessage: null };
  } catch (err) {
    return { name: target, topicId: id, errorCode: kafkaErrorCode(err), errorMessage: errorMessage(err) };
  }
}
