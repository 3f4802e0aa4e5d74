// Issue #7, item 5: a full disk. The broker's data dir is a 64 MiB tmpfs (mounted here; skipped
// with the reason when mount is not permitted). Raw Produce requests (acks=-1, 256 KiB batches)
// fill it: every answer is either an acknowledgement (errorCode 0) or KAFKA_STORAGE_ERROR (56),
// and every acknowledged batch reads back byte for byte, while the refused ones left nothing on
// disk or visible (segment bytes = acknowledged bytes, high watermark = acknowledged records).
// kcat sees the refusal too (delivery fails, nothing appended). Reads (kcat -C) and group commits
// keep working on the full disk; deleting a topic frees space and writes resume without a restart.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { decodeRecordBatch, encodeRecordBatch } from "../core/batch/record-batch.ts";
import { seededRandom } from "../core/testing/seed.ts";
import {
  Fetch, OffsetCommit, OffsetFetch, Produce,
  defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic,
  defaultOffsetCommitRequest, defaultOffsetFetchRequest, defaultProduceRequest,
} from "../net/protocol/messages/index.ts";
import { type BrokerProcess, kcat, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const KAFKA_STORAGE_ERROR = 56;
const BATCH_VALUE_BYTES = 256 * 1024;
const mountPoint = `/tmp/streamctl-diskfull-${process.pid}`;
let mountProblem: string | null = null;
{
  mkdirSync(mountPoint, { recursive: true });
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mountPoint], { stderr: "pipe" });
  if (r.exitCode !== 0) mountProblem = `cannot mount a 64 MiB tmpfs: ${r.stderr.toString().trim()}`;
}
if (mountProblem) console.warn(`skipping disk-full tests: ${mountProblem}`);

let broker: BrokerProcess | undefined;
/** Figures for RELIABILITY.md (read by test/soak.ts through the environment's report file). */
export const diskFullFigures = { produceAttempts: 0, acknowledged: 0, refused: 0, falseAcks: 0 };

beforeAll(async () => {
  if (mountProblem) return;
  broker = await startBroker({ dataDir: join(mountPoint, "data") });
});

