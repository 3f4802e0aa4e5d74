// The Kafka door driven in-process against the broker core: frames built with the generated codec
// go through dispatch() exactly as a connection hands them over, answers are decoded from the
// chunks the door would write. No socket, no spawned binary; the core runs on a temp dir.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, type BrokerConfig } from "../../core/broker/broker.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../core/batch/record-batch.ts";
import type { CoreErrorCode } from "../../core/errors.ts";
import { CoreError } from "../../core/errors.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/header.ts";
import {
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  Fetch,
  InitProducerId,
  ListOffsets,
  Metadata,
  Produce,
  defaultApiVersionsRequest,
  defaultCreateTopicsRequest,
  defaultCreateTopicsRequestCreatableTopic,
  defaultDeleteTopicsRequest,
  defaultFetchRequest,
  defaultInitProducerIdRequest,
  defaultListOffsetsRequest,
  defaultMetadataRequest,
  defaultProduceRequest,
} from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { dispatch, type ConnectionContext, type DispatchOutcome } from "./dispatch.ts";
import { kafkaErrorCode } from "./errors.ts";
import { CLOSE_CONNECTION, EncodedResponse, NO_RESPONSE } from "./handler.ts";
import { HANDLERS } from "./handlers/index.ts";
import { kafkaDoor } from "./server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NIL_UUID = new Uint8Array(16);

let dir: string;
let broker: Broker;
let conn: ConnectionContext;
let closeConnection: AbortController;
let correlation = 1;

async function open(config: Partial<BrokerConfig> = {}): Promise<void> {
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1, ...config }, { info() {}, warn() {}, error() {} });
  closeConnection = new AbortController();
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 });
  conn = { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: closeConnection.signal };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-kafka-door-"));
  await open();
});

afterEach(async () => {
  closeConnection.abort();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function frameOf<Req>(api: ApiDescriptor<Req, unknown, any, any>, version: number, body: Req, correlationId: number): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: "door-test" });
  api.encodeRequest(w, version, body);
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

/** What the door does with one frame. */
function outcomeOf(frame: Uint8Array): Promise<DispatchOutcome> {
  return new Promise((resolve) => dispatch(frame, conn, { settle: resolve }));
}

async function call<Req, Res>(api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Res> {
  const correlationId = correlation++;
  const outcome = await outcomeOf(frameOf(api, version, body, correlationId));
  if (!(outcome instanceof EncodedResponse)) throw new Error(`${api.name}: no answer (${String(outcome)})`);
  const chunks = Array.isArray(outcome.chunks) ? outcome.chunks : [outcome.chunks];
  const frame = Buffer.concat(chunks);
  const r = new Reader(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength), 4);
  expect(decodeResponseHeader(r, api.key, version).correlationId).toBe(correlationId);
  const res = api.decodeResponse(r, version) as Res;
  expect(r.error).toBeFalsy();
  expect(r.remaining).toBe(0);
  return res;
}

function batchOf(values: string[], extra: Parameters<typeof encodeRecordBatch>[0] extends infer O ? Partial<O> : never = {}): Uint8Array {
  return encodeRecordBatch({ records: values.map((v) => ({ value: encoder.encode(v) })), ...extra });
}

