// Issue #7: a damaged topic.json on the real binary. The broker starts anyway and says so on
// stderr; the damaged topic answers KAFKA_STORAGE_ERROR (56) over Kafka and 507 STORAGE over HTTP
// while every other topic works; its files and committed offsets are kept, so restoring the file
// brings it back whole; DeleteTopics removes it. Decision table: core/topics/topic-store.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import {
  CreateTopics, DeleteTopics, Fetch, ListOffsets, Metadata, OffsetFetch, Produce,
  defaultCreateTopicsRequest, defaultCreateTopicsRequestCreatableTopic, defaultDeleteTopicsRequest, defaultFetchRequest,
  defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic, defaultListOffsetsRequest, defaultMetadataRequest,
  defaultOffsetFetchRequest, defaultProduceRequest,
} from "../net/protocol/messages/index.ts";
import { type BrokerProcess, removeDir, startBroker, tempDir } from "./harness.ts";
import { api, commitOffsets, postJson } from "./http-helpers.ts";
import { RawConnection } from "./raw-kafka.ts";

const enc = new TextEncoder();
let dataDir: string;
let broker: BrokerProcess | undefined;
let topicJson: string;
let original: Buffer;

function records(topic: string, body: string) {
  return api(broker!.http, `/v1/topics/${topic}/records`, { method: "POST", body, headers: { "content-type": "text/plain" } });
}

async function values(topic: string, partition: number): Promise<string[]> {
  const r = await api(broker!.http, `/v1/topics/${topic}/records?partition=${partition}&offset=0`);
  expect(r.status).toBe(200);
  return r.text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).value);
}

/** Every file under a directory, relative path → bytes. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.set(join(entry.parentPath, entry.name).slice(dir.length), readFileSync(join(entry.parentPath, entry.name)).toString("hex"));
  }
  return out;
}

async function restart(): Promise<BrokerProcess> {
  if (broker) expect(await broker.stop()).toBe(0);
  broker = await startBroker({ dataDir });
  return broker;
}

/** topic.json with one hex digit of its topic id changed: still JSON, the checksum no longer matches. */
function damage(): void {
  const text = original.toString("utf8");
  const at = text.indexOf('"topicId": "') + 13;
  writeFileSync(topicJson, text.slice(0, at) + (text[at] === "0" ? "1" : "0") + text.slice(at + 1));
}

beforeAll(async () => {
  dataDir = tempDir();
  broker = await startBroker({ dataDir });
  for (const name of ["good", "bad"]) expect((await postJson(broker.http, "/v1/topics", { name, partitions: 2 })).status).toBe(201);
  expect((await records("good", "g1\ng2\n")).status).toBe(200);
  expect((await records("bad", "b1\nb2\nb3\n")).status).toBe(200);
  await commitOffsets(broker.kafka, "readers", "bad", { 0: 2 });
  topicJson = join(dataDir, "topics", "bad", "topic.json");
  original = readFileSync(topicJson);
  expect(original.toString("utf8")).toContain('"crc32c"');
});

afterAll(async () => {
  if (broker) await broker.stop();
  removeDir(dataDir);
});

