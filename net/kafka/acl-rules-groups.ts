// Authorization rules of the group and transaction APIs (net/kafka/acl-gate.ts runs them), as
// Kafka 3.8's KafkaApis asks them:
//
// | API (key)                 | needs                                                     | refused part answers         |
// |---------------------------|-----------------------------------------------------------|------------------------------|
// | OffsetCommit (8)          | READ on the group, READ on each topic                     | GROUP_/TOPIC_AUTHORIZATION_  |
// |                           |                                                           | FAILED per partition         |
// | OffsetFetch (9)           | DESCRIBE on each group, DESCRIBE on each topic (all of a  | GROUP_/TOPIC_AUTHORIZATION_  |
// |                           | group's topics → only those)                              | FAILED                       |
// | FindCoordinator (10)      | DESCRIBE on the group, or on the TRANSACTIONAL_ID         | GROUP_/TRANSACTIONAL_ID_AUTH…|
// | JoinGroup, Heartbeat,     | READ on the group                                         | GROUP_AUTHORIZATION_FAILED   |
// | LeaveGroup, SyncGroup     |                                                           |                              |
// | (11-14)                   |                                                           |                              |
// | DescribeGroups (15)       | DESCRIBE on each group                                    | GROUP_AUTHORIZATION_FAILED   |
// | ListGroups (16)           | DESCRIBE on the cluster, else only groups it may DESCRIBE | (left out)                   |
// | DeleteGroups (42)         | DELETE on each group                                      | GROUP_AUTHORIZATION_FAILED   |
// | OffsetDelete (47)         | DELETE on the group, READ on each topic                   | GROUP_/TOPIC_AUTHORIZATION_… |
// | ConsumerGroupHeartbeat    | READ on the group; DESCRIBE on every subscribed topic     | GROUP_/TOPIC_AUTHORIZATION_  |
// | (68, KIP-848)             |   (one refused: the whole heartbeat is refused)           | FAILED                       |
// | ConsumerGroupDescribe (69)| DESCRIBE on each group                                    | GROUP_AUTHORIZATION_FAILED   |
// | AddPartitionsToTxn (24)   | v0-3: WRITE on the TRANSACTIONAL_ID and on each topic     | TRANSACTIONAL_ID_/TOPIC_AUTH…|
// |                           | (the others OPERATION_NOT_ATTEMPTED); v4+: CLUSTER_ACTION | CLUSTER_AUTHORIZATION_FAILED |
// | AddOffsetsToTxn (25)      | WRITE on the TRANSACTIONAL_ID, READ on the group          | TRANSACTIONAL_ID_/GROUP_AUTH…|
// | EndTxn (26)               | WRITE on the TRANSACTIONAL_ID                             | TRANSACTIONAL_ID_AUTH…       |
// | WriteTxnMarkers (27)      | CLUSTER_ACTION on the cluster                             | CLUSTER_AUTHORIZATION_FAILED |
// | TxnOffsetCommit (28)      | WRITE on the TRANSACTIONAL_ID, READ on the group and each | TRANSACTIONAL_ID_/GROUP_/    |
// |                           | topic                                                     | TOPIC_AUTH… per partition    |
// | DescribeTransactions (65) | DESCRIBE on each TRANSACTIONAL_ID                         | TRANSACTIONAL_ID_AUTH…       |
// | ListTransactions (66)     | only the TRANSACTIONAL_IDs it may DESCRIBE                | (left out)                   |
//
// The transaction APIs' handlers may not exist in this build; their rules are written from Kafka's
// schemas (the generated types carry the same field names), so that a handler added later is
// checked from its first request and not served unchecked (the gate closes connections for APIs
// without a rule).
import { CLUSTER_NAME } from "../../core/broker/auth.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  defaultConsumerGroupDescribeResponseDescribedGroup,
  defaultConsumerGroupHeartbeatResponse,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type HeartbeatResponse,
  type JoinGroupResponse,
  type LeaveGroupResponse,
  type ListGroupsResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type SyncGroupResponse,
  defaultDescribeGroupsResponseDescribedGroup,
  defaultFindCoordinatorResponse,
  defaultHeartbeatResponse,
  defaultJoinGroupResponse,
  defaultLeaveGroupResponse,
  defaultOffsetFetchResponse,
  defaultSyncGroupResponse,
} from "../protocol/messages/index.ts";
import { type Asker, partly, type Rule, type Verdict } from "./acl-rule.ts";

const GROUP_DENIED: number = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const TOPIC_DENIED: number = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const TXN_DENIED: number = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

interface NamedPartitions {
  name: string;
  partitions: Array<{ partitionIndex: number }>;
}

/** Every partition of `topics` answered with `code` (OffsetCommit, OffsetDelete, TxnOffsetCommit). */
function partitionErrors(topics: readonly NamedPartitions[], code: number) {
  return topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) }));
}

