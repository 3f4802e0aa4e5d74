// The Kafka door's authorization gate driven in-process through dispatch(): every served API has a
// rule; Produce, Fetch, Metadata, groups, configs and the ACL APIs answer Kafka's
// *_AUTHORIZATION_FAILED codes for what the principal may not do and serve the rest; authorized
// operations are the principal's own; a request partly allowed is served for that part with the
// refused part's errors merged in (issue #18).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AclBinding, userPrincipal } from "../../core/broker/auth.ts";
import { Broker } from "../../core/broker/broker.ts";
import { encodeRecordBatch } from "../../core/batch/record-batch.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/header.ts";
import {
  ConsumerGroupDescribe,
  ConsumerGroupHeartbeat,
  CreateAcls,
  DeleteAcls,
  DescribeAcls,
  DescribeConfigs,
  DescribeGroups,
  Fetch,
  JoinGroup,
  ListGroups,
  Metadata,
  OffsetCommit,
  Produce,
  defaultConsumerGroupHeartbeatRequest,
  defaultDescribeConfigsRequest,
  defaultFetchRequest,
  defaultJoinGroupRequest,
  defaultListGroupsRequest,
  defaultMetadataRequest,
  defaultOffsetCommitRequest,
  defaultProduceRequest,
} from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { hasRule } from "./acl-gate.ts";
import { operationBits } from "./acl-operations.ts";
import { type ConnectionContext, dispatch, type DispatchOutcome } from "./dispatch.ts";
import { CLOSE_CONNECTION, EncodedResponse } from "./handler.ts";
import { HANDLERS } from "./handlers/index.ts";
import { kafkaDoor } from "./server.ts";
import { Session } from "./session.ts";

const NIL_UUID = new Uint8Array(16);
let dir: string;
let broker: Broker;
let correlation = 1;

const acl = (b: Partial<AclBinding>): AclBinding => ({ resourceType: "TOPIC", resourceName: "orders", patternType: "LITERAL", principal: "User:alice", host: "*", operation: "READ", permission: "ALLOW", ...b });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-acl-gate-"));
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "never" }, autoCreateTopics: true, defaultPartitions: 1, auth: { authorizationEnabled: true, superUsers: ["User:admin"] } }, { info() {}, warn() {}, error() {} });
  for (const t of ["orders", "logs-app", "logs-secret", "hidden"]) await broker.createTopic(t, 1);
  expect(
    await broker.auth.createAcls([
      acl({}), // READ orders
      acl({ resourceName: "logs-", patternType: "PREFIXED", operation: "WRITE" }),
      acl({ resourceName: "logs-secret", operation: "WRITE", permission: "DENY" }),
      acl({ resourceType: "GROUP", resourceName: "app", operation: "READ" }),
    ]),
  ).toEqual([null, null, null, null]);
});

afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function connection(user: string): ConnectionContext {
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 });
  const session = new Session();
  session.principal = userPrincipal(user);
  return { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: new AbortController().signal, session };
}

function frameOf<Req>(api: ApiDescriptor<Req, unknown, any, any>, version: number, body: Req): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId: correlation++, clientId: "acl-test" });
  api.encodeRequest(w, version, body);
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