test("a damaged topic.json: the broker starts, says so, answers 56 for that topic and serves the others", async () => {
  await broker!.stop();
  broker = undefined;
  damage();
  const before = files(join(dataDir, "topics", "bad"));
  const b = await restart();
  const warned = b.stderr().split("\n").filter((l) => l.includes("kept unopened"));
  expect(warned).toEqual([expect.stringContaining(`topic 'bad' kept unopened: ${topicJson} is damaged (checksum mismatch`)]);

  const conn = await RawConnection.open(b.kafka);
  try {
    const md = await conn.request(Metadata, 12, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: "bad" }, { topicId: new Uint8Array(16), name: "good" }], allowAutoTopicCreation: true });
    expect(md.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([["bad", ErrorCode.KAFKA_STORAGE_ERROR, 0], ["good", 0, 2]]);
    const all = await conn.request(Metadata, 12, { ...defaultMetadataRequest(), topics: null });
    expect(all.topics.map((t) => t.name)).toEqual(["good"]);

    const batch = () => encodeRecordBatch({ records: [{ key: null, value: enc.encode("x") }] });
    const produced = await conn.request(Produce, 9, {
      ...defaultProduceRequest(),
      acks: -1,
      timeoutMs: 5000,
      topicData: ["bad", "good"].map((name) => ({ name, partitionData: [{ index: 0, records: batch() }] })),
    });
    expect(produced.responses.map((r) => [r.name, r.partitionResponses[0]!.errorCode])).toEqual([["bad", ErrorCode.KAFKA_STORAGE_ERROR], ["good", 0]]);

    const fetched = await conn.request(Fetch, 12, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      topics: ["bad", "good"].map((topic) => ({ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] })),
    });
    expect(fetched.responses.map((r) => r.partitions[0]!.errorCode)).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, 0]);

    const listed = await conn.request(ListOffsets, 7, {
      ...defaultListOffsetsRequest(),
      replicaId: -1,
      topics: ["bad", "good"].map((name) => ({ name, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] })),
    });
    expect(listed.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, 0]);

    const created = await conn.request(CreateTopics, 7, { ...defaultCreateTopicsRequest(), topics: [{ ...defaultCreateTopicsRequestCreatableTopic(), name: "bad", numPartitions: 1, replicationFactor: 1 }] });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  } finally {
    conn.close();
  }

  const list = await api(b.http, "/v1/topics");
  expect(list.json.topics.map((t: { name: string }) => t.name)).toEqual(["good"]);
  expect(list.json.damaged).toEqual([{ name: "bad", file: topicJson, reason: expect.stringContaining("checksum mismatch") }]);
  const described = await api(b.http, "/v1/topics/bad");
  expect(described.status).toBe(507);
  expect(described.json.error.code).toBe("STORAGE");
  expect((await api(b.http, "/v1/topics/bad/records?partition=0")).status).toBe(507);
  expect(await values("good", 0).then((v) => v.length)).toBeGreaterThan(0);

  // Nothing of the damaged topic was touched.
  expect(files(join(dataDir, "topics", "bad"))).toEqual(before);
});

test("restoring the file brings the topic back whole, with its committed offsets", async () => {
  writeFileSync(topicJson, original);
  const b = await restart();
  expect(b.stderr()).not.toContain("kept unopened");
  const all = [...(await values("bad", 0)), ...(await values("bad", 1))].sort();
  expect(all).toEqual(["b1", "b2", "b3"]);
  const conn = await RawConnection.open(b.kafka);
  try {
    const res = await conn.request(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId: "readers", topics: [{ name: "bad", partitionIndexes: [0] }] });
    expect(res.topics[0]!.partitions[0]!.committedOffset).toBe(2n);
  } finally {
    conn.close();
  }
});

test("DeleteTopics removes a damaged topic; the name is free again", async () => {
  damage();
  const b = await restart();
  expect(b.stderr()).toContain("topic 'bad' kept unopened");
  const conn = await RawConnection.open(b.kafka);
  try {
    const res = await conn.request(DeleteTopics, 6, { ...defaultDeleteTopicsRequest(), timeoutMs: 5000, topics: [{ name: "bad", topicId: new Uint8Array(16) }] });
    expect(res.responses.map((r) => [r.name, r.errorCode])).toEqual([["bad", 0]]);
    expect(existsSync(join(dataDir, "topics", "bad"))).toBe(false);
    const md = await conn.request(Metadata, 12, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: "bad" }], allowAutoTopicCreation: false });
    expect(md.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    conn.close();
  }
  expect((await api(b.http, "/v1/topics")).json.damaged).toEqual([]);
  expect((await postJson(b.http, "/v1/topics", { name: "bad", partitions: 1 })).status).toBe(201);
  expect(await values("good", 0).then((v) => v.length)).toBeGreaterThan(0);
});