/** A request naming topics of one group: READ on each, the refused ones' partitions answered TOPIC_AUTHORIZATION_FAILED. */
function topicsRead<Req extends { topics: NamedPartitions[] }, Res extends { topics: unknown[] }>(req: Req, a: Asker, answer: (topics: ReturnType<typeof partitionErrors>) => Res): Verdict<Req, Res> {
  return partly<Req, Res, NamedPartitions>(
    req.topics,
    (t) => a.can("READ", "TOPIC", t.name),
    (topics) => ({ ...req, topics }),
    (refused) => answer(partitionErrors(refused, TOPIC_DENIED)),
    (res, refused) => ({ ...res, topics: [...res.topics, ...partitionErrors(refused, TOPIC_DENIED)] }),
  );
}

const offsetCommit: Rule<OffsetCommitRequest, OffsetCommitResponse> = (req, a) => {
  const answer = (topics: ReturnType<typeof partitionErrors>): OffsetCommitResponse => ({ throttleTimeMs: 0, topics });
  if (!a.can("READ", "GROUP", req.groupId)) return { answer: answer(partitionErrors(req.topics, GROUP_DENIED)) };
  return topicsRead(req, a, answer);
};

type FetchTopic = { name: string; partitionIndexes: number[] };

/** OffsetFetch partitions refused with `code`, in v0-7's or v8's shape (the same fields). */
function fetchErrors(topics: readonly FetchTopic[], code: number) {
  return topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: code })) }));
}

const offsetFetch: Rule<OffsetFetchRequest, OffsetFetchResponse> = (req, a) => {
  const v = a.ctx.apiVersion;
  const describable = (t: { name: string }) => a.can("DESCRIBE", "TOPIC", t.name);
  if (v < 8) {
    if (!a.can("DESCRIBE", "GROUP", req.groupId)) {
      // v0-1 have no top-level error: it goes on every partition asked.
      return { answer: { ...defaultOffsetFetchResponse(), errorCode: GROUP_DENIED, topics: v < 2 ? fetchErrors(req.topics ?? [], GROUP_DENIED) : [] } };
    }
    if (req.topics === null) return { req, after: (res) => (typeof res === "symbol" ? res : { ...res, topics: res.topics.filter(describable) }) };
    return partly<OffsetFetchRequest, OffsetFetchResponse, FetchTopic>(
      req.topics,
      describable,
      (topics) => ({ ...req, topics }),
      (refused) => ({ ...defaultOffsetFetchResponse(), topics: fetchErrors(refused, TOPIC_DENIED) }),
      (res, refused) => ({ ...res, topics: [...res.topics, ...fetchErrors(refused, TOPIC_DENIED)] }),
    );
  }
  // v8+: several groups, each with its own topics (null: all of that group's).
  const refusedGroups = req.groups.filter((g) => !a.can("DESCRIBE", "GROUP", g.groupId));
  const refusedTopics = new Map<string, FetchTopic[]>();
  const groups = req.groups
    .filter((g) => !refusedGroups.includes(g))
    .map((g) => {
      if (g.topics === null) return g;
      const refused = g.topics.filter((t) => !describable(t));
      if (refused.length > 0) refusedTopics.set(g.groupId, refused);
      return { ...g, topics: g.topics.filter(describable) };
    });
  const anyAll = groups.some((g) => g.topics === null);
  if (refusedGroups.length === 0 && refusedTopics.size === 0 && !anyAll) return null;
  const refusedGroupAnswers = refusedGroups.map((g) => ({ groupId: g.groupId, errorCode: GROUP_DENIED, topics: [] }));
  if (groups.length === 0) return { answer: { ...defaultOffsetFetchResponse(), groups: refusedGroupAnswers } };
  return {
    req: { ...req, groups },
    after: (res) => {
      if (typeof res === "symbol") return res;
      const answered = res.groups.map((g) => ({ ...g, topics: [...g.topics.filter(describable), ...fetchErrors(refusedTopics.get(g.groupId) ?? [], TOPIC_DENIED)] }));
      return { ...res, groups: [...answered, ...refusedGroupAnswers] };
    },
  };
};

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

const findCoordinator: Rule<FindCoordinatorRequest, FindCoordinatorResponse> = (req, a) => {
  const type = req.keyType === KEY_TYPE_GROUP ? "GROUP" : req.keyType === KEY_TYPE_TRANSACTION ? "TRANSACTIONAL_ID" : null;
  if (type === null) return null; // the handler's answer for an unknown key type
  const code = type === "GROUP" ? GROUP_DENIED : TXN_DENIED;
  const refusedKey = (key: string) => ({ key, nodeId: -1, host: "", port: -1, errorCode: code, errorMessage: null });
  if (a.ctx.apiVersion < 4) {
    if (a.can("DESCRIBE", type, req.key)) return null;
    return { answer: { ...defaultFindCoordinatorResponse(), errorCode: code, nodeId: -1, host: "", port: -1 } };
  }
  return partly<FindCoordinatorRequest, FindCoordinatorResponse, string>(
    req.coordinatorKeys,
    (key) => a.can("DESCRIBE", type, key),
    (coordinatorKeys) => ({ ...req, coordinatorKeys }),
    (refused) => ({ ...defaultFindCoordinatorResponse(), coordinators: refused.map(refusedKey) }),
    (res, refused) => ({ ...res, coordinators: [...res.coordinators, ...refused.map(refusedKey)] }),
  );
};

