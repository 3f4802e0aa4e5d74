// The produce hot path: a Produce request of the common shape, read straight from its frame and
// answered from the log's sync completion, with no request objects, promises or closures.
//
// The shape (anything else returns false before any effect, and dispatch decodes the request the
// generic way, handlers/00-produce.ts, which answers every case):
//
// | field (Produce v3-11)         | taken here when                                              |
// |-------------------------------|--------------------------------------------------------------|
// | request header                | v1 (v3-8) or v2 with no tagged fields (v9+); any client_id   |
// | transactional_id              | null                                                         |
// | acks                          | 1 or -1 (answered)                                           |
// | topic_data                    | one topic, one partition, records not null, no tagged fields |
// | the batch                     | uncompressed (compressed ones are decompressed ahead, off    |
// |                               | the main thread when large: produce-decompress.ts)           |
// | the frame                     | ends exactly after the request (no trailing bytes)           |
// | the connection                | admitted for Produce (logged in), single node (not cluster)  |
// | authorization                 | off (with ACLs on, every request passes acl-gate.ts)         |
//
// What it allocates per request, in steady state: the records view, this one object, the answer's
// frame and its EncodedResponse (net/protocol/fast-responses.ts). The generic path made the
// request's objects, a context, a decoded-request record, three promises (handler, append, sync
// wait) with their closures and a result object on top (issue #23).
//
// Behaviour is the generic handler's for the same request: the same core call (Broker.appendThen
// is Broker.append without the promise), the same answer bytes (produceResponseFrame), the same
// error codes and warnings, the same request metrics. The append's write happens during dispatch,
// so requests on one connection land in arrival order, as in the generic handler. A topic whose
// compression.type names a codec gets the uncompressed batch rebuilt in it by that same call
// (core/broker/append.ts step 3b; a zstd topic refuses Produce < v7 there), on the main thread:
// compressing is bounded by max.message.bytes, unlike inflating, which the fast path never does.
import { CoreError } from "../../core/errors.ts";
import type { AppendOptions } from "../../core/broker/append.ts";
import type { AppendSink, PartitionLog } from "../../core/log/partition-log.ts";
import * as be from "../../core/bytes.ts";
import { ATTR_CODEC_MASK, BATCH_HEADER_BYTES, OFF_ATTRIBUTES } from "../../core/batch/header.ts";
import { produceResponseFrame } from "../protocol/fast-responses.ts";
import { stringAt } from "../protocol/reader.ts";
import { errorMessage, kafkaErrorCode } from "./errors.ts";
import { EncodedResponse, type KafkaDoor } from "./handler.ts";
import { admits, type Session } from "./session.ts";
import { settleSoon } from "./settle-soon.ts";

/** What this needs of dispatch's connection context and outcome sink (dispatch.ts imports this
 * file, so the shapes are restated here instead of imported). */
interface ProduceConnection {
  door: KafkaDoor;
  session?: Session;
}
interface OutcomeSink {
  settle(outcome: EncodedResponse): void;
}

const PRODUCE_KEY = 0;
const FAST_MIN_VERSION = 3;
const FLEXIBLE_MIN_VERSION = 9;
/** By [zstd allowed (v7+)] + 2 × [acks=-1], as handlers/00-produce.ts. */
const APPEND_OPTIONS: readonly AppendOptions[] = [
  { allowZstd: false, acks: "leader" },
  { allowZstd: true, acks: "leader" },
  { allowZstd: false, acks: "all" },
  { allowZstd: true, acks: "all" },
];

/**
 * Takes `frame` (a whole request with its length prefix) if it is a Produce of the shape above:
 * appends it and settles `sink` with the answer later (never during this call, as dispatch
 * promises). False: nothing was done.
 */
