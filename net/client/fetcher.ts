// Fetcher: reads assigned partitions of one topic with Fetch long-polls, one request in flight per
// leader, pipelined: as soon as a response arrives the next request (from the offsets after its
// last whole batch) goes out, and only then is the response handed to the caller, so the broker
// reads the next chunk while we decode and print this one.
//
// Positions: `position(p)` is the next offset to fetch. A partition with a `stopAt` (exclusive)
// is done once its position reaches it and is no longer fetched; `poll()` returns null when every
// assigned partition is done (`--until-end`, `replay --to`).
//
// Errors per partition: NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION / leader-epoch errors
// refresh metadata and retry; OFFSET_OUT_OF_RANGE resets to the earliest offset when the position
// fell below the log start (retention deleted it) and to the latest otherwise, and tells the caller
// through `onReset`; anything else is thrown.
//
// Garbage: a consumer at the head of a topic written at 5,000 records/s fetches about once per
// record, so a poll allocates little: the request body of each leader is built once and only its
// offsets change, answers come through a ResponseHandler (no Promise.race over a Promise per
// leader), and a response without errors is turned into chunks without an await.
import { iterateBatches } from "../../core/batch/record-batch.ts";
import { OFF_LAST_OFFSET_DELTA } from "../../core/batch/header.ts";
import * as be from "../../core/bytes.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Fetch, type FetchRequest, type FetchRequestFetchPartition, type FetchResponse } from "../protocol/messages/index.ts";
import { backoffMs, EARLIEST, LATEST, sleep, type KafkaClient, type TopicInfo } from "./client.ts";
import type { Connection, ResponseHandler } from "./connection.ts";
import { FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES, FETCH_PARTITION_MAX_BYTES, RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError } from "./errors.ts";

/** Whole batches of one partition from one response. */
export interface FetchedChunk {
  partition: number;
  /** The offset this chunk was fetched from: records below it (in its first batch) are old. */
  fetchOffset: number;
  /** Whole batches, each a view into the response: valid until the next poll() (see handedOut). */
  batches: { baseOffset: number; bytes: Uint8Array }[];
  highWatermark: number;
}

export interface FetcherOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  /** Called when OFFSET_OUT_OF_RANGE moved a position. */
  onReset?: (partition: number, from: number, to: number) => void;
}

/** One Fetch in flight to one leader: what it asked for, then its answer or failure. */
class Outstanding implements ResponseHandler<FetchResponse> {
  settled = false;
  res: FetchResponse | null = null;
  error: unknown = null;
  /** Where it was sent (its answer's buffer goes back there, Connection.recycle). */
  conn: Connection | null = null;

  constructor(
    private readonly done: (o: Outstanding) => void,
    readonly leader: number,
    /** Partitions asked for and the offset each was fetched from (same order). */
    readonly partitions: number[],
    readonly offsets: number[],
  ) {}

  onResponse(res: FetchResponse): void {
    this.res = res;
    this.settle();
  }

  onError(err: Error): void {
    this.error = err;
    this.settle();
  }

  settle(): void {
    this.settled = true;
    this.done(this);
  }

  offsetOf(partition: number): number | undefined {
    const i = this.partitions.indexOf(partition);
    return i < 0 ? undefined : this.offsets[i];
  }
}

/** A leader's Fetch body, kept between requests while its partitions stay the same. */
interface LeaderRequest {
  body: FetchRequest;
  partitions: number[];
  /** The offsets now in `body` (as numbers: a BigInt is made only when one changes). */
  offsets: number[];
}

