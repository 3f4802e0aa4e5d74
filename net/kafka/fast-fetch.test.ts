// The consumer's fetch hot path (fast-fetch.ts) against the generic handler (handlers/01-fetch.ts):
// the shapes it takes, answered with the same bytes the handler gives, now or after a wait; the
// shapes it leaves, with nothing done. In-process against the broker core on a temp dir (issue #23).
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/broker/broker.ts";
import type { AppendOptions } from "../../core/broker/append.ts";
import { encodeRecordBatch } from "../../core/batch/record-batch.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { decodeRequestHeader, encodeRequestHeader } from "../protocol/header.ts";
import { Fetch, type FetchRequest, defaultFetchRequest } from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import type { ConnectionContext } from "./dispatch.ts";
import { fastFetch } from "./fast-fetch.ts";
import { EncodedResponse, type RequestContext } from "./handler.ts";
import { fetchHandler } from "./handlers/01-fetch.ts";
import { kafkaDoor } from "./server.ts";
import { Session } from "./session.ts";

const APPEND: AppendOptions = { allowZstd: true, acks: "all" };

let dir: string;
let broker: Broker;
let conn: ConnectionContext;
let closing: AbortController;

async function open(opts: { authorization?: boolean } = {}): Promise<void> {
  broker = await Broker.open(
    { dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 2, ...(opts.authorization ? { auth: { authorizationEnabled: true } } : {}) },
    { info() {}, warn() {}, error() {} },
  );
  await broker.createTopic("t", 2);
  closing = new AbortController();
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 });
  conn = { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: closing.signal, session: new Session() };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-fast-fetch-"));
});

afterEach(async () => {
  closing.abort();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function frameOf(version: number, body: FetchRequest, correlationId: number, clientId: string | null = "fast-test"): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: Fetch.key, apiVersion: version, correlationId, clientId });
  Fetch.encodeRequest(w, version, body);
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

interface Ask {
  topic?: string;
  partition?: number;
  offset?: number;
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  isolationLevel?: number;
}

function request(ask: Ask = {}): FetchRequest {
  const { topic = "t", partition = 0, offset = 0, maxWaitMs = 0, minBytes = 1, maxBytes = 1 << 20, partitionMaxBytes = 1 << 20, isolationLevel = 0 } = ask;
  const topicId = broker.topic(topic)?.topicId ?? new Uint8Array(16);
  return {
    ...defaultFetchRequest(),
    maxWaitMs,
    minBytes,
    maxBytes,
    isolationLevel,
    topics: [{ topic, topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes }] }],
  };
}

function bytesOf(outcome: unknown): Uint8Array {
  expect(outcome).toBeInstanceOf(EncodedResponse);
  const chunks = (outcome as EncodedResponse).chunks;
  return Array.isArray(chunks) ? new Uint8Array(Buffer.concat(chunks)) : chunks;
}

/** The fast path's answer (a promise that settles when it answers); fails if it did not take the
 * frame, or answered during the call. */
function fast(frame: Uint8Array): Promise<Uint8Array> {
  let inCall = true;
  let settledInCall = false;
  const answer = new Promise<unknown>((resolve) => {
    const took = fastFetch(frame, conn, {
      settle(o) {
        if (inCall) settledInCall = true;
        resolve(o);
      },
    });
    expect(took).toBe(true);
  });
  inCall = false;
  return answer.then((o) => {
    expect(settledInCall).toBe(false);
    return bytesOf(o);
  });
}

/** The generic handler's answer to the same frame (decoded as dispatch decodes it). */
function generic(frame: Uint8Array): Promise<Uint8Array> {
  const r = new Reader(frame, 4);
  const header = decodeRequestHeader(r);
  const req = Fetch.decodeRequest(r, header.apiVersion);
  expect(r.error).toBeFalsy();
  const ctx: RequestContext = { ...conn, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId, session: conn.session! };
  return Promise.resolve(fetchHandler.handle(req, ctx)).then(bytesOf);
}

function answerOf(bytes: Uint8Array, version: number) {
  const r = new Reader(bytes, 8 + (version >= 12 ? 1 : 0));
  const res = Fetch.decodeResponse(r, version);
  expect(r.error).toBeFalsy();
  expect(r.remaining).toBe(0);
  return res.responses[0]!.partitions[0]!;
}

