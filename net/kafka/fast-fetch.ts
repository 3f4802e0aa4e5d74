// The consumer's fetch hot path: a Fetch of one partition read straight from its frame, parked on
// the partition's log as a waiter object (no promise, closure or abort listener per request) and
// answered when the high watermark moves, its max_wait_ms ends or the broker stops.
//
// The shape (anything else returns false before any effect, and dispatch decodes the request the
// generic way, handlers/01-fetch.ts, which answers every case):
//
// | field (Fetch v4-16)              | taken here when                                          |
// |----------------------------------|----------------------------------------------------------|
// | request header                   | v1 (v4-11) or v2 with no tagged fields (v12+)            |
// | replica_id / replica_state       | -1 (a consumer; v15+: no replica_state tag)              |
// | session_id, session_epoch        | any (sessions are not kept: the answer says session 0)   |
// | topics                           | one topic (by name to v12, by id from v13), one partition, |
// |                                  | no tagged fields                                         |
// | forgotten_topics_data            | none                                                     |
// | rack_id                          | any                                                      |
// | the partition                    | exists, leader epoch accepted, fetch offset within       |
// |                                  | [log start, high watermark]; not a zstd topic below v10  |
// | the frame                        | ends exactly after the request (no trailing bytes)       |
// | the connection                   | admitted for Fetch (logged in), single node (not cluster)|
// | authorization                    | off (with ACLs on, every request passes acl-gate.ts)     |
//
// Behaviour is the generic handler's for the same request: the same read (readPartition of
// handlers/01-fetch.ts, which the handler uses for every partition), the same wait (until the
// high watermark moves, max_wait_ms or shutdown; min_bytes as there), the same answer bytes
// (fetchResponseFrame) and request metrics. A closed connection's parked fetch is not woken by the
// close: it ends at its max_wait_ms, and its answer goes nowhere (the connection drops it).
//
// What it allocates per request, in steady state: this object, its timer while parked, the read's
// answer (a round, the partition's and topic's answer objects, the chunk list), the answer's frame
// and its EncodedResponse. The generic path decoded the request into objects, made a context, a
// decoded-request record, the handler's promise, waitForData's promise with five closures and two
// abort listeners, and the same answer on top (issue #23).
import type { Broker } from "../../core/broker/broker.ts";
import type { HighWatermarkWaiter, PartitionLog } from "../../core/log/partition-log.ts";
import type { Topic } from "../../core/topics/topic-store.ts";
import * as be from "../../core/bytes.ts";
import { fetchResponseFrame } from "../protocol/fast-responses.ts";
import { stringAt } from "../protocol/reader.ts";
import { EncodedResponse, type KafkaDoor } from "./handler.ts";
import { FetchRound, readPartition } from "./handlers/01-fetch.ts";
import { admits, type Session } from "./session.ts";
import { settleSoon } from "./settle-soon.ts";

/** What this needs of dispatch's connection context and outcome sink (dispatch.ts imports this
 * file, so the shapes are restated here instead of imported). */
interface FetchConnection {
  door: KafkaDoor;
  session?: Session;
  closed: AbortSignal;
}
interface OutcomeSink {
  settle(outcome: EncodedResponse): void;
}

const FETCH_KEY = 1;
const FAST_MIN_VERSION = 4;
const FLEXIBLE_MIN_VERSION = 12;
const TOPIC_ID_MIN_VERSION = 13;
/** From v15 the replica id is the replica_state tagged field; a consumer sends none. */
const REPLICA_STATE_MIN_VERSION = 15;
const CONSUMER_REPLICA_ID = -1;
const READ_COMMITTED = 1;

/**
 * Takes `frame` (a whole request with its length prefix) if it is a Fetch of the shape above and
 * settles `sink` with the answer later (never during this call, as dispatch promises). False:
 * nothing was done.
 */