/** JoinGroup, Heartbeat, LeaveGroup, SyncGroup: READ on the group, or the whole answer refused. */
function groupRead<Res>(refused: (v: number) => Res): Rule<{ groupId: string }, Res> {
  return (req, a) => (a.can("READ", "GROUP", req.groupId) ? null : { answer: refused(a.ctx.apiVersion) });
}

const joinGroup = groupRead<JoinGroupResponse>((v) => ({ ...defaultJoinGroupResponse(), errorCode: GROUP_DENIED, protocolName: v >= 7 ? null : "" }));
const heartbeat = groupRead<HeartbeatResponse>(() => ({ ...defaultHeartbeatResponse(), errorCode: GROUP_DENIED }));
const leaveGroup = groupRead<LeaveGroupResponse>(() => ({ ...defaultLeaveGroupResponse(), errorCode: GROUP_DENIED }));
const syncGroup = groupRead<SyncGroupResponse>(() => ({ ...defaultSyncGroupResponse(), errorCode: GROUP_DENIED }));

const describeGroups: Rule<DescribeGroupsRequest, DescribeGroupsResponse> = (req, a) => {
  const refusedGroup = (groupId: string) => ({ ...defaultDescribeGroupsResponseDescribedGroup(), errorCode: GROUP_DENIED, groupId });
  return partly<DescribeGroupsRequest, DescribeGroupsResponse, string>(
    req.groups,
    (g) => a.can("DESCRIBE", "GROUP", g),
    (groups) => ({ ...req, groups }),
    (refused) => ({ throttleTimeMs: 0, groups: refused.map(refusedGroup) }),
    (res, refused) => ({ ...res, groups: [...res.groups, ...refused.map(refusedGroup)] }),
  );
};

const listGroups: Rule<unknown, ListGroupsResponse> = (req, a) => {
  if (a.can("DESCRIBE", "CLUSTER", CLUSTER_NAME)) return null;
  return { req, after: (res) => (typeof res === "symbol" ? res : { ...res, groups: res.groups.filter((g) => a.can("DESCRIBE", "GROUP", g.groupId)) }) };
};

const deleteGroups: Rule<DeleteGroupsRequest, DeleteGroupsResponse> = (req, a) => {
  const refusedGroup = (groupId: string) => ({ groupId, errorCode: GROUP_DENIED });
  return partly<DeleteGroupsRequest, DeleteGroupsResponse, string>(
    req.groupsNames,
    (g) => a.can("DELETE", "GROUP", g),
    (groupsNames) => ({ ...req, groupsNames }),
    (refused) => ({ throttleTimeMs: 0, results: refused.map(refusedGroup) }),
    (res, refused) => ({ ...res, results: [...res.results, ...refused.map(refusedGroup)] }),
  );
};

const offsetDelete: Rule<OffsetDeleteRequest, OffsetDeleteResponse> = (req, a) => {
  if (!a.can("DELETE", "GROUP", req.groupId)) return { answer: { errorCode: GROUP_DENIED, throttleTimeMs: 0, topics: [] } };
  return topicsRead(req, a, (topics) => ({ errorCode: 0, throttleTimeMs: 0, topics }));
};

const consumerGroupHeartbeat: Rule<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = (req, a) => {
  const refuse = (errorCode: number, errorMessage: string) => ({ answer: { ...defaultConsumerGroupHeartbeatResponse(), errorCode, errorMessage } });
  if (!a.can("READ", "GROUP", req.groupId)) return refuse(GROUP_DENIED, `not authorized to READ group ${req.groupId}`);
  const hidden = (req.subscribedTopicNames ?? []).filter((t) => !a.can("DESCRIBE", "TOPIC", t));
  if (hidden.length > 0) return refuse(TOPIC_DENIED, `not authorized to DESCRIBE topic(s) ${hidden.join(", ")}`);
  return null;
};

const consumerGroupDescribe: Rule<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> = (req, a) => {
  const refusedGroup = (groupId: string) => ({ ...defaultConsumerGroupDescribeResponseDescribedGroup(), groupId, errorCode: GROUP_DENIED });
  return partly<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, string>(
    req.groupIds,
    (g) => a.can("DESCRIBE", "GROUP", g),
    (groupIds) => ({ ...req, groupIds }),
    (refused) => ({ throttleTimeMs: 0, groups: refused.map(refusedGroup) }),
    (res, refused) => ({ ...res, groups: [...res.groups, ...refused.map(refusedGroup)] }),
  );
};