export function fastProduce(frame: Uint8Array, conn: ProduceConnection, sink: OutcomeSink): boolean {
  const end = frame.length;
  if (end < 14 || be.int16(frame, 4) !== PRODUCE_KEY) return false;
  const version = be.int16(frame, 6);
  const door = conn.door;
  const handler = door.handlers.get(PRODUCE_KEY);
  if (version < FAST_MIN_VERSION || handler === undefined || version < handler.minVersion || version > handler.maxVersion) return false;
  if (conn.session !== undefined && !admits(conn.session, PRODUCE_KEY, Date.now)) return false;
  if (door.broker.auth.authorizationEnabled) return false;
  const flexible = version >= FLEXIBLE_MIN_VERSION;
  const correlationId = be.int32(frame, 8);
  // Header: client_id (always int16 length), then v2's tagged fields.
  const clientIdBytes = be.int16(frame, 12);
  let pos = 14 + (clientIdBytes > 0 ? clientIdBytes : 0);
  if (clientIdBytes < -1 || pos > end) return false;
  if (flexible) {
    if (pos >= end || frame[pos] !== 0) return false;
    pos++;
  }
  // transactional_id: null only.
  if (flexible) {
    if (pos >= end || frame[pos] !== 0) return false;
    pos++;
  } else {
    if (pos + 2 > end || be.int16(frame, pos) !== -1) return false;
    pos += 2;
  }
  if (pos + 6 > end) return false;
  const acks = be.int16(frame, pos);
  if (acks !== 1 && acks !== -1) return false;
  pos += 6; // acks, timeout_ms
  // One topic.
  if (flexible) {
    if (pos >= end || frame[pos] !== 2) return false;
    pos++;
  } else {
    if (pos + 4 > end || be.int32(frame, pos) !== 1) return false;
    pos += 4;
  }
  let nameBytes: number;
  if (flexible) {
    if (pos >= end || frame[pos]! >= 0x80 || frame[pos] === 0) return false; // names are < 127 bytes in one varint byte
    nameBytes = frame[pos]! - 1;
    pos++;
  } else {
    if (pos + 2 > end) return false;
    nameBytes = be.int16(frame, pos);
    pos += 2;
  }
  if (nameBytes < 0 || pos + nameBytes > end) return false;
  const namePos = pos;
  pos += nameBytes;
  // One partition.
  if (flexible) {
    if (pos >= end || frame[pos] !== 2) return false;
    pos++;
  } else {
    if (pos + 4 > end || be.int32(frame, pos) !== 1) return false;
    pos += 4;
  }
  if (pos + 4 > end) return false;
  const partition = be.int32(frame, pos);
  pos += 4;
  let recordsBytes: number;
  if (flexible) {
    // compact bytes: uvarint length + 1 (a batch needs up to 3 bytes of it: < 2 MiB here)
    let v = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end || shift > 21) return false;
      const b = frame[pos++]!;
      v |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    recordsBytes = v - 1;
  } else {
    if (pos + 4 > end) return false;
    recordsBytes = be.int32(frame, pos);
    pos += 4;
  }
  if (recordsBytes < 0 || pos + recordsBytes > end) return false;
  if (recordsBytes > BATCH_HEADER_BYTES && (frame[pos + OFF_ATTRIBUTES + 1]! & ATTR_CODEC_MASK) !== 0) return false;
  const recordsPos = pos;
  pos += recordsBytes;
  if (flexible) {
    // partition, topic and request tagged fields: none
    if (pos + 3 !== end || frame[pos] !== 0 || frame[pos + 1] !== 0 || frame[pos + 2] !== 0) return false;
  } else if (pos !== end) return false;

  const broker = door.broker;
  const topic = stringAt(frame, namePos, nameBytes);
  const request = new ProduceInFlight(sink, door, correlationId, version, topic, partition);
  try {
    const records = frame.subarray(recordsPos, recordsPos + recordsBytes);
    const log = broker.appendThen(topic, partition, records, APPEND_OPTIONS[(version >= 7 ? 1 : 0) + (acks === -1 ? 2 : 0)]!, request);
    if (log === null) return false;
    request.log = log;
  } catch (err) {
    request.refused(err);
  }
  request.dispatched();
  return true;
}

/** One Produce request from its append to its answer: the log's AppendSink. */
class ProduceInFlight implements AppendSink {
  offset = 0;
  baseOffset = -1;
  lastOffset = -1;
  logAppendTime = -1;
  duplicate = false;
  log: PartitionLog | null = null;
  private readonly started = performance.now();
  /** Still inside fastProduce: an outcome then waits for a microtask (dispatch's promise). */
  private inDispatch = true;
  private done = false;
  /** Why it was refused or failed (null: appended). */
  private error: unknown = null;

  constructor(
    private readonly sink: OutcomeSink,
    private readonly door: KafkaDoor,
    private readonly correlationId: number,
    private readonly version: number,
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  durable(): void {
    this.finish();
  }

  failed(err: unknown): void {
    // A sequence or epoch refusal is the producer's to handle, not the broker's to warn about.
    const refused = err instanceof CoreError && (err.code === "OUT_OF_ORDER_SEQUENCE" || err.code === "PRODUCER_FENCED");
    if (!refused) this.door.broker.log.warn(`append to ${this.topic}/${this.partition} failed: ${errorMessage(err)}`);
    this.refused(err);
  }

  /** Refused before the write: the partition's error code and message. */
  refused(err: unknown): void {
    this.error = err ?? new Error("append refused");
    this.finish();
  }

  dispatched(): void {
    this.inDispatch = false;
    if (this.done) {
      settleSoon(this);
    }
  }

  private finish(): void {
    this.done = true;
    if (!this.inDispatch) this.settle();
  }

  /** Encodes the answer (as the generic handler would) and hands it to the connection. */
  settle(): void {
    const err = this.error;
    const frame =
      err === null
        ? produceResponseFrame(this.correlationId, this.version, this.topic, this.partition, 0, this.baseOffset, this.duplicate ? -1 : this.logAppendTime, this.log?.startOffset ?? -1, null)
        : produceResponseFrame(this.correlationId, this.version, this.topic, this.partition, kafkaErrorCode(err), -1, -1, -1, errorMessage(err));
    this.door.broker.metrics.requestHandled(PRODUCE_KEY, performance.now() - this.started);
    this.sink.settle(new EncodedResponse(frame));
  }
}
