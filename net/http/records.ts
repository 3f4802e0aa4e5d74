// Records in and out over HTTP, for scripts and curl.
//
//   POST /v1/topics/{name}/records[?partition=N]
//     Content-Type text/plain (or none, or curl's default form type): one record per line, the line is the value ("\r\n" ok;
//     a final newline does not make an empty record).
//     Content-Type application/x-ndjson, application/jsonl or application/json: one envelope per
//     line (envelope.ts); blank lines are skipped.
//     Records become RecordBatch v2 (encodeRecordBatch, uncompressed), cut under the topic's
//     max.message.bytes, and go through validateProduceBatch exactly like a Produce request.
//     Every batch is validated before any is appended; the answer comes after every batch is
//     durable under the fsync policy: {"topic","records","offsets":[{partition,baseOffset,lastOffset}]}.
//   GET /v1/topics/{name}/records?partition=0&offset=<start>&limit=100
//     NDJSON, one envelope per record from `offset` (records below it in the first batch are
//     skipped), at most `limit`, never past the high watermark. Headers x-next-offset and
//     x-high-watermark say where to continue.
import { ATTR_CONTROL } from "../../core/batch/header.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "../../core/batch/record-batch.ts";
import type { RecordInput } from "../../core/batch/record.ts";
import { type AppendOptions, type Broker, partitionOf } from "../../core/broker/broker.ts";
import { giveBack } from "../../core/lent-buffers.ts";
import type { PartitionLog } from "../../core/log/partition-log.ts";
import type { Topic } from "../../core/topics/topic-store.ts";
import { readBody } from "./body.ts";
import { envelopeOf, type Envelope, parseEnvelope } from "./envelope.ts";
import { badRequest, HttpError } from "./errors.ts";
import { READ_BYTES_STEP, RECORDS_BODY_BYTES_MAX, RECORDS_LIMIT_DEFAULT, RECORDS_LIMIT_MAX, RECORDS_PER_BATCH_MAX } from "./limits.ts";
import { partitionForKey, stickyPartition } from "./partitioner.ts";
import type { Route, RouteContext } from "./router.ts";
import { onPathTopic, pathTopic } from "./topics.ts";

const LINE_TYPES = ["", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"];
const NDJSON_TYPES = ["application/x-ndjson", "application/jsonl", "application/json", "application/ndjson"];
/** Bytes a record adds to a batch beyond its key, value and headers (varints, at most). */
const RECORD_OVERHEAD_MAX = 32;
const BATCH_HEADER_BYTES = 61;

/** An integer query parameter, or `fallback` when absent. */
export function intParam(url: URL, name: string, fallback: number | undefined, min = 0): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < min) {
    throw badRequest(`query parameter ${name} must be an integer ≥ ${min}, got '${raw}'`);
  }
  return Number(raw);
}

// --- in -------------------------------------------------------------------------------------

function parseBody(bytes: Uint8Array, contentType: string): Array<{ record: RecordInput; partition?: number }> {
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw badRequest("request body is not UTF-8");
  }
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  // curl -d / --data-binary sends form-urlencoded unless told otherwise: read it as lines too.
  if (LINE_TYPES.includes(mediaType)) {
    const encoder = new TextEncoder();
    return lines.map((line) => ({ record: { value: encoder.encode(line.endsWith("\r") ? line.slice(0, -1) : line) } }));
  }
  if (!NDJSON_TYPES.includes(mediaType)) {
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", `Content-Type ${mediaType}: send text/plain (one record per line) or application/x-ndjson (one envelope per line)`);
  }
  const out: Array<{ record: RecordInput; partition?: number }> = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw badRequest(`line ${i + 1}: not valid JSON: ${(err as Error).message}`, "INVALID_JSON");
    }
    out.push(parseEnvelope(value, `line ${i + 1}`));
  });
  return out;
}

function recordBytes(r: RecordInput): number {
  let n = RECORD_OVERHEAD_MAX + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers ?? []) n += h.key.length * 3 + (h.value?.length ?? 0) + 10;
  return n;
}

/** Groups records by partition, in order, and cuts each partition's run into batches. */
function planBatches(topic: Topic, parsed: Array<{ record: RecordInput; partition?: number }>, forced: number | undefined): Map<number, RecordInput[][]> {
  const n = topic.partitions.length;
  let sticky: number | undefined;
  const byPartition = new Map<number, RecordInput[][]>();
  const sizes = new Map<number, number>();
  const maxBytes = topic.configs["max.message.bytes"];
  for (const { record, partition: asked } of parsed) {
    let p = forced ?? asked;
    if (p === undefined) p = record.key ? partitionForKey(record.key, n) : (sticky ??= stickyPartition(topic.name, n));
    if (p >= n) throw new HttpError(404, "UNKNOWN_PARTITION", `topic '${topic.name}' has partitions 0..${n - 1}, not ${p}`);
    let batches = byPartition.get(p);
    if (!batches) byPartition.set(p, (batches = [[]]));
    let current = batches.at(-1)!;
    const size = recordBytes(record);
    const used = sizes.get(p) ?? BATCH_HEADER_BYTES;
    if (current.length > 0 && (used + size > maxBytes || current.length >= RECORDS_PER_BATCH_MAX)) {
      batches.push((current = []));
      sizes.set(p, BATCH_HEADER_BYTES + size);
    } else {
      sizes.set(p, used + size);
    }
    current.push(record);
  }
  return byPartition;
}