export class Fetcher {
  private readonly positions = new Map<number, number>();
  private readonly stops = new Map<number, number>();
  private readonly outstanding = new Map<number, Outstanding>();
  /** Assigned partitions, in assignment order (for loops that should not allocate an iterator). */
  private assignedList: number[] = [];
  private readonly requests = new Map<number, LeaderRequest>();
  /** Answers arrived and not yet taken by `poll()`, oldest first. */
  private arrived: Outstanding[] = [];
  /** Polls waiting for an answer (one, unless polls overlap). */
  private readonly waiters: (() => void)[] = [];
  private readonly settled = (o: Outstanding): void => {
    this.arrived.push(o);
    this.wake();
  };
  private epoch = 0;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly client: KafkaClient,
    readonly topic: string,
    private readonly opts: FetcherOptions = {},
  ) {}

  /** Replaces the assignment: partition → next offset, and optional exclusive stop offsets. */
  assign(positions: Map<number, number>, stops: Map<number, number> = new Map()): void {
    this.epoch++;
    this.outstanding.clear();
    this.positions.clear();
    this.stops.clear();
    for (const [p, o] of positions) this.positions.set(p, o);
    for (const [p, o] of stops) this.stops.set(p, o);
    this.assignedList = [...this.positions.keys()];
    this.requests.clear();
    this.arrived = [];
    this.wake();
  }

  private wake(): void {
    while (this.waiters.length > 0) this.waiters.pop()!();
  }

  position(partition: number): number | undefined {
    return this.positions.get(partition);
  }

  assigned(): number[] {
    return [...this.positions.keys()];
  }

  private active(partition: number): boolean {
    const stop = this.stops.get(partition);
    return stop === undefined || this.positions.get(partition)! < stop;
  }

  /** True once every assigned partition reached its stop offset. */
  get done(): boolean {
    for (let i = 0; i < this.assignedList.length; i++) if (this.active(this.assignedList[i]!)) return false;
    return true;
  }

  /**
   * The next chunks of data (possibly none, after an empty long-poll or a retried error), or
   * null when every partition is done. The previous poll's chunks are invalid from this call on.
   */
  async poll(): Promise<FetchedChunk[] | null> {
    this.recycleHandedOut();
    if (this.done) return null;
    const launching = this.launchAll();
    if (launching !== null) await launching;
    if (this.outstanding.size === 0) return [];
    const epoch = this.epoch;
    let first = this.nextArrived();
    while (first === undefined && epoch === this.epoch) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      first = this.nextArrived();
    }
    if (first === undefined || epoch !== this.epoch || this.outstanding.get(first.leader) !== first) return [];
    this.outstanding.delete(first.leader);
    const error = first.error;
    if (error !== null) {
      if (!isRetriableError(error) || this.failures >= RETRIES_MAX) throw error;
      await sleep(backoffMs(this.failures++));
      this.client.invalidate(this.topic);
      return [];
    }
    const res = first.res!;
    const chunks = clean(res, first) ? this.absorbClean(first, res) : await this.absorb(first, res);
    this.noteHandedOut(first.conn, res);
    if (epoch === this.epoch && !this.closed) {
      const relaunching = this.launchAll();
      if (relaunching !== null) await relaunching;
    }
    return chunks;
  }

  /**
   * The chunks a poll() returns are views into the answer's buffer, which the connection may
   * reuse for a later answer once it is handed back: at the next poll(). So a caller is done with
   * a poll's records when it polls again (data-consume.ts copies what it prints; RecordView is
   * reused per record anyway). One view of the answer's buffer is kept to find it by.
   */
  private handedOut: { conn: Connection; view: Uint8Array } | null = null;

  private noteHandedOut(conn: Connection | null, res: FetchResponse): void {
    let view: Uint8Array | null = null;
    for (const t of res.responses) for (const p of t.partitions) if (p.records !== null && (view === null || p.records.length > view.length)) view = p.records;
    this.handedOut = conn !== null && view !== null && view.length > 0 ? { conn, view } : null;
  }

  private recycleHandedOut(): void {
    const h = this.handedOut;
    if (h === null) return;
    this.handedOut = null;
    h.conn.recycle(h.view);
  }

  /** The oldest answer of a request still outstanding (answers to forgotten requests are dropped). */
  private nextArrived(): Outstanding | undefined {
    while (this.arrived.length > 0) {
      const o = this.arrived.shift()!;
      if (this.outstanding.get(o.leader) === o) return o;
    }
    return undefined;
  }

  /** `absorb` for a response with no error anywhere: no await, nothing but the chunks allocated. */
  private absorbClean(o: Outstanding, res: FetchResponse): FetchedChunk[] {
    const chunks: FetchedChunk[] = [];
    for (let ti = 0; ti < res.responses.length; ti++) {
      const t = res.responses[ti]!;
      if (t.topic !== this.topic) continue;
      for (let pi = 0; pi < t.partitions.length; pi++) {
        const p = t.partitions[pi]!;
        const from = o.offsetOf(p.partitionIndex);
        if (from === undefined || this.positions.get(p.partitionIndex) !== from) continue;
        chunks.push(this.chunk(p, from));
      }
    }
    this.failures = 0;
    return chunks;
  }

  /** The whole batches of a partition's records at or after `from`; advances its position past them. */
  private chunk(p: FetchResponse["responses"][number]["partitions"][number], from: number): FetchedChunk {
    const batches: { baseOffset: number; bytes: Uint8Array }[] = [];
    let next = from;
    if (p.records !== null && p.records.length > 0) {
      for (const span of iterateBatches(p.records)) {
        const baseOffset = be.int64(span.bytes, 0);
        const last = baseOffset + be.int32(span.bytes, OFF_LAST_OFFSET_DELTA);
        if (last < next) continue; // wholly before the position (a compacted or repeated batch)
        batches.push({ baseOffset, bytes: span.bytes });
        next = last + 1;
      }
    }
    this.positions.set(p.partitionIndex, next);
    return { partition: p.partitionIndex, fetchOffset: from, batches, highWatermark: Number(p.highWatermark) };
  }

  /** Turns a response into chunks, advancing positions past the whole batches it held. */
  private async absorb(o: Outstanding, res: FetchResponse): Promise<FetchedChunk[]> {
    if (res.errorCode !== 0) throw kafkaError(res.errorCode, `fetch from ${this.topic}`);
    const chunks: FetchedChunk[] = [];
    let stale = false;
    for (const t of res.responses) {
      if (t.topic !== this.topic) continue;
      for (const p of t.partitions) {
        const from = o.offsetOf(p.partitionIndex);
        if (from === undefined || this.positions.get(p.partitionIndex) !== from) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.resetOutOfRange(p.partitionIndex, from);
          continue;
        }
        if (p.errorCode !== 0) {
          if (isRetriableFetchCode(p.errorCode)) {
            stale = true;
            continue;
          }
          throw kafkaError(p.errorCode, `fetch ${this.topic}/${p.partitionIndex} at offset ${from}`);
        }
        chunks.push(this.chunk(p, from));
      }
    }
    this.failures = 0;
    if (stale) {
      this.client.invalidate(this.topic);
      await sleep(backoffMs(0));
    }
    return chunks;
  }

  private async resetOutOfRange(partition: number, from: number): Promise<void> {
    const [earliest, latest] = await Promise.all([
      this.client.listOffsets(this.topic, new Map([[partition, EARLIEST]])),
      this.client.listOffsets(this.topic, new Map([[partition, LATEST]])),
    ]);
    const lo = earliest.get(partition) ?? 0;
    const hi = latest.get(partition) ?? 0;
    const to = from < lo ? lo : hi;
    this.positions.set(partition, to);
    this.opts.onReset?.(partition, from, to);
  }

  /**
   * Sends a fetch to every leader that has active partitions and nothing outstanding. Null when
   * that is done; a Promise when the topic's leaders had to be looked up first.
   */
  private launchAll(): Promise<void> | null {
    const cached = this.client.cachedTopic(this.topic);
    if (cached !== undefined && allLed(cached)) {
      this.launchWith(cached);
      return null;
    }
    return this.client.topic(this.topic, { autoCreate: false }).then((info) => this.launchWith(info));
  }

  private launchWith(info: TopicInfo): void {
    let leaders: number[] | null = null;
    let byLeader: number[][] | null = null;
    for (let i = 0; i < this.assignedList.length; i++) {
      const partition = this.assignedList[i]!;
      if (!this.active(partition)) continue;
      const leader = leaderOf(info, partition);
      if (this.outstanding.has(leader)) continue;
      if (leaders === null || byLeader === null) {
        leaders = [leader];
        byLeader = [[partition]];
        continue;
      }
      const k = leaders.indexOf(leader);
      if (k >= 0) byLeader[k]!.push(partition);
      else {
        leaders.push(leader);
        byLeader.push([partition]);
      }
    }
    if (leaders === null || byLeader === null) return;
    for (let k = 0; k < leaders.length; k++) {
      const partitions = byLeader[k]!;
      const offsets = new Array<number>(partitions.length);
      for (let i = 0; i < partitions.length; i++) offsets[i] = this.positions.get(partitions[i]!)!;
      const o = new Outstanding(this.settled, leaders[k]!, partitions, offsets);
      this.outstanding.set(o.leader, o);
      this.send(o);
    }
  }

  private send(o: Outstanding): void {
    const conn = this.client.readyConnection(o.leader);
    if (conn !== undefined) this.sendOn(conn, o);
    else {
      this.client.nodeConnection(o.leader).then(
        (c) => this.sendOn(c, o),
        (err: Error) => o.onError(err),
      );
    }
  }

  private sendOn(conn: Connection, o: Outstanding): void {
    if (this.outstanding.get(o.leader) !== o) return; // assign() or close() forgot it meanwhile
    o.conn = conn;
    try {
      conn.requestWith(Fetch, this.requestBody(o), o);
    } catch (err) {
      o.onError(err as Error);
    }
  }

  /** The leader's Fetch body with this request's offsets (built once per leader and partition set;
   * encoding copies it before the next request changes it). */
  private requestBody(o: Outstanding): FetchRequest {
    let req = this.requests.get(o.leader);
    if (req === undefined || !sameNumbers(req.partitions, o.partitions)) {
      req = { body: this.newRequestBody(o.partitions), partitions: o.partitions, offsets: o.partitions.map(() => NaN) };
      this.requests.set(o.leader, req);
    }
    const entries = req.body.topics[0]!.partitions;
    for (let i = 0; i < entries.length; i++) {
      const offset = o.offsets[i]!;
      if (req.offsets[i] === offset) continue;
      req.offsets[i] = offset;
      entries[i]!.fetchOffset = BigInt(offset);
    }
    return req.body;
  }

  private newRequestBody(partitions: number[]): FetchRequest {
    return {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: this.opts.maxWaitMs ?? FETCH_MAX_WAIT_MS,
      minBytes: this.opts.minBytes ?? FETCH_MIN_BYTES,
      maxBytes: this.opts.maxBytes ?? FETCH_MAX_BYTES,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: this.topic,
          topicId: new Uint8Array(16),
          partitions: partitions.map(
            (partition): FetchRequestFetchPartition => ({
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: -1n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: this.opts.partitionMaxBytes ?? FETCH_PARTITION_MAX_BYTES,
            }),
          ),
        },
      ],
      forgottenTopicsData: [],
      rackId: "",
    };
  }

  close(): void {
    this.closed = true;
    this.epoch++;
    this.outstanding.clear();
    this.arrived = [];
    this.wake();
  }
}

