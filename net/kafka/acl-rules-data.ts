// Authorization rules of the topic APIs (net/kafka/acl-gate.ts runs them): what each needs, as
// Kafka 3.8's KafkaApis asks it, and what a refused part answers.
//
// | API (key)                   | needs                                                 | refused part answers           |
// |-----------------------------|-------------------------------------------------------|--------------------------------|
// | Produce (0)                 | WRITE on TRANSACTIONAL_ID (when transactional), WRITE | TRANSACTIONAL_ID_/TOPIC_AUTH-  |
// |                             | on each topic                                         | ORIZATION_FAILED; acks=0: close|
// | Fetch (1)                   | a consumer: READ on each topic; a follower            | TOPIC_/CLUSTER_AUTHORIZATION_  |
// |                             | (replica id ≥ 0): CLUSTER_ACTION on the cluster       | FAILED per partition           |
// | ListOffsets (2)             | DESCRIBE on each topic                                | TOPIC_AUTHORIZATION_FAILED     |
// | Metadata (3)                | DESCRIBE on each topic: all topics → only those; named| TOPIC_AUTHORIZATION_FAILED     |
// |                             | → the others refused; auto-create also needs CREATE   |                                |
// |                             | on the cluster or the topic                           |                                |
// | CreateTopics (19)           | CREATE on the cluster or the topic; configs shown     | TOPIC_AUTHORIZATION_FAILED     |
// |                             | only with DESCRIBE_CONFIGS on it (KIP-525)            |                                |
// | DeleteTopics (20)           | DELETE on each topic                                  | TOPIC_AUTHORIZATION_FAILED     |
// | DeleteRecords (21)          | DELETE on each topic                                  | TOPIC_AUTHORIZATION_FAILED     |
// | InitProducerId (22)         | WRITE on the TRANSACTIONAL_ID, or (idempotent) IDEM-  | TRANSACTIONAL_ID_/CLUSTER_     |
// |                             | POTENT_WRITE on the cluster or WRITE on any topic     | AUTHORIZATION_FAILED           |
// | OffsetForLeaderEpoch (23)   | DESCRIBE on each topic; a follower: CLUSTER_ACTION    | TOPIC_/CLUSTER_AUTH… per part. |
// | CreatePartitions (37)       | ALTER on each topic                                   | TOPIC_AUTHORIZATION_FAILED     |
// | DescribeProducers (61)      | READ on each topic                                    | TOPIC_AUTHORIZATION_FAILED     |
// | DescribeTopicPartitions (75)| DESCRIBE on each topic (all topics → only those)      | TOPIC_AUTHORIZATION_FAILED     |
//
// A topic named by ID whose ID is unknown is left to the handler (UNKNOWN_TOPIC_ID): there is no
// name to decide on, and saying so discloses nothing.
import { CLUSTER_NAME } from "../../core/broker/auth.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
  type FetchRequest,
  type FetchResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type MetadataRequest,
  type MetadataResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  type ProduceRequest,
  type ProduceResponse,
  defaultCreateTopicsResponseCreatableTopicResult,
  defaultDescribeTopicPartitionsResponse,
  defaultDescribeTopicPartitionsResponseTopic,
  defaultFetchResponse,
  defaultFetchResponsePartitionData,
  defaultInitProducerIdResponse,
  defaultListOffsetsResponseListOffsetsPartitionResponse,
  defaultMetadataResponseTopic,
  defaultProduceResponsePartitionProduceResponse,
} from "../protocol/messages/index.ts";
import { type Asker, type Outcome, partly, type Rule, split, type Verdict } from "./acl-rule.ts";
import { CLOSE_CONNECTION, NO_RESPONSE } from "./handler.ts";

const TOPIC_DENIED: number = ErrorCode.TOPIC_AUTHORIZATION_FAILED;

/** A topic's name when the request names it by ID (v13+ Fetch, v6+ DeleteTopics, v12 Metadata); null when the ID is unknown. */
function nameOf(a: Asker, name: string | null, topicId: Uint8Array | undefined, byId: boolean): string | null {
  if (!byId && name !== null) return name;
  return topicId === undefined ? name : (a.ctx.broker.topicById(topicId)?.name ?? null);
}

/** Allowed unless named (or found by ID) and refused. */
function topicAllowed(a: Asker, op: "READ" | "WRITE" | "DESCRIBE" | "DELETE" | "ALTER", name: string | null): boolean {
  return name === null || a.can(op, "TOPIC", name);
}