export function fastFetch(frame: Uint8Array, conn: FetchConnection, sink: OutcomeSink): boolean {
  const end = frame.length;
  if (end < 14 || be.int16(frame, 4) !== FETCH_KEY) return false;
  const version = be.int16(frame, 6);
  const door = conn.door;
  const handler = door.handlers.get(FETCH_KEY);
  if (version < FAST_MIN_VERSION || handler === undefined || version < handler.minVersion || version > handler.maxVersion) return false;
  if (conn.session !== undefined && !admits(conn.session, FETCH_KEY, Date.now)) return false;
  const broker = door.broker;
  if (broker.auth.authorizationEnabled || broker.cluster !== null) return false;
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
  if (version < REPLICA_STATE_MIN_VERSION) {
    if (pos + 4 > end || be.int32(frame, pos) !== CONSUMER_REPLICA_ID) return false;
    pos += 4;
  }
  // max_wait_ms, min_bytes, max_bytes, isolation_level, then (v7+) session id and epoch.
  if (pos + 13 > end) return false;
  const maxWaitMs = be.int32(frame, pos);
  const minBytes = be.int32(frame, pos + 4);
  const maxBytes = be.int32(frame, pos + 8);
  const committed = frame[pos + 12] === READ_COMMITTED;
  pos += 13 + (version >= 7 ? 8 : 0);
  // One topic.
  if (!oneElement(frame, pos, end, flexible)) return false;
  pos += flexible ? 1 : 4;
  let topic: Topic | undefined;
  let topicIdPos = -1;
  if (version >= TOPIC_ID_MIN_VERSION) {
    if (pos + 16 > end) return false;
    topicIdPos = pos;
    topic = broker.topicById(frame.subarray(pos, pos + 16));
    pos += 16;
  } else {
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
    topic = broker.topic(stringAt(frame, pos, nameBytes));
    pos += nameBytes;
  }
  // One partition.
  if (!oneElement(frame, pos, end, flexible)) return false;
  pos += flexible ? 1 : 4;
  const fieldsEnd = pos + 4 + (version >= 9 ? 4 : 0) + 8 + (version >= 12 ? 4 : 0) + (version >= 5 ? 8 : 0) + 4;
  if (fieldsEnd > end) return false;
  const partition = be.int32(frame, pos);
  pos += 4;
  let currentLeaderEpoch = -1;
  if (version >= 9) {
    currentLeaderEpoch = be.int32(frame, pos);
    pos += 4;
  }
  const offset = be.int64(frame, pos);
  pos += 8 + (version >= 12 ? 4 : 0) + (version >= 5 ? 8 : 0); // last_fetched_epoch, log_start_offset
  const partitionMaxBytes = be.int32(frame, pos);
  pos += 4;
  if (flexible) {
    // partition and topic tagged fields: none
    if (pos + 2 > end || frame[pos] !== 0 || frame[pos + 1] !== 0) return false;
    pos += 2;
  }
  // forgotten_topics_data (v7+): none.
  if (version >= 7) {
    if (flexible) {
      if (pos >= end || frame[pos] !== 1) return false;
      pos++;
    } else {
      if (pos + 4 > end || be.int32(frame, pos) !== 0) return false;
      pos += 4;
    }
  }
  // rack_id (v11+): any.
  if (version >= 11) {
    if (flexible) {
      if (pos >= end || frame[pos]! >= 0x80) return false; // a rack id under 127 bytes
      pos += frame[pos] === 0 ? 1 : frame[pos]!; // compact string: length + 1 (0 = null)
    } else {
      if (pos + 2 > end) return false;
      const n = be.int16(frame, pos);
      pos += 2 + (n > 0 ? n : 0);
    }
  }
  if (flexible) {
    // request tagged fields: none (v15+: no replica_state, so a consumer)
    if (pos + 1 !== end || frame[pos] !== 0) return false;
  } else if (pos !== end) return false;

  // The partition must be one the generic path would read from, with no error to answer.
  const log = topic?.partitions[partition];
  if (topic === undefined || log === undefined) return false;
  if (version < 10 && topic.configs.values["compression.type"] === "zstd") return false;
  if (offset < log.startOffset || offset > log.highWatermark) return false;
  try {
    broker.checkLeader(topic.name, partition, currentLeaderEpoch);
  } catch {
    return false;
  }
  const request = new FetchInFlight(sink, broker, conn.closed, correlationId, version, topic, topicIdPos < 0 ? NO_TOPIC_ID : frame.slice(topicIdPos, topicIdPos + 16), log, partition, currentLeaderEpoch, offset, partitionMaxBytes, maxBytes, minBytes, committed, Math.max(0, maxWaitMs));
  request.step();
  request.dispatched();
  return true;
}