async function call<Req, Res>(conn: ConnectionContext, api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Res | "closed" | "nothing"> {
  const outcome = await new Promise<DispatchOutcome>((resolve) => dispatch(frameOf(api, version, body), conn, { settle: resolve }));
  if (outcome === CLOSE_CONNECTION) return "closed";
  if (!(outcome instanceof EncodedResponse)) return "nothing";
  const bytes = Buffer.concat(Array.isArray(outcome.chunks) ? outcome.chunks : [outcome.chunks]);
  const r = new Reader(new Uint8Array(bytes), 4);
  decodeResponseHeader(r, api.key, version);
  return api.decodeResponse(r, version);
}

async function answer<Req, Res>(conn: ConnectionContext, api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Res> {
  const got = await call(conn, api, version, body);
  if (typeof got === "string") throw new Error(`${api.name}: ${got}`);
  return got;
}

const batch = (value: string) => encodeRecordBatch({ records: [{ value: new TextEncoder().encode(value) }] });

function produceRequest(topics: string[], acks = -1) {
  return { ...defaultProduceRequest(), acks, timeoutMs: 5000, topicData: topics.map((name) => ({ name, partitionData: [{ index: 0, records: batch(`to ${name}`) }] })) };
}

function codesOf(res: { responses: Array<{ name: string; partitionResponses: Array<{ errorCode: number }> }> }): Record<string, number> {
  return Object.fromEntries(res.responses.map((t) => [t.name, t.partitionResponses[0]!.errorCode]));
}

test("every API the door serves has an authorization rule", () => {
  expect(HANDLERS.filter((h) => !hasRule(h.api.key)).map((h) => h.api.name)).toEqual([]);
});

describe("Produce and Fetch", () => {
  test("WRITE per topic: a READ-only topic is refused, a PREFIXED ALLOW serves, a DENY wins; the allowed part is appended", async () => {
    const alice = connection("alice");
    expect(codesOf(await answer(alice, Produce, 9, produceRequest(["orders"])))).toEqual({ orders: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
    const mixed = await answer(alice, Produce, 9, produceRequest(["orders", "logs-app", "logs-secret"]));
    expect(codesOf(mixed)).toEqual({ orders: ErrorCode.TOPIC_AUTHORIZATION_FAILED, "logs-app": 0, "logs-secret": ErrorCode.TOPIC_AUTHORIZATION_FAILED });
    expect(broker.partition("logs-app", 0).endOffset).toBe(1);
    expect(broker.partition("orders", 0).endOffset).toBe(0);
    // acks=0: no answer to carry the error, so the connection closes (as Kafka).
    expect(await call(alice, Produce, 9, produceRequest(["orders"], 0))).toBe("closed");
    expect(await call(alice, Produce, 9, produceRequest(["logs-app", "orders"], 0))).toBe("closed");
    expect(await call(alice, Produce, 9, produceRequest(["logs-app"], 0))).toBe("nothing");
    // A super user is not asked.
    expect(codesOf(await answer(connection("admin"), Produce, 9, produceRequest(["orders"])))).toEqual({ orders: 0 });
  });

  test("READ per topic: readable topics are fetched, the others refused in the same answer", async () => {
    await answer(connection("admin"), Produce, 9, produceRequest(["orders", "hidden"]));
    const part = (topic: string) => ({ topic, topicId: NIL_UUID, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1n }] });
    const res = await answer(connection("alice"), Fetch, 12, { ...defaultFetchRequest(), maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, topics: [part("orders"), part("hidden")] });
    const byTopic = Object.fromEntries(res.responses.map((t) => [t.topic, t.partitions[0]!]));
    expect(byTopic.orders!.errorCode).toBe(0);
    expect((byTopic.orders!.records ?? new Uint8Array(0)).length).toBeGreaterThan(0);
    expect(byTopic.hidden!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  });
});

describe("Metadata", () => {
  test("all topics: only the describable ones; named: the others refused; no auto-create without CREATE", async () => {
    const alice = connection("alice");
    const all = await answer(alice, Metadata, 12, { ...defaultMetadataRequest(), topics: null });
    expect(all.topics.map((t) => t.name).sort()).toEqual(["logs-app", "logs-secret", "orders"]);
    const named = await answer(alice, Metadata, 12, { ...defaultMetadataRequest(), allowAutoTopicCreation: true, includeTopicAuthorizedOperations: true, topics: [{ name: "orders", topicId: NIL_UUID }, { name: "hidden", topicId: NIL_UUID }, { name: "logs-new", topicId: NIL_UUID }] });
    const byName = Object.fromEntries(named.topics.map((t) => [t.name, t]));
    expect(byName.orders!.errorCode).toBe(0);
    expect(byName.orders!.topicAuthorizedOperations).toBe(operationBits(["READ", "DESCRIBE"]));
    expect(byName.hidden!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(byName.hidden!.partitions).toEqual([]);
    expect(byName["logs-new"]!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(broker.topic("logs-new")).toBeUndefined();
    expect(named.brokers.length).toBe(1);
  });
});

describe("groups", () => {
  test("READ on the group to join or commit; DESCRIBE to describe; ListGroups shows only describable groups", async () => {
    const alice = connection("alice");
    const join = (groupId: string) => answer(alice, JoinGroup, 5, { ...defaultJoinGroupRequest(), groupId, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000, protocolType: "consumer", protocols: [] });
    expect((await join("other")).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const commit = await answer(alice, OffsetCommit, 8, {
      ...defaultOffsetCommitRequest(),
      groupId: "app",
      generationIdOrMemberEpoch: -1,
      topics: ["orders", "hidden"].map((name) => ({ name, partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] })),
    });
    expect(Object.fromEntries(commit.topics.map((t) => [t.name, t.partitions[0]!.errorCode]))).toEqual({ orders: 0, hidden: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
    const denied = await answer(alice, OffsetCommit, 8, { ...defaultOffsetCommitRequest(), groupId: "other", topics: [{ name: "orders", partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }] });
    expect(denied.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const described = await answer(alice, DescribeGroups, 5, { groups: ["app", "other"], includeAuthorizedOperations: true });
    const byId = Object.fromEntries(described.groups.map((g) => [g.groupId, g]));
    expect(byId.app!.errorCode).toBe(0);
    expect(byId.app!.authorizedOperations).toBe(operationBits(["READ", "DESCRIBE"]));
    expect(byId.other!.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    await answer(connection("admin"), OffsetCommit, 8, { ...defaultOffsetCommitRequest(), groupId: "other", topics: [{ name: "orders", partitions: [{ partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }] });
    const listed = await answer(alice, ListGroups, 4, defaultListGroupsRequest());
    expect(listed.groups.map((g) => g.groupId)).toEqual(["app"]);
  });
});

describe("the consumer group protocol (KIP-848)", () => {
  test("a heartbeat needs READ on the group and DESCRIBE on every subscribed topic; describing needs DESCRIBE per group", async () => {
    const alice = connection("alice");
    const beat = (groupId: string, topics: string[]) =>
      answer(alice, ConsumerGroupHeartbeat, 0, { ...defaultConsumerGroupHeartbeatRequest(), groupId, memberId: "m-1", memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: topics, topicPartitions: [] });
    expect((await beat("other", ["orders"])).errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const hidden = await beat("app", ["orders", "hidden"]);
    expect([hidden.errorCode, hidden.errorMessage]).toEqual([ErrorCode.TOPIC_AUTHORIZATION_FAILED, "not authorized to DESCRIBE topic(s) hidden"]);
    const joined = await beat("app", ["orders"]);
    expect(joined.errorCode).toBe(0);
    expect(joined.memberEpoch).toBeGreaterThan(0);
    const described = await answer(alice, ConsumerGroupDescribe, 0, { groupIds: ["app", "other"], includeAuthorizedOperations: true });
    const byId = Object.fromEntries(described.groups.map((g) => [g.groupId, g]));
    expect(byId.app!.errorCode).toBe(0);
    expect(byId.app!.authorizedOperations).toBe(operationBits(["READ", "DESCRIBE"]));
    expect(byId.other!.errorCode).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  });
});

describe("admin APIs and the ACL APIs", () => {
  test("DescribeConfigs needs DESCRIBE_CONFIGS; ACL APIs need the cluster's DESCRIBE/ALTER; a super user manages ACLs over Kafka", async () => {
    const alice = connection("alice");
    const configs = await answer(alice, DescribeConfigs, 4, { ...defaultDescribeConfigsRequest(), resources: [{ resourceType: 2, resourceName: "orders", configurationKeys: null }] });
    expect(configs.results[0]!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const filter = { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 };
    expect((await answer(alice, DescribeAcls, 3, filter)).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const creation = { resourceType: 2, resourceName: "orders", resourcePatternType: 3, principal: "User:bob", host: "*", operation: 3, permissionType: 3 };
    expect((await answer(alice, CreateAcls, 3, { creations: [creation] })).results).toEqual([{ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed." }]);

    const admin = connection("admin");
    const created = await answer(admin, CreateAcls, 3, { creations: [creation, { ...creation, operation: 12 }, { ...creation, principal: "bob" }] });
    expect(created.results.map((r) => r.errorCode)).toEqual([0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    const described = await answer(admin, DescribeAcls, 3, { ...filter, principalFilter: "User:bob" });
    expect(described.resources).toEqual([{ resourceType: 2, resourceName: "orders", patternType: 3, acls: [{ principal: "User:bob", host: "*", operation: 3, permissionType: 3 }] }]);
    expect(broker.auth.authorize({ principal: userPrincipal("bob"), host: "127.0.0.1" }, "READ", { type: "TOPIC", name: "orders" })).toBe(true);
    const deleted = await answer(admin, DeleteAcls, 3, { filters: [{ ...filter, principalFilter: "User:bob" }] });
    expect(deleted.filterResults[0]!.matchingAcls.map((m) => m.principal)).toEqual(["User:bob"]);
    expect(broker.auth.authorize({ principal: userPrincipal("bob"), host: "127.0.0.1" }, "READ", { type: "TOPIC", name: "orders" })).toBe(false);
  });
});