const produce: Rule<ProduceRequest, ProduceResponse> = (req, a) => {
  const refusedPartitions = (t: ProduceRequest["topicData"][number], code: number) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => ({ ...defaultProduceResponsePartitionProduceResponse(), index: p.index, errorCode: code, baseOffset: -1n })),
  });
  const answerAll = (topics: ProduceRequest["topicData"], code: number): Outcome<ProduceResponse> =>
    // acks=0 gets no answer: Kafka closes the connection when anything failed.
    req.acks === 0 ? CLOSE_CONNECTION : { responses: topics.map((t) => refusedPartitions(t, code)), throttleTimeMs: 0, nodeEndpoints: [] };
  if (req.transactionalId !== null && !a.can("WRITE", "TRANSACTIONAL_ID", req.transactionalId)) {
    return { answer: answerAll(req.topicData, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) };
  }
  const [allowed, refused] = split(req.topicData, (t) => a.can("WRITE", "TOPIC", t.name));
  if (refused.length === 0) return null;
  if (allowed.length === 0) return { answer: answerAll(refused, TOPIC_DENIED) };
  return {
    req: { ...req, topicData: allowed },
    after: (res) => {
      if (res === NO_RESPONSE || res === CLOSE_CONNECTION) return CLOSE_CONNECTION;
      res.responses.push(...refused.map((t) => refusedPartitions(t, TOPIC_DENIED)));
      return res;
    },
  };
};

const fetch: Rule<FetchRequest, FetchResponse> = (req, a) => {
  const v = a.ctx.apiVersion;
  const replicaId = v <= 14 ? req.replicaId : req.replicaState.replicaId;
  const refusedTopic = (t: FetchRequest["topics"][number], code: number) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p) => ({ ...defaultFetchResponsePartitionData(), partitionIndex: p.partition, errorCode: code, highWatermark: -1n })),
  });
  if (replicaId >= 0) {
    if (a.can("CLUSTER_ACTION", "CLUSTER", CLUSTER_NAME)) return null;
    return { answer: { ...defaultFetchResponse(), responses: req.topics.map((t) => refusedTopic(t, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)) } };
  }
  return partly<FetchRequest, FetchResponse, FetchRequest["topics"][number]>(
    req.topics,
    (t) => topicAllowed(a, "READ", nameOf(a, t.topic, t.topicId, v >= 13)),
    (topics) => ({ ...req, topics }),
    (refused) => ({ ...defaultFetchResponse(), responses: refused.map((t) => refusedTopic(t, TOPIC_DENIED)) }),
    (res, refused) => ({ ...res, responses: [...res.responses, ...refused.map((t) => refusedTopic(t, TOPIC_DENIED))] }),
  );
};

const listOffsets: Rule<ListOffsetsRequest, ListOffsetsResponse> = (req, a) => {
  const refusedTopic = (t: ListOffsetsRequest["topics"][number]) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ ...defaultListOffsetsResponseListOffsetsPartitionResponse(), partitionIndex: p.partitionIndex, errorCode: TOPIC_DENIED })),
  });
  return partly<ListOffsetsRequest, ListOffsetsResponse, ListOffsetsRequest["topics"][number]>(
    req.topics,
    (t) => a.can("DESCRIBE", "TOPIC", t.name),
    (topics) => ({ ...req, topics }),
    (refused) => ({ throttleTimeMs: 0, topics: refused.map(refusedTopic) }),
    (res, refused) => ({ ...res, topics: [...res.topics, ...refused.map(refusedTopic)] }),
  );
};

const metadata: Rule<MetadataRequest, MetadataResponse> = (req, a) => {
  const v = a.ctx.apiVersion;
  const broker = a.ctx.broker;
  const describable = (t: { name: string | null }) => t.name === null || a.can("DESCRIBE", "TOPIC", t.name);
  const wantsAll = req.topics === null || (v === 0 && req.topics.length === 0);
  // Every topic: only the describable ones, and nothing said of the others.
  if (wantsAll) return { req, after: (res) => (typeof res === "symbol" ? res : { ...res, topics: res.topics.filter(describable) }) };
  const topics = req.topics ?? [];
  if (v < 12 && topics.some((t) => t.name === null)) return null; // the handler's INVALID_REQUEST
  const creates = (v < 4 || req.allowAutoTopicCreation) && broker.config.autoCreateTopics;
  const mayCreate = (name: string) => a.can("CREATE", "CLUSTER", CLUSTER_NAME) || a.can("CREATE", "TOPIC", name);
  const refused: Array<{ name: string | null; topicId: Uint8Array }> = [];
  const allowed = topics.filter((t) => {
    const name = nameOf(a, t.name, t.topicId, t.name === null);
    const ok = name === null || (a.can("DESCRIBE", "TOPIC", name) && (!creates || broker.topic(name) !== undefined || mayCreate(name)));
    if (!ok) refused.push({ name: t.name, topicId: t.topicId });
    return ok;
  });
  if (refused.length === 0) return null;
  const refusedTopics = () => refused.map((t) => ({ ...defaultMetadataResponseTopic(), errorCode: TOPIC_DENIED, name: t.name, topicId: t.topicId }));
  // v0 cannot ask for no topic (empty is every topic): ask for all and keep none of them.
  const none = v === 0 && allowed.length === 0;
  return {
    req: { ...req, topics: allowed },
    after: (res) => (typeof res === "symbol" ? res : { ...res, topics: [...(none ? [] : res.topics), ...refusedTopics()] }),
  };
};