const NO_TOPIC_ID = new Uint8Array(16);

/** An array of exactly one element at `pos`: compact count 2, or int32 1. */
function oneElement(frame: Uint8Array, pos: number, end: number, flexible: boolean): boolean {
  if (flexible) return pos < end && frame[pos] === 2;
  return pos + 4 <= end && be.int32(frame, pos) === 1;
}

/** One Fetch from its frame to its answer: parked on the log while there is nothing to send. */
class FetchInFlight implements HighWatermarkWaiter {
  private readonly started = performance.now();
  private readonly deadline: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The high watermark when it parked: a rise tells it something only past this. (A fetch that
   * parks again while the log is telling its waiters of a rise is told of that same rise again.) */
  private parkedAt = -1;
  private answer: Uint8Array | Uint8Array[] | null = null;
  /** Still inside fastFetch: an answer then waits for a microtask (dispatch's promise). */
  private inDispatch = true;

  constructor(
    private readonly sink: OutcomeSink,
    readonly broker: Broker,
    private readonly closed: AbortSignal,
    private readonly correlationId: number,
    private readonly version: number,
    private readonly topic: Topic,
    private readonly topicId: Uint8Array,
    private readonly log: PartitionLog,
    private readonly partition: number,
    private readonly currentLeaderEpoch: number,
    private readonly offset: number,
    private readonly partitionMaxBytes: number,
    private readonly maxBytes: number,
    private readonly minBytes: number,
    private readonly committed: boolean,
    maxWaitMs: number,
  ) {
    this.deadline = Date.now() + maxWaitMs;
  }

  /** The generic handler's loop, one turn: wait while there is nothing new, else read and answer
   * if it is enough (or time is up), else wait again. */
  step(): void {
    const remaining = this.deadline - Date.now();
    const stopped = this.closed.aborted || this.broker.shutdown.aborted;
    if (remaining > 0 && !stopped && this.offset === (this.committed ? this.log.lastStableOffset : this.log.highWatermark)) {
      this.park(remaining);
      return;
    }
    const round = new FetchRound(this.maxBytes);
    const p = readPartition(round, this.broker, this.version, this.topic, this.topic.name, this.partition, this.currentLeaderEpoch, this.offset, this.partitionMaxBytes, this.committed);
    if (round.bytes >= Math.max(1, this.minBytes) || round.errors || remaining <= 0 || stopped) {
      this.answer = fetchResponseFrame(this.correlationId, this.version, [{ topic: this.topic.name, topicId: this.topicId, partitions: [p] }]);
      if (!this.inDispatch) this.settle();
      return;
    }
    this.park(remaining);
  }

  private park(remainingMs: number): void {
    this.parkedAt = this.log.highWatermark;
    this.log.waitForHighWatermark(this);
    this.timer = setTimeout(wakeOnTimeout, remainingMs, this);
    parkedOn(this.broker).add(this);
  }

  /** The high watermark moved, the wait is over, or the broker stops: look again. */
  wake(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.log.stopWaiting(this);
    parked.get(this.broker)?.delete(this);
    this.step();
  }

  highWatermarkMoved(): void {
    if (this.log.highWatermark > this.parkedAt) this.wake();
  }

  dispatched(): void {
    this.inDispatch = false;
    if (this.answer !== null) {
      settleSoon(this);
    }
  }

  settle(): void {
    const frame = this.answer!;
    this.answer = null;
    this.broker.metrics.requestHandled(FETCH_KEY, performance.now() - this.started);
    this.sink.settle(new EncodedResponse(frame));
  }
}

function wakeOnTimeout(request: FetchInFlight): void {
  request.wake();
}

/** Parked fetches by broker, so that the broker's shutdown answers them at once, as it does the
 * generic path's waits. */
const parked = new WeakMap<Broker, Set<FetchInFlight>>();

function parkedOn(broker: Broker): Set<FetchInFlight> {
  let set = parked.get(broker);
  if (set === undefined) {
    const waiting = new Set<FetchInFlight>();
    set = waiting;
    parked.set(broker, waiting);
    broker.shutdown.addEventListener("abort", () => {
      for (const request of [...waiting]) request.wake();
    }, { once: true });
  }
  return set;
}