// --- transactions (rules for handlers that may come later; loosely typed from Kafka's schemas) ---

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

const addPartitionsToTxn: Rule<Loose, Loose> = (req, a) => {
  if (a.ctx.apiVersion >= 4) {
    // v4+ is the brokers' own verification (KIP-890).
    if (a.can("CLUSTER_ACTION", "CLUSTER", CLUSTER_NAME)) return null;
    return { answer: { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [], resultsByTopicV3AndBelow: [] } };
  }
  const topics = req.v3AndBelowTopics as Array<{ name: string; partitions: number[] }>;
  const txnOk = a.can("WRITE", "TRANSACTIONAL_ID", req.v3AndBelowTransactionalId);
  const refused = new Set(txnOk ? topics.filter((t) => !a.can("WRITE", "TOPIC", t.name)).map((t) => t.name) : []);
  if (txnOk && refused.size === 0) return null;
  const code = (name: string) => (!txnOk ? TXN_DENIED : refused.has(name) ? TOPIC_DENIED : ErrorCode.OPERATION_NOT_ATTEMPTED);
  const results = topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name) })) }));
  return { answer: { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], resultsByTopicV3AndBelow: results } };
};

const addOffsetsToTxn: Rule<Loose, Loose> = (req, a) => {
  if (!a.can("WRITE", "TRANSACTIONAL_ID", req.transactionalId)) return { answer: { throttleTimeMs: 0, errorCode: TXN_DENIED } };
  if (!a.can("READ", "GROUP", req.groupId)) return { answer: { throttleTimeMs: 0, errorCode: GROUP_DENIED } };
  return null;
};

const endTxn: Rule<Loose, Loose> = (req, a) => (a.can("WRITE", "TRANSACTIONAL_ID", req.transactionalId) ? null : { answer: { throttleTimeMs: 0, errorCode: TXN_DENIED } });

const writeTxnMarkers: Rule<Loose, Loose> = (req, a) => {
  if (a.can("CLUSTER_ACTION", "CLUSTER", CLUSTER_NAME)) return null;
  const markers = (req.markers as Array<{ producerId: bigint; topics: Array<{ name: string; partitionIndexes: number[] }> }>).map((m) => ({
    producerId: m.producerId,
    topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })),
  }));
  return { answer: { markers } };
};

const txnOffsetCommit: Rule<Loose, Loose> = (req, a) => {
  const answer = (topics: ReturnType<typeof partitionErrors>) => ({ throttleTimeMs: 0, topics });
  if (!a.can("WRITE", "TRANSACTIONAL_ID", req.transactionalId)) return { answer: answer(partitionErrors(req.topics, TXN_DENIED)) };
  if (!a.can("READ", "GROUP", req.groupId)) return { answer: answer(partitionErrors(req.topics, GROUP_DENIED)) };
  return topicsRead(req, a, answer);
};

const describeTransactions: Rule<Loose, Loose> = (req, a) => {
  const refusedState = (transactionalId: string) => ({ errorCode: TXN_DENIED, transactionalId, transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] });
  return partly<Loose, Loose, string>(
    req.transactionalIds,
    (id) => a.can("DESCRIBE", "TRANSACTIONAL_ID", id),
    (transactionalIds) => ({ ...req, transactionalIds }),
    (refused) => ({ throttleTimeMs: 0, transactionStates: refused.map(refusedState) }),
    (res, refused) => ({ ...res, transactionStates: [...res.transactionStates, ...refused.map(refusedState)] }),
  );
};

const listTransactions: Rule<Loose, Loose> = (req, a) => ({
  req,
  after: (res) => (typeof res === "symbol" ? res : { ...res, transactionStates: res.transactionStates.filter((t: { transactionalId: string }) => a.can("DESCRIBE", "TRANSACTIONAL_ID", t.transactionalId)) }),
});

export const GROUP_RULES: ReadonlyArray<[number, Rule]> = [
  [8, offsetCommit],
  [9, offsetFetch],
  [10, findCoordinator],
  [11, joinGroup],
  [12, heartbeat],
  [13, leaveGroup],
  [14, syncGroup],
  [15, describeGroups],
  [16, listGroups],
  [42, deleteGroups],
  [47, offsetDelete],
  [68, consumerGroupHeartbeat],
  [69, consumerGroupDescribe],
  [24, addPartitionsToTxn],
  [25, addOffsetsToTxn],
  [26, endTxn],
  [27, writeTxnMarkers],
  [28, txnOffsetCommit],
  [65, describeTransactions],
  [66, listTransactions],
];