const createTopics: Rule<CreateTopicsRequest, CreateTopicsResponse> = (req, a) => {
  const clusterCreate = a.can("CREATE", "CLUSTER", CLUSTER_NAME);
  const [allowed, refused] = split(req.topics, (t) => clusterCreate || a.can("CREATE", "TOPIC", t.name));
  const hidden = allowed.filter((t) => !a.can("DESCRIBE_CONFIGS", "TOPIC", t.name)).map((t) => t.name);
  if (refused.length === 0 && hidden.length === 0) return null;
  const refusedResults = () =>
    refused.map((t) => ({ ...defaultCreateTopicsResponseCreatableTopicResult(), name: t.name, errorCode: TOPIC_DENIED, errorMessage: "Authorization failed." }));
  if (allowed.length === 0) return { answer: { throttleTimeMs: 0, topics: refusedResults() } };
  return {
    req: { ...req, topics: allowed },
    after: (res) => {
      if (typeof res === "symbol") return res;
      // KIP-525: a created topic's configs only for who may describe them.
      for (const t of res.topics) if (hidden.includes(t.name) && t.errorCode === 0) Object.assign(t, { configs: null, topicConfigErrorCode: TOPIC_DENIED });
      return { ...res, topics: [...res.topics, ...refusedResults()] };
    },
  };
};

const deleteTopics: Rule<DeleteTopicsRequest, DeleteTopicsResponse> = (req, a) => {
  const refusedResult = (name: string | null, topicId: Uint8Array) => ({ name, topicId, errorCode: TOPIC_DENIED, errorMessage: null });
  if (a.ctx.apiVersion < 6) {
    return partly<DeleteTopicsRequest, DeleteTopicsResponse, DeleteTopicsRequest["topicNames"][number]>(
      req.topicNames,
      (name) => a.can("DELETE", "TOPIC", name),
      (topicNames) => ({ ...req, topicNames }),
      (refused) => ({ throttleTimeMs: 0, responses: refused.map((n) => refusedResult(n, new Uint8Array(16))) }),
      (res, refused) => ({ ...res, responses: [...res.responses, ...refused.map((n) => refusedResult(n, new Uint8Array(16)))] }),
    );
  }
  return partly<DeleteTopicsRequest, DeleteTopicsResponse, DeleteTopicsRequest["topics"][number]>(
    req.topics,
    (t) => topicAllowed(a, "DELETE", nameOf(a, t.name, t.topicId, t.name === null)),
    (topics) => ({ ...req, topics }),
    (refused) => ({ throttleTimeMs: 0, responses: refused.map((t) => refusedResult(t.name, t.topicId)) }),
    (res, refused) => ({ ...res, responses: [...res.responses, ...refused.map((t) => refusedResult(t.name, t.topicId))] }),
  );
};

const deleteRecords: Rule<DeleteRecordsRequest, DeleteRecordsResponse> = (req, a) => {
  const refusedTopic = (t: DeleteRecordsRequest["topics"][number]) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: TOPIC_DENIED })),
  });
  return partly<DeleteRecordsRequest, DeleteRecordsResponse, DeleteRecordsRequest["topics"][number]>(
    req.topics,
    (t) => a.can("DELETE", "TOPIC", t.name),
    (topics) => ({ ...req, topics }),
    (refused) => ({ throttleTimeMs: 0, topics: refused.map(refusedTopic) }),
    (res, refused) => ({ ...res, topics: [...res.topics, ...refused.map(refusedTopic)] }),
  );
};

