// The produce hot path (fast-produce.ts) against the generic handler (handlers/00-produce.ts):
// the shapes it takes, answered with the same bytes the handler gives; the shapes it leaves, with
// nothing done. In-process against the broker core on a temp dir (issue #23).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker } from "../../core/broker/broker.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../core/batch/record-batch.ts";
import { ATTR_CODEC_MASK, Codec } from "../../core/batch/header.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { decodeRequestHeader, encodeRequestHeader } from "../protocol/header.ts";
import { Produce, type ProduceRequest, defaultProduceRequest } from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import type { ConnectionContext } from "./dispatch.ts";
import { fastProduce } from "./fast-produce.ts";
import { EncodedResponse, type RequestContext } from "./handler.ts";
import { produceHandler } from "./handlers/00-produce.ts";
import { kafkaDoor } from "./server.ts";
import { Session } from "./session.ts";

let dir: string;
let broker: Broker;
let conn: ConnectionContext;
let closing: AbortController;

async function open(fsync: "always" | "never"): Promise<void> {
  broker = await Broker.open({ dataDir: dir, fsync: { mode: fsync }, autoCreateTopics: true, defaultPartitions: 2 }, { info() {}, warn() {}, error() {} });
  await broker.createTopic("t", 2);
  closing = new AbortController();
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 });
  conn = { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: closing.signal, session: new Session() };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-fast-produce-"));
});

afterEach(async () => {
  closing.abort();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function frameOf(version: number, body: ProduceRequest, correlationId: number, clientId: string | null = "fast-test"): Uint8Array {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: Produce.key, apiVersion: version, correlationId, clientId });
  Produce.encodeRequest(w, version, body);
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

function request(records: Uint8Array, opts: Partial<ProduceRequest> & { topic?: string; partition?: number } = {}): ProduceRequest {
  const { topic = "t", partition = 0, ...rest } = opts;
  return { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }], ...rest };
}

const batch = (value: string) => encodeRecordBatch({ records: [{ value: new TextEncoder().encode(value) }] });

function bytesOf(outcome: unknown): Uint8Array {
  expect(outcome).toBeInstanceOf(EncodedResponse);
  const chunks = (outcome as EncodedResponse).chunks;
  return Array.isArray(chunks) ? new Uint8Array(Buffer.concat(chunks)) : chunks;
}

/** The fast path's answer; fails if it did not take the frame. Checks it is never settled during the call. */
async function fast(frame: Uint8Array): Promise<Uint8Array> {
  let inCall = true;
  let settledInCall = false;
  const answer = new Promise<unknown>((resolve) => {
    const took = fastProduce(frame, conn, {
      settle(o) {
        if (inCall) settledInCall = true;
        resolve(o);
      },
    });
    expect(took).toBe(true);
  });
  inCall = false;
  const bytes = bytesOf(await answer);
  expect(settledInCall).toBe(false);
  return bytes;
}

/** The generic handler's answer to the same frame (decoded as dispatch decodes it). */
async function generic(frame: Uint8Array): Promise<Uint8Array> {
  const r = new Reader(frame, 4);
  const header = decodeRequestHeader(r);
  const req = Produce.decodeRequest(r, header.apiVersion);
  expect(r.error).toBeFalsy();
  const ctx: RequestContext = { ...conn, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId, session: conn.session! };
  return bytesOf(await produceHandler.handle(req, ctx));
}

function answerOf(bytes: Uint8Array, version: number) {
  const r = new Reader(bytes, 8 + (version >= 9 ? 1 : 0));
  const res = Produce.decodeResponse(r, version);
  expect(r.error).toBeFalsy();
  expect(r.remaining).toBe(0);
  return res.responses[0]!.partitionResponses[0]!;
}

