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
import { topicById } from "../topic-lookup.ts";

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
  const store = ctx.broker.store;
  const topic = name !== null ? store.topic(name) : topicById(store, topicId);
  if (!topic && name !== null && store.damagedTopic(name) !== undefined) {
    try {
      await store.deleteTopic(name);
      ctx.broker.log.info(`deleted damaged topic ${name}`);
      return { name, topicId: NIL_UUID, errorCode: 0, errorMessage: null };
    } catch (err) {
      return { name, topicId: NIL_UUID, errorCode: kafkaErrorCode(err), errorMessage: errorMessage(err) };
    }
  }
  if (!topic) {
    const errorCode = name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return { name, topicId, errorCode, errorMessage: null };
  }
  try {
    await store.deleteTopic(topic.name);
    ctx.broker.log.info(`deleted topic ${topic.name}`);
    return { name: topic.name, topicId: topic.topicId, errorCode: 0, errorMessage: null };
  } catch (err) {
    return { name: topic.name, topicId: topic.topicId, errorCode: kafkaErrorCode(err), errorMessage: errorMessage(err) };
  }
}