const initProducerId: Rule<InitProducerIdRequest, InitProducerIdResponse> = (req, a) => {
  if (req.transactionalId !== null) {
    if (a.can("WRITE", "TRANSACTIONAL_ID", req.transactionalId)) return null;
    return { answer: { ...defaultInitProducerIdResponse(), errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED } };
  }
  if (a.can("IDEMPOTENT_WRITE", "CLUSTER", CLUSTER_NAME) || a.canAny("WRITE", "TOPIC")) return null;
  return { answer: { ...defaultInitProducerIdResponse(), errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED } };
};

const offsetForLeaderEpoch: Rule<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = (req, a) => {
  const refusedTopic = (t: OffsetForLeaderEpochRequest["topics"][number], code: number) => ({
    topic: t.topic,
    partitions: t.partitions.map((p) => ({ errorCode: code, partition: p.partition, leaderEpoch: -1, endOffset: -1n })),
  });
  if (a.ctx.apiVersion >= 3 && req.replicaId >= 0) {
    if (a.can("CLUSTER_ACTION", "CLUSTER", CLUSTER_NAME)) return null;
    return { answer: { throttleTimeMs: 0, topics: req.topics.map((t) => refusedTopic(t, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)) } };
  }
  return partly<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetForLeaderEpochRequest["topics"][number]>(
    req.topics,
    (t) => a.can("DESCRIBE", "TOPIC", t.topic),
    (topics) => ({ ...req, topics }),
    (refused) => ({ throttleTimeMs: 0, topics: refused.map((t) => refusedTopic(t, TOPIC_DENIED)) }),
    (res, refused) => ({ ...res, topics: [...res.topics, ...refused.map((t) => refusedTopic(t, TOPIC_DENIED))] }),
  );
};

const createPartitions: Rule<CreatePartitionsRequest, CreatePartitionsResponse> = (req, a) => {
  const refusedResult = (t: CreatePartitionsRequest["topics"][number]) => ({ name: t.name, errorCode: TOPIC_DENIED, errorMessage: "Authorization failed." });
  return partly<CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsRequest["topics"][number]>(
    req.topics,
    (t) => a.can("ALTER", "TOPIC", t.name),
    (topics) => ({ ...req, topics }),
    (refused) => ({ throttleTimeMs: 0, results: refused.map(refusedResult) }),
    (res, refused) => ({ ...res, results: [...res.results, ...refused.map(refusedResult)] }),
  );
};

const describeProducers: Rule<DescribeProducersRequest, DescribeProducersResponse> = (req, a) => {
  const refusedTopic = (t: DescribeProducersRequest["topics"][number]) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: TOPIC_DENIED, errorMessage: null, activeProducers: [] })),
  });
  return partly<DescribeProducersRequest, DescribeProducersResponse, DescribeProducersRequest["topics"][number]>(
    req.topics,
    (t) => a.can("READ", "TOPIC", t.name),
    (topics) => ({ ...req, topics }),
    (refused) => ({ throttleTimeMs: 0, topics: refused.map(refusedTopic) }),
    (res, refused) => ({ ...res, topics: [...res.topics, ...refused.map(refusedTopic)] }),
  );
};

const describeTopicPartitions: Rule<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> = (req, a): Verdict<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> => {
  const describable = (name: string | null) => name === null || a.can("DESCRIBE", "TOPIC", name);
  if (req.topics.length === 0) return { req, after: (res) => (typeof res === "symbol" ? res : { ...res, topics: res.topics.filter((t) => describable(t.name)) }) };
  const refusedTopic = (t: DescribeTopicPartitionsRequest["topics"][number]) => ({ ...defaultDescribeTopicPartitionsResponseTopic(), errorCode: TOPIC_DENIED, name: t.name });
  return partly<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, DescribeTopicPartitionsRequest["topics"][number]>(
    req.topics,
    (t) => describable(t.name),
    (topics) => ({ ...req, topics }),
    (refused) => ({ ...defaultDescribeTopicPartitionsResponse(), topics: refused.map(refusedTopic) }),
    (res, refused) => ({ ...res, topics: [...res.topics, ...refused.map(refusedTopic)] }),
  );
};

export const DATA_RULES: ReadonlyArray<[number, Rule]> = [
  [0, produce],
  [1, fetch],
  [2, listOffsets],
  [3, metadata],
  [19, createTopics],
  [20, deleteTopics],
  [21, deleteRecords],
  [22, initProducerId],
  [23, offsetForLeaderEpoch],
  [37, createPartitions],
  [61, describeProducers],
  [75, describeTopicPartitions],
];