/** True when no partition's answer carries an error (nor the response's own code). */
function clean(res: FetchResponse, o: Outstanding): boolean {
  if (res.errorCode !== 0) return false;
  for (let ti = 0; ti < res.responses.length; ti++) {
    const partitions = res.responses[ti]!.partitions;
    for (let pi = 0; pi < partitions.length; pi++) {
      const p = partitions[pi]!;
      if (p.errorCode !== 0 && o.offsetOf(p.partitionIndex) !== undefined) return false;
    }
  }
  return true;
}

function allLed(info: TopicInfo): boolean {
  for (let i = 0; i < info.partitions.length; i++) if (info.partitions[i]!.leader < 0) return false;
  return true;
}

function leaderOf(info: TopicInfo, partition: number): number {
  for (let i = 0; i < info.partitions.length; i++) if (info.partitions[i]!.partition === partition) return info.partitions[i]!.leader;
  return -1;
}

function sameNumbers(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isRetriableFetchCode(code: number): boolean {
  return (
    code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
    code === ErrorCode.LEADER_NOT_AVAILABLE ||
    code === ErrorCode.FENCED_LEADER_EPOCH ||
    code === ErrorCode.UNKNOWN_LEADER_EPOCH ||
    code === ErrorCode.OFFSET_NOT_AVAILABLE ||
    code === ErrorCode.REPLICA_NOT_AVAILABLE ||
    code === ErrorCode.KAFKA_STORAGE_ERROR
  );
}

export { LATEST, EARLIEST };