async function postRecords(ctx: RouteContext): Promise<Response> {
  const topic = pathTopic(ctx);
  const forced = intParam(ctx.url, "partition", undefined);
  if (forced !== undefined) partitionOf(topic, forced);
  const bytes = await readBody(ctx.req, RECORDS_BODY_BYTES_MAX);
  const parsed = parseBody(bytes, ctx.req.headers.get("content-type") ?? "");
  if (parsed.length === 0) throw badRequest("no records in the request body", "INVALID_RECORD");
  const plan = planBatches(topic, parsed, forced);
  const batches: Array<{ partition: number; batch: Uint8Array }> = [];
  for (const [partition, records] of plan) for (const r of records) batches.push({ partition, batch: encodeRecordBatch({ records: r }) });
  // The same path as a Produce request (validation, timestamps, counting, durability): every batch
  // is checked before any is appended, and the answer comes once all are durable.
  const appends = ctx.broker.appendAll(topic.name, batches, ANY_CODEC);
  const offsets = await Promise.all(
    appends.map(async (a, i) => {
      const r = await a.result;
      return { partition: batches[i]!.partition, baseOffset: r.baseOffset, lastOffset: r.lastOffset };
    }),
  );
  return Response.json({ topic: topic.name, records: parsed.length, offsets });
}

const ANY_CODEC: AppendOptions = { allowZstd: true };

// --- out ------------------------------------------------------------------------------------

export interface ReadRecordsResult {
  envelopes: Envelope[];
  nextOffset: number;
  bytes: number;
}

/**
 * Records of one partition from `offset`, at most `limit` and about `maxBytes` of batches, never
 * past the high watermark. Skips control batches and records below `offset`.
 */
export function readRecords(broker: Broker, topic: Topic, partition: number, log: PartitionLog, offset: number, limit: number, maxBytes = READ_BYTES_STEP): ReadRecordsResult {
  const envelopes: Envelope[] = [];
  let next = offset;
  let bytes = 0;
  while (envelopes.length < limit && bytes < maxBytes) {
    // The broker core checks the offset against the partition's range and counts what it serves.
    const read = broker.read(topic, log, next, READ_BYTES_STEP);
    if (read.chunks.length === 0) break;
    const before = next;
    for (const chunk of read.chunks) {
      for (const span of iterateBatches(chunk)) {
        bytes += span.size;
        const { header, records } = decodeRecordBatch(span.bytes, { verifyCrc: false });
        const batchEnd = header.baseOffset + header.lastOffsetDelta + 1;
        if (header.attributes & ATTR_CONTROL) {
          next = Math.max(next, batchEnd);
          continue;
        }
        for (const r of records) {
          if (r.offset < next) continue;
          if (envelopes.length >= limit) break;
          envelopes.push(envelopeOf(topic.name, partition, r));
          next = r.offset + 1;
        }
        if (envelopes.length >= limit) break;
        next = Math.max(next, batchEnd);
      }
      if (envelopes.length >= limit) break;
    }
    // Envelopes hold strings, not views: a read's lent buffers can go back (core/lent-buffers.ts).
    for (const chunk of read.chunks) giveBack(chunk);
    if (next === before) break; // nothing past `offset` in what the log returned
  }
  return { envelopes, nextOffset: next, bytes };
}

function getRecords(ctx: RouteContext): Response {
  const topic = pathTopic(ctx);
  const partition = intParam(ctx.url, "partition", 0)!;
  const log = partitionOf(topic, partition);
  const offset = intParam(ctx.url, "offset", log.startOffset)!;
  const limit = intParam(ctx.url, "limit", RECORDS_LIMIT_DEFAULT, 1)!;
  if (limit > RECORDS_LIMIT_MAX) throw badRequest(`limit must be at most ${RECORDS_LIMIT_MAX}, got ${limit}`);
  const { envelopes, nextOffset } = readRecords(ctx.broker, topic, partition, log, offset, limit, Number.POSITIVE_INFINITY);
  const body = envelopes.map((e) => `${JSON.stringify(e)}\n`).join("");
  return new Response(body, {
    headers: {
      "content-type": "application/x-ndjson",
      "x-next-offset": String(nextOffset),
      "x-high-watermark": String(log.highWatermark),
    },
  });
}

export const recordRoutes: Route[] = [
  { method: "POST", path: "/v1/topics/:name/records", access: onPathTopic("WRITE"), handle: postRecords },
  { method: "GET", path: "/v1/topics/:name/records", access: onPathTopic("READ"), handle: getRecords },
];