const batch = (value: string, records = 1) => encodeRecordBatch({ records: Array.from({ length: records }, () => ({ value: new TextEncoder().encode(value) })) });

async function fill(batches: number): Promise<void> {
  for (let i = 0; i < batches; i++) await broker.append("t", 0, batch(`record ${i} ${"x".repeat(100)}`, 3), APPEND).result;
}

test("every version 4–16, data ready: the same answer bytes as the generic handler, limits and isolation included", async () => {
  await open();
  await fill(20);
  const asks: Ask[] = [
    { offset: 0 },
    { offset: 7 }, // inside a batch: the batch holding it comes whole
    { offset: 0, partitionMaxBytes: 300 }, // whole batches within the limit, the first one whole regardless
    { offset: 0, maxBytes: 10 },
    { offset: 3, isolationLevel: 1 },
    { offset: 60 }, // at the high watermark, no wait: an empty answer
  ];
  for (let version = 4; version <= 16; version++) {
    for (const ask of asks) {
      for (const clientId of ["fast-test", null]) {
        const frame = frameOf(version, request(ask), 200 + version, clientId);
        const got = await fast(frame);
        const want = await generic(frame);
        expect({ version, ask, got: [...got] }).toEqual({ version, ask, got: [...want] });
        const a = answerOf(got, version);
        expect({ version, errorCode: a.errorCode, highWatermark: a.highWatermark }).toEqual({ version, errorCode: 0, highWatermark: 60n });
      }
    }
  }
});

test("a parked fetch is answered by the append that moves the high watermark, with what the generic handler sends", async () => {
  await open();
  await fill(2);
  for (const version of [4, 11, 12, 13, 16]) {
    const end = broker.partition("t", 0).highWatermark;
    const frame = frameOf(version, request({ offset: end, maxWaitMs: 30_000 }), 9);
    let answered = false;
    const waiting = fast(frame).then((b) => {
      answered = true;
      return b;
    });
    const genericWaiting = generic(frame);
    await Promise.resolve();
    expect(answered).toBe(false);
    await broker.append("t", 0, batch(`v${version}`, 2), APPEND).result;
    const got = await waiting;
    expect(got).toEqual(await genericWaiting);
    const a = answerOf(got, version);
    expect([a.errorCode, a.highWatermark]).toEqual([0, BigInt(end + 2)]);
    expect(a.records === null ? 0 : (a.records as Uint8Array[] | Uint8Array).length).toBeGreaterThan(0);
  }
});

test("a parked fetch ends at max_wait_ms with an empty answer, and min_bytes keeps it parked past a small append", async () => {
  await open();
  await fill(1);
  const emptyFrame = frameOf(12, request({ offset: 3, maxWaitMs: 30 }), 1);
  const empty = answerOf(await fast(emptyFrame), 12);
  expect([empty.errorCode, empty.highWatermark, (empty.records as Uint8Array | null)?.length ?? 0]).toEqual([0, 3n, 0]);
  // min_bytes above what one small append brings: still waiting after it, answered with it at the deadline.
  const frame = frameOf(12, request({ offset: 3, maxWaitMs: 200, minBytes: 1 << 20 }), 2);
  let answered = false;
  const waiting = fast(frame).then((b) => {
    answered = true;
    return b;
  });
  await broker.append("t", 0, batch("small"), APPEND).result;
  await Promise.resolve();
  expect(answered).toBe(false);
  const a = answerOf(await waiting, 12);
  expect([a.errorCode, a.highWatermark]).toEqual([0, 4n]);
  expect(a.records).not.toBeNull();
});

test("the broker's shutdown answers a parked fetch at once", async () => {
  await open();
  const waiting = fast(frameOf(11, request({ offset: 0, maxWaitMs: 600_000 }), 5));
  broker.beginShutdown();
  const a = answerOf(await waiting, 11);
  expect([a.errorCode, a.highWatermark]).toEqual([0, 0n]);
});