describe.each(["always", "never"] as const)("fast produce, fsync %s", (fsync) => {
  test("every version 3–11, acks 1 and -1: appended in order, answered as the generic handler answers", async () => {
    await open(fsync);
    let expected = 0;
    for (let version = 3; version <= 11; version++) {
      for (const acks of [1, -1]) {
        for (const clientId of ["fast-test", null]) {
          const frame = frameOf(version, request(batch(`v${version}`), { acks }), 100 + version, clientId);
          const copy = frame.slice(); // the append writes the offsets into the request's batch
          const got = await fast(frame);
          const a = answerOf(got, version);
          expect({ version, errorCode: a.errorCode, baseOffset: a.baseOffset }).toEqual({ version, errorCode: 0, baseOffset: BigInt(expected) });
          if (version >= 5) expect(a.logStartOffset).toBe(0n);
          // The generic handler's answer to the same request, one offset on, is the same bytes but for the offset.
          const want = await generic(copy);
          const b = answerOf(want, version);
          expect(b.baseOffset).toBe(BigInt(expected + 1));
          expect(got.length).toBe(want.length);
          expected += 2;
        }
      }
    }
    expect(broker.partition("t", 0).endOffset).toBe(expected);
  });

  test("refusals: the same error code and message bytes as the generic handler, nothing appended", async () => {
    await open(fsync);
    const corrupt = batch("x");
    corrupt[corrupt.length - 1]! ^= 1; // CRC mismatch
    const cases: Array<[string, ProduceRequest, number]> = [
      ["unknown topic", request(batch("x"), { topic: "nope" }), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ["unknown partition", request(batch("x"), { partition: 7 }), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ["corrupt batch", request(corrupt), ErrorCode.CORRUPT_MESSAGE],
    ];
    for (const [what, req, code] of cases) {
      for (const version of [3, 8, 9, 11]) {
        const frame = frameOf(version, req, 7);
        const copy = frame.slice();
        const got = await fast(frame);
        expect({ what, version, code: answerOf(got, version).errorCode }).toEqual({ what, version, code });
        expect(got).toEqual(await generic(copy));
      }
    }
    expect(broker.partition("t", 0).endOffset).toBe(0);
  });

  test("a topic with compression.type set: the fast path appends through the same recompression; a zstd topic below v7 is refused as the generic handler refuses", async () => {
    await open(fsync);
    await broker.createTopic("gz", 1, { "compression.type": "gzip" });
    await broker.createTopic("zs", 1, { "compression.type": "zstd" });
    const got = answerOf(await fast(frameOf(9, request(batch("plain"), { topic: "gz" }), 3)), 9);
    expect([got.errorCode, got.baseOffset]).toEqual([0, 0n]);
    const log = broker.partition("gz", 0);
    const read = broker.read(broker.topic("gz")!, log, 0, 1 << 20);
    const stored = decodeRecordBatch(new Uint8Array(Buffer.concat(read.chunks)));
    expect(stored.header.attributes & ATTR_CODEC_MASK).toBe(Codec.Gzip);
    expect(new TextDecoder().decode(stored.records[0]!.value!)).toBe("plain");
    for (const version of [3, 6]) {
      const frame = frameOf(version, request(batch("z"), { topic: "zs" }), 4);
      const copy = frame.slice();
      const refused = await fast(frame);
      expect(answerOf(refused, version).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      expect(refused).toEqual(await generic(copy));
    }
    expect(broker.partition("zs", 0).endOffset).toBe(0);
    expect(answerOf(await fast(frameOf(7, request(batch("z"), { topic: "zs" }), 5)), 7).errorCode).toBe(0);
  });

  test("shapes it leaves to the generic handler: nothing done, false", async () => {
    await open(fsync);
    const two = { ...request(batch("a")), topicData: [{ name: "t", partitionData: [{ index: 0, records: batch("a") }, { index: 1, records: batch("b") }] }] };
    const leaves: Array<[string, Uint8Array]> = [
      ["acks 0", frameOf(9, request(batch("a"), { acks: 0 }), 1)],
      ["acks 2", frameOf(9, request(batch("a"), { acks: 2 }), 1)],
      ["a transactional id", frameOf(9, request(batch("a"), { transactionalId: "tx" }), 1)],
      ["a transactional id, v3", frameOf(3, request(batch("a"), { transactionalId: "tx" }), 1)],
      ["two partitions", frameOf(9, two, 1)],
      ["two partitions, v8", frameOf(8, two, 1)],
      ["null records", frameOf(9, request(null as unknown as Uint8Array), 1)],
      ["version 2", frameOf(2, request(batch("a")), 1)],
      ["a compressed batch", frameOf(9, request(encodeRecordBatch({ records: [{ value: new Uint8Array(50) }], codec: Codec.Gzip })), 1)],
      ["a request tag", frameOf(9, { ...request(batch("a")), unknownTaggedFields: [{ tag: 5, data: new Uint8Array([1]) }] }, 1)],
    ];
    const frame = frameOf(9, request(batch("a")), 1);
    const trailing = new Uint8Array(frame.length + 1);
    trailing.set(frame);
    trailing[3]! += 1;
    leaves.push(["a byte after the request", trailing]);
    leaves.push(["truncated", frame.subarray(0, frame.length - 5)]);
    for (const [what, f] of leaves) {
      let settled = false;
      const took = fastProduce(f, conn, { settle: () => (settled = true) });
      await Promise.resolve();
      expect({ what, took, settled }).toEqual({ what, took: false, settled: false });
    }
    expect(broker.partition("t", 0).endOffset).toBe(0);
    expect(broker.partition("t", 1).endOffset).toBe(0);
  });
});

test("with authorization on, every Produce goes through the ACL gate: the fast path takes none", async () => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-fast-produce-"));
  broker = await Broker.open({ dataDir: dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1, auth: { authorizationEnabled: true } }, { info() {}, warn() {}, error() {} });
  await broker.createTopic("t", 1);
  closing = new AbortController();
  const door = kafkaDoor(broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 });
  conn = { broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: closing.signal, session: new Session() };
  expect(fastProduce(frameOf(9, request(batch("a")), 1), conn, { settle() {} })).toBe(false);
  expect(broker.partition("t", 0).endOffset).toBe(0);
});