async function produce(topic: string, partition: number, records: Uint8Array, acks = -1) {
  const res = await call(Produce, 9, { ...defaultProduceRequest(), acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  return res.responses[0]!.partitionResponses[0]!;
}

async function createTopic(name: string, numPartitions: number, configs: Array<{ name: string; value: string }> = []) {
  const res = await call(CreateTopics, 7, { ...defaultCreateTopicsRequest(), timeoutMs: 5000, topics: [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions, replicationFactor: -1, configs }] });
  return res.topics[0]!;
}

function fetchRequest(topic: string, partition: number, offset: number, maxWaitMs = 0) {
  return {
    ...defaultFetchRequest(),
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [{ topic, topicId: NIL_UUID, partitions: [{ partition, fetchOffset: BigInt(offset), partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1n }] }],
  };
}

/** Values of every record in a fetched partition's batches. */
function valuesIn(records: Uint8Array | Uint8Array[] | null): string[] {
  const bytes = records === null ? new Uint8Array(0) : Array.isArray(records) ? Buffer.concat(records) : records;
  const out: string[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const size = 12 + new DataView(bytes.buffer, bytes.byteOffset + pos).getInt32(8);
    for (const r of decodeRecordBatch(bytes.subarray(pos, pos + size)).records) out.push(decoder.decode(r.value!));
    pos += size;
  }
  return out;
}

describe("Kafka door in-process", () => {
  test("ApiVersions advertises exactly the handlers the door serves", async () => {
    const res = await call(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });
    expect(res.errorCode).toBe(0);
    expect(res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]).sort((a, b) => a[0]! - b[0]!)).toEqual(
      HANDLERS.map((h) => [h.api.key, h.minVersion, h.maxVersion]).sort((a, b) => a[0]! - b[0]!),
    );
  });

  test("a topic created through the door is the core's, with its partitions", async () => {
    expect((await createTopic("orders", 3)).errorCode).toBe(0);
    expect(broker.topic("orders")?.partitions.length).toBe(3);
    expect((await createTopic("orders", 3)).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    const meta = await call(Metadata, 12, { ...defaultMetadataRequest(), topics: null });
    expect(meta.topics.map((t) => [t.name, t.partitions.length])).toEqual([["orders", 3]]);
    expect(meta.brokers.map((b) => [b.host, b.port])).toEqual([["127.0.0.1", 9092]]);
  });

  test("Metadata creates a topic on first use only when the core allows it", async () => {
    const ask = (name: string) => call(Metadata, 9, { ...defaultMetadataRequest(), topics: [{ topicId: NIL_UUID, name }], allowAutoTopicCreation: true });
    expect((await ask("auto")).topics[0]!.errorCode).toBe(0);
    expect(broker.topic("auto")).toBeDefined();
    await broker.close();
    await open({ autoCreateTopics: false });
    expect((await ask("never")).topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(broker.topic("never")).toBeUndefined();
  });

  test("a produced batch is acknowledged at its offset and fetched back byte for byte", async () => {
    await createTopic("logs", 1);
    const batch = batchOf(["a", "b", "c"]);
    const first = await produce("logs", 0, batch);
    expect([first.errorCode, first.baseOffset]).toEqual([0, 0n]);
    const second = await produce("logs", 0, batchOf(["d"]));
    expect([second.errorCode, second.baseOffset]).toEqual([0, 3n]);
    const fetched = await call(Fetch, 12, fetchRequest("logs", 0, 0));
    const p = fetched.responses[0]!.partitions[0]!;
    expect([p.errorCode, p.highWatermark]).toEqual([0, 4n]);
    expect(valuesIn(p.records)).toEqual(["a", "b", "c", "d"]);
    expect(broker.metrics.topic("logs")).toMatchObject({ recordsIn: 4, recordsOut: 4 });
  });

  test("a long poll at the high watermark is answered by the next append, not by its timeout", async () => {
    await createTopic("live", 1);
    const waiting = call(Fetch, 12, fetchRequest("live", 0, 0, 60_000));
    let answered = false;
    void waiting.then(() => (answered = true));
    await Bun.sleep(0);
    expect(answered).toBe(false);
    await produce("live", 0, batchOf(["news"]));
    const p = (await waiting).responses[0]!.partitions[0]!;
    expect(valuesIn(p.records)).toEqual(["news"]);
  });

  test("the core's refusals come back as Kafka error codes per partition", async () => {
    await createTopic("strict", 1, [{ name: "cleanup.policy", value: "compact" }]);
    expect((await produce("nowhere", 0, batchOf(["x"]))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce("strict", 5, batchOf(["x"]))).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce("strict", 0, batchOf(["no key"]))).errorCode).toBe(ErrorCode.INVALID_RECORD);
    const corrupt = batchOf(["flip"]);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect((await produce("strict", 0, corrupt)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const fetched = await call(Fetch, 12, fetchRequest("strict", 0, 7));
    expect(fetched.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(broker.topic("strict")!.partitions[0]!.endOffset).toBe(0);
  });

  test("an idempotent retry gets its first answer; a gap and an old epoch are refused", async () => {
    await createTopic("idem", 1);
    const init = await call(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    const producerId = Number(init.producerId);
    const batch = (baseSequence: number, producerEpoch = init.producerEpoch) => batchOf([`s${baseSequence}`, "x"], { producerId, producerEpoch, baseSequence });
    expect((await produce("idem", 0, batch(0))).baseOffset).toBe(0n);
    expect((await produce("idem", 0, batch(2))).baseOffset).toBe(2n);
    expect((await produce("idem", 0, batch(0))).baseOffset).toBe(0n);
    expect((await produce("idem", 0, batch(9))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce("idem", 0, batch(4, init.producerEpoch + 1))).errorCode).toBe(0);
    expect((await produce("idem", 0, batch(6, init.producerEpoch))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    const end = await call(ListOffsets, 2, { ...defaultListOffsetsRequest(), replicaId: -1, topics: [{ name: "idem", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] });
    expect(end.topics[0]!.partitions[0]!.offset).toBe(6n);
  });

  test("acks=0 gets no answer, and a refused acks=0 batch closes the connection", async () => {
    await createTopic("quiet", 1);
    const frame = (records: Uint8Array) => frameOf(Produce, 9, { ...defaultProduceRequest(), acks: 0, timeoutMs: 5000, topicData: [{ name: "quiet", partitionData: [{ index: 0, records }] }] }, correlation++);
    expect(await outcomeOf(frame(batchOf(["ok"])))).toBe(NO_RESPONSE);
    expect(await outcomeOf(frame(new Uint8Array([1, 2, 3])))).toBe(CLOSE_CONNECTION);
  });

  test("DeleteTopics removes the topic from the core, and its counters with it", async () => {
    await createTopic("gone", 2);
    await produce("gone", 1, batchOf(["bye"]));
    expect(broker.metrics.topics.has("gone")).toBe(true);
    const res = await call(DeleteTopics, 4, { ...defaultDeleteTopicsRequest(), topicNames: ["gone", "never-was"], timeoutMs: 5000 });
    expect(res.responses.map((r) => [r.name, r.errorCode])).toEqual([
      ["gone", 0],
      ["never-was", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(broker.topic("gone")).toBeUndefined();
    expect(broker.metrics.topics.has("gone")).toBe(false);
  });

  test("every core error code has its Kafka error code", () => {
    const codes: CoreErrorCode[] = [
      "CORRUPT_BATCH", "INVALID_RECORD", "UNSUPPORTED_COMPRESSION", "DECOMPRESSION_LIMIT", "MESSAGE_TOO_LARGE", "INVALID_TIMESTAMP",
      "INVALID_TOPIC", "TOPIC_EXISTS", "UNKNOWN_TOPIC", "UNKNOWN_PARTITION", "PRODUCER_FENCED", "OUT_OF_ORDER_SEQUENCE",
      "INVALID_PARTITIONS", "INVALID_CONFIG", "OFFSET_OUT_OF_RANGE", "GROUP_NOT_EMPTY", "GROUP_NOT_FOUND", "DATA_DIR_LOCKED", "STORAGE", "CLOSED",
      "NOT_LEADER", "FENCED_LEADER_EPOCH", "UNKNOWN_LEADER_EPOCH", "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    ];
    for (const code of codes) expect([code, kafkaErrorCode(new CoreError(code, "x"))]).not.toEqual([code, ErrorCode.UNKNOWN_SERVER_ERROR]);
  });
});