test("a read_committed fetch parked at the last stable offset waits through an open transaction's writes", async () => {
  await open();
  await fill(1);
  const { producerId, producerEpoch } = await broker.transactions.initProducerId("tx-fast", 60_000, null).then((r) => {
    if (r.error !== null) throw new Error(r.error);
    return r;
  });
  const added = await broker.transactions.addPartitions("tx-fast", producerId, producerEpoch, [{ topic: "t", partitions: [0] }]);
  expect(added.every((p) => p.error === null)).toBe(true);
  const frame = frameOf(12, request({ offset: 3, maxWaitMs: 30_000, isolationLevel: 1 }), 6);
  let answered = false;
  const waiting = fast(frame).then((b) => {
    answered = true;
    return b;
  });
  const txnBatch = encodeRecordBatch({ records: [{ value: new TextEncoder().encode("in txn") }], producerId, producerEpoch, baseSequence: 0, transactional: true });
  await broker.append("t", 0, txnBatch, APPEND).result;
  expect(broker.partition("t", 0).highWatermark).toBe(4);
  await Promise.resolve();
  expect(answered).toBe(false); // the high watermark moved, the last stable offset did not
  expect(await broker.transactions.endTxn("tx-fast", producerId, producerEpoch, true)).toBeNull();
  const a = answerOf(await waiting, 12);
  expect(a.errorCode).toBe(0);
  expect(a.lastStableOffset).toBeGreaterThanOrEqual(4n);
});

test("shapes it leaves to the generic handler: nothing done, false", async () => {
  await open();
  await fill(1);
  await broker.createTopic("zs", 1, { "compression.type": "zstd" });
  const two = request();
  two.topics[0]!.partitions.push({ ...two.topics[0]!.partitions[0]!, partition: 1 });
  const twoTopics = request();
  twoTopics.topics.push({ ...twoTopics.topics[0]!, topic: "zs" });
  const leaves: Array<[string, Uint8Array]> = [
    ["version 3", frameOf(3, request(), 1)],
    ["a follower (replica_id 1)", frameOf(11, { ...request(), replicaId: 1 }, 1)],
    ["a follower, v15 replica_state", frameOf(15, { ...request(), replicaState: { replicaId: 1, replicaEpoch: 0n } }, 1)],
    ["two partitions", frameOf(11, two, 1)],
    ["two partitions, v12", frameOf(12, two, 1)],
    ["two topics", frameOf(11, twoTopics, 1)],
    ["forgotten topics", frameOf(11, { ...request(), forgottenTopicsData: [{ topic: "t", topicId: new Uint8Array(16), partitions: [1] }] }, 1)],
    ["unknown topic", frameOf(11, request({ topic: "nope" }), 1)],
    ["unknown partition", frameOf(11, request({ partition: 9 }), 1)],
    ["offset past the high watermark", frameOf(11, request({ offset: 99 }), 1)],
    ["a fenced leader epoch", frameOf(11, { ...request(), topics: [{ ...request().topics[0]!, partitions: [{ ...request().topics[0]!.partitions[0]!, currentLeaderEpoch: 5 }] }] }, 1)],
    ["a zstd topic below v10", frameOf(9, request({ topic: "zs" }), 1)],
    ["a cluster id tag", frameOf(12, { ...request(), clusterId: "c" }, 1)],
  ];
  const frame = frameOf(11, request(), 1);
  const trailing = new Uint8Array(frame.length + 1);
  trailing.set(frame);
  trailing[3]! += 1;
  leaves.push(["a byte after the request", trailing]);
  leaves.push(["truncated", frame.subarray(0, frame.length - 3)]);
  for (const [what, f] of leaves) {
    let settled = false;
    const took = fastFetch(f, conn, { settle: () => (settled = true) });
    await Promise.resolve();
    expect({ what, took, settled }).toEqual({ what, took: false, settled: false });
  }
  // The generic handler answers the ones a client can send with their errors, as before.
  expect(answerOf(await generic(frameOf(11, request({ offset: 99 }), 1)), 11).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  expect(answerOf(await generic(frameOf(9, request({ topic: "zs" }), 1)), 9).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
});

test("with authorization on, every Fetch goes through the ACL gate: the fast path takes none", async () => {
  await open({ authorization: true });
  expect(fastFetch(frameOf(11, request(), 1), conn, { settle() {} })).toBe(false);
});