afterAll(async () => {
  if (broker && broker.proc.exitCode === null) await broker.kill9();
  if (!mountProblem) Bun.spawnSync(["umount", "-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
  const out = process.env.RELIABILITY_FIGURES;
  if (out) await Bun.write(`${out}.disk-full.json`, JSON.stringify(diskFullFigures));
});

async function http(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`http://${broker!.http}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function produce(conn: RawConnection, topic: string, value: Uint8Array): Promise<{ errorCode: number; baseOffset: number }> {
  const res = await conn.request(Produce, 7, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value }] }) }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

async function fetchAt(conn: RawConnection, topic: string, offset: number): Promise<{ errorCode: number; highWatermark: number; values: Uint8Array[] }> {
  const res = await conn.request(Fetch, 11, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 8 << 20,
    topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: BigInt(offset), partitionMaxBytes: 8 << 20 }] }],
  });
  const p = res.responses[0]!.partitions[0]!;
  const values: Uint8Array[] = [];
  const records = p.records as unknown as Uint8Array | Uint8Array[] | null;
  const bytes = records === null ? new Uint8Array(0) : Array.isArray(records) ? Buffer.concat(records) : records;
  let pos = 0;
  while (bytes.length - pos >= 61) {
    const size = new DataView(bytes.buffer, bytes.byteOffset + pos).getInt32(8) + 12;
    if (pos + size > bytes.length) break;
    for (const r of decodeRecordBatch(bytes.subarray(pos, pos + size)).records) values.push(r.value!);
    pos += size;
  }
  return { errorCode: p.errorCode, highWatermark: Number(p.highWatermark), values };
}

function segmentBytes(topic: string): number {
  const dir = join(mountPoint, "data", "topics", topic, "0");
  return readdirSync(dir).filter((f) => f.endsWith(".log")).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

async function commit(conn: RawConnection, topic: string, offset: number): Promise<number> {
  const res = await conn.request(OffsetCommit, 8, {
    ...defaultOffsetCommitRequest(),
    groupId: "full-disk-group",
    generationIdOrMemberEpoch: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: BigInt(offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }] }],
  });
  return res.topics[0]!.partitions[0]!.errorCode;
}

test.skipIf(mountProblem !== null)("a full disk refuses writes with KAFKA_STORAGE_ERROR, never acknowledges them, keeps reads and commits, and recovers after a delete (issue #7)", async () => {
  const conn = await RawConnection.open(broker!.kafka);
  for (const name of ["fill", "keep"]) {
    const r = await http("POST", "/v1/topics", { name, partitions: 1, configs: { "segment.bytes": String(4 << 20) } });
    expect(r.status).toBe(201);
  }
  expect((await produce(conn, "keep", new TextEncoder().encode("kept-0"))).errorCode).toBe(0);

  // Fill the disk. Values are seeded pseudo-random bytes, so each acknowledged one can be checked.
  const rand = seededRandom(7);
  const acked: Array<{ offset: number; value: Uint8Array }> = [];
  let refusedInARow = 0;
  while (refusedInARow < 5) {
    const value = new Uint8Array(BATCH_VALUE_BYTES).map(() => rand(256));
    const r = await produce(conn, "fill", value);
    diskFullFigures.produceAttempts++;
    expect([0, KAFKA_STORAGE_ERROR]).toContain(r.errorCode);
    if (r.errorCode === 0) {
      acked.push({ offset: r.baseOffset, value });
      refusedInARow = 0;
    } else {
      diskFullFigures.refused++;
      refusedInARow++;
    }
    if (diskFullFigures.produceAttempts > 1000) throw new Error("the 64 MiB disk never filled");
  }
  diskFullFigures.acknowledged = acked.length;
  expect(acked.length).toBeGreaterThan(100); // most of 64 MiB went into acknowledged batches
  expect(broker!.stderr()).toContain("ENOSPC");

  // Nothing refused is visible: offsets are dense, the high watermark is the acknowledged count,
  // and the segment files hold exactly the acknowledged batches (no partial batch left behind).
  expect(acked.map((a) => a.offset)).toEqual(acked.map((_, i) => i));
  const first = await fetchAt(conn, "fill", 0);
  expect(first.errorCode).toBe(0);
  expect(first.highWatermark).toBe(acked.length);
  const batchBytes = encodeRecordBatch({ records: [{ value: acked[0]!.value }] }).length;
  expect(segmentBytes("fill")).toBe(batchBytes * acked.length);
  // Every acknowledged batch reads back byte for byte (raw fetch), on the full disk.
  for (let offset = 0; offset < acked.length; ) {
    const got = await fetchAt(conn, "fill", offset);
    expect(got.errorCode).toBe(0);
    expect(got.values.length).toBeGreaterThan(0);
    for (const v of got.values) {
      if (Buffer.compare(Buffer.from(v), Buffer.from(acked[offset]!.value)) !== 0) diskFullFigures.falseAcks++;
      offset++;
    }
  }
  expect(diskFullFigures.falseAcks).toBe(0);

  // kcat sees it too: its delivery fails, nothing is appended.
  const big = "x".repeat(600 * 1024);
  const k = await kcat(broker!.kafka, ["-P", "-t", "fill", "-p", "0", "-X", "acks=all", "-X", "message.timeout.ms=3000", "-X", "retries=1"], { input: `${big}\n`, timeoutMs: 30_000 });
  expect(k.code).not.toBe(0);
  expect((await fetchAt(conn, "fill", 0)).highWatermark).toBe(acked.length);
  // Reads keep working through kcat as well.
  const read = await kcat(broker!.kafka, ["-C", "-t", "keep", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"]);
  expect(read.stdout).toBe("kept-0\n");
  const count = await kcat(broker!.kafka, ["-C", "-t", "fill", "-p", "0", "-o", "beginning", "-e", "-f", "%o\n"], { timeoutMs: 60_000 });
  expect(count.stdout.trim().split("\n").length).toBe(acked.length);

  // Group commits keep working (a commit is ~100 bytes; what the last big batch could not use is enough).
  expect(await commit(conn, "keep", 1)).toBe(0);
  const fetched = await conn.request(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId: "full-disk-group", topics: [{ name: "keep", partitionIndexes: [0] }] });
  expect(fetched.topics[0]!.partitions[0]!.committedOffset).toBe(1n);

  // Free space by deleting the big topic: writes resume without a restart.
  expect((await http("DELETE", "/v1/topics/fill")).status).toBe(200);
  const again = await produce(conn, "keep", new Uint8Array(BATCH_VALUE_BYTES).fill(7));
  expect(again).toEqual({ errorCode: 0, baseOffset: 1 });
  expect((await produce(conn, "keep", new TextEncoder().encode("kept-2"))).errorCode).toBe(0);
  const after = await kcat(broker!.kafka, ["-C", "-t", "keep", "-p", "0", "-o", "2", "-e", "-f", "%s\n"]);
  expect(after.stdout).toBe("kept-2\n");
  conn.close();
  expect(await broker!.stop()).toBe(0);
}, 180_000);
