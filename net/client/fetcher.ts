// Fetcher: reads assigned partitions, of one topic or several, with Fetch long-polls, one request
// in flight per leader, pipelined: as soon as a response arrives the next request (from the
// offsets after its last whole batch) goes out, and only then is the response handed to the
// caller, so the broker reads the next chunk while we decode and print this one. The consumer
// (consumer.ts) drives it; it knows nothing of groups or commits.
//
// Positions: each assigned partition is a `FetchPartition` whose `position` is the next offset to
// fetch. One with a `stop` (exclusive) is done once its position reaches it and is no longer
// fetched; `poll()` returns null when every assigned partition is done (`--until-end`, `replay --to`).
//
// Isolation (default read_committed, as streamctl's consume; Kafka's consumers default to
// read_uncommitted): read_committed fetches stop at the last stable offset, and the batches of
// aborted transactions are left out of the chunks, found as Kafka's consumer finds them — the
// answer lists each aborted transaction's producer and first offset; from there, that producer's
// transactional batches are aborted until its abort marker. Control batches stay in the chunks
// (record-walker.ts never shows them as records); positions move past everything left out.
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
import { readMarker } from "../../core/batch/control.ts";
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, OFF_ATTRIBUTES, OFF_LAST_OFFSET_DELTA, OFF_PRODUCER_ID } from "../../core/batch/header.ts";
import * as be from "../../core/bytes.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Fetch, type FetchRequest, type FetchRequestFetchPartition, type FetchRequestFetchTopic, type FetchResponse } from "../protocol/messages/index.ts";
import { backoffMs, EARLIEST, LATEST, sleep, type KafkaClient, type TopicInfo } from "./client.ts";
import type { Connection, ResponseHandler } from "./connection.ts";
import { FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES, FETCH_PARTITION_MAX_BYTES, RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError } from "./errors.ts";

/** One assigned partition: where fetching goes on from and where it stops. */
export class FetchPartition {
  /** The offset after the records its owner is done with (the consumer's; the fetcher never reads it). */
  processed: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The next offset to fetch. */
    public position: number,
    /** Exclusive; Infinity when the partition is followed forever. */
    readonly stop: number = Infinity,
  ) {
    this.processed = position;
  }

  get active(): boolean {
    return this.position < this.stop;
  }
}

/** Whole batches of one partition from one response. */
export interface FetchedChunk {
  topic: string;
  partition: number;
  /** The offset this chunk was fetched from: records below it (in its first batch) are old. */
  fetchOffset: number;
  /** The offset after its last whole batch: where the next fetch of the partition starts. */
  nextOffset: number;
  /** The partition's exclusive stop offset (Infinity when none): records at or past it are not for the caller. */
  stop: number;
  /** Whole batches, each a view into the response: valid until the next poll() (see handedOut). */
  batches: { baseOffset: number; bytes: Uint8Array }[];
  highWatermark: number;
  /** The assigned partition it came from. */
  source: FetchPartition;
}

export interface FetcherOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  /** read_committed (default): see "Isolation" above. */
  isolation?: Isolation;
  /** Called when OFFSET_OUT_OF_RANGE moved a position. */
  onReset?: (topic: string, partition: number, from: number, to: number) => void;
}

export type Isolation = "read_committed" | "read_uncommitted";

/** The Kafka isolation_level of an Isolation (Fetch, ListOffsets). */
export function isolationLevel(isolation: Isolation | undefined): number {
  return isolation === "read_uncommitted" ? 0 : 1;
}

/** One Fetch in flight to one leader: what it asked for, then its answer or failure. */
class Outstanding implements ResponseHandler<FetchResponse> {
  settled = false;
  res: FetchResponse | null = null;
  error: unknown = null;
  /** Where it was sent (its answer's buffer goes back there, Connection.recycle). */
  conn: Connection | null = null;
  /** Where the last lookup found its partition: answers list partitions in the order asked. */
  private hint = 0;

  constructor(
    private readonly done: (o: Outstanding) => void,
    readonly leader: number,
    /** Partitions asked for, grouped by topic in first-seen order, and the offset each was fetched from (same order). */
    readonly parts: FetchPartition[],
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

  /** Index of `topic`/`partition` among the partitions asked for, or -1. */
  indexOf(topic: string, partition: number): number {
    const n = this.parts.length;
    for (let k = 0; k < n; k++) {
      const i = (this.hint + k) % n;
      const p = this.parts[i]!;
      if (p.partition === partition && p.topic === topic) {
        this.hint = i + 1;
        return i;
      }
    }
    return -1;
  }
}

/** A leader's Fetch body, kept between requests while its partitions stay the same. */
interface LeaderRequest {
  body: FetchRequest;
  parts: FetchPartition[];
  /** `body`'s partition entries, flattened in the order of `parts`. */
  entries: FetchRequestFetchPartition[];
  /** The offsets now in `entries` (as numbers: a BigInt is made only when one changes). */
  offsets: number[];
}

export class Fetcher {
  /** Assigned partitions, in assignment order (loops over it allocate no iterator). */
  private parts: FetchPartition[] = [];
  /** The assigned topics, each once. */
  private topics: string[] = [];
  private readonly outstanding = new Map<number, Outstanding>();
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
    private readonly opts: FetcherOptions = {},
  ) {}

  /** Replaces the assignment (the partitions' positions and stops are theirs: the fetcher moves `position`). */
  assign(parts: FetchPartition[]): void {
    this.epoch++;
    this.outstanding.clear();
    this.parts = [...parts];
    this.topics = [...new Set(parts.map((p) => p.topic))];
    this.requests.clear();
    this.arrived = [];
    this.wake();
  }

  private wake(): void {
    while (this.waiters.length > 0) this.waiters.pop()!();
  }

  /** True once every assigned partition reached its stop offset (or none is assigned). */
  get done(): boolean {
    for (let i = 0; i < this.parts.length; i++) if (this.parts[i]!.active) return false;
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
      this.client.reportRetry(`fetch from ${this.topics.join(", ")}`, error, this.failures);
      await sleep(backoffMs(this.failures++));
      this.invalidate(first);
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
   * a poll's records when it polls again (the consumer's callers copy what they keep; RecordView
   * is reused per record anyway). One view of the answer's buffer is kept to find it by.
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

  /** The partition an answer is about, if it was asked for and its position has not moved since. */
  private askedFor(o: Outstanding, topic: string, partition: number): FetchPartition | null {
    const i = o.indexOf(topic, partition);
    if (i < 0) return null;
    const part = o.parts[i]!;
    return part.position === o.offsets[i] ? part : null;
  }

  /** `absorb` for a response with no error anywhere: no await, nothing but the chunks allocated. */
  private absorbClean(o: Outstanding, res: FetchResponse): FetchedChunk[] {
    const chunks: FetchedChunk[] = [];
    for (let ti = 0; ti < res.responses.length; ti++) {
      const t = res.responses[ti]!;
      for (let pi = 0; pi < t.partitions.length; pi++) {
        const p = t.partitions[pi]!;
        const part = this.askedFor(o, t.topic, p.partitionIndex);
        if (part !== null) chunks.push(chunk(part, p));
      }
    }
    this.failures = 0;
    return chunks;
  }

  /** Turns a response into chunks, advancing positions past the whole batches it held. */
  private async absorb(o: Outstanding, res: FetchResponse): Promise<FetchedChunk[]> {
    if (res.errorCode !== 0) throw kafkaError(res.errorCode, `fetch from ${this.topics.join(", ")}`);
    const chunks: FetchedChunk[] = [];
    let stale: Set<string> | null = null;
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const part = this.askedFor(o, t.topic, p.partitionIndex);
        if (part === null) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.resetOutOfRange(part);
          continue;
        }
        if (p.errorCode !== 0) {
          if (isRetriableFetchCode(p.errorCode)) {
            (stale ??= new Set()).add(part.topic);
            continue;
          }
          throw kafkaError(p.errorCode, `fetch ${part.topic}/${part.partition} at offset ${part.position}`);
        }
        chunks.push(chunk(part, p));
      }
    }
    this.failures = 0;
    if (stale !== null) {
      for (const topic of stale) this.client.invalidate(topic);
      await sleep(backoffMs(0));
    }
    return chunks;
  }

  private async resetOutOfRange(part: FetchPartition): Promise<void> {
    const wanted = (at: number) => new Map([[part.partition, at]]);
    const [earliest, latest] = await Promise.all([this.client.listOffsets(part.topic, wanted(EARLIEST)), this.client.listOffsets(part.topic, wanted(LATEST))]);
    const lo = earliest.get(part.partition) ?? 0;
    const hi = latest.get(part.partition) ?? 0;
    const from = part.position;
    const to = from < lo ? lo : hi;
    part.position = to;
    this.opts.onReset?.(part.topic, part.partition, from, to);
  }

  /** Forgets the leaders of every topic a failed request asked for. */
  private invalidate(o: Outstanding): void {
    let last = "";
    for (let i = 0; i < o.parts.length; i++) {
      const topic = o.parts[i]!.topic;
      if (topic !== last) this.client.invalidate((last = topic));
    }
  }

  /**
   * Sends a fetch to every leader that has active partitions and nothing outstanding. Null when
   * that is done; a Promise when some topic's leaders had to be looked up first.
   */
  private launchAll(): Promise<void> | null {
    let missing: string[] | null = null;
    for (let i = 0; i < this.topics.length; i++) {
      const cached = this.client.cachedTopic(this.topics[i]!);
      if (cached === undefined || !allLed(cached)) (missing ??= []).push(this.topics[i]!);
    }
    if (missing === null) {
      this.launch();
      return null;
    }
    return Promise.all(missing.map((t) => this.client.topic(t, { autoCreate: false }))).then(() => this.launch());
  }

  private launch(): void {
    let leaders: number[] | null = null;
    let byLeader: FetchPartition[][] | null = null;
    let info: TopicInfo | undefined;
    for (let i = 0; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      if (!part.active) continue;
      if (info?.name !== part.topic) info = this.client.cachedTopic(part.topic);
      const leader = info === undefined ? -1 : leaderOf(info, part.partition);
      if (this.outstanding.has(leader)) continue;
      if (leaders === null || byLeader === null) {
        leaders = [leader];
        byLeader = [[part]];
        continue;
      }
      const k = leaders.indexOf(leader);
      if (k >= 0) byLeader[k]!.push(part);
      else {
        leaders.push(leader);
        byLeader.push([part]);
      }
    }
    if (leaders === null || byLeader === null) return;
    for (let k = 0; k < leaders.length; k++) {
      const parts = byTopic(byLeader[k]!);
      const offsets = new Array<number>(parts.length);
      for (let i = 0; i < parts.length; i++) offsets[i] = parts[i]!.position;
      const o = new Outstanding(this.settled, leaders[k]!, parts, offsets);
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
    if (req === undefined || !sameParts(req.parts, o.parts)) {
      const body = this.newRequestBody(o.parts);
      const entries = body.topics.flatMap((t) => t.partitions);
      req = { body, parts: o.parts, entries, offsets: o.parts.map(() => NaN) };
      this.requests.set(o.leader, req);
    }
    const entries = req.entries;
    for (let i = 0; i < entries.length; i++) {
      const offset = o.offsets[i]!;
      if (req.offsets[i] === offset) continue;
      req.offsets[i] = offset;
      entries[i]!.fetchOffset = BigInt(offset);
    }
    return req.body;
  }

  /** A Fetch body for `parts` (grouped by topic, as byTopic leaves them). */
  private newRequestBody(parts: FetchPartition[]): FetchRequest {
    const topics: FetchRequestFetchTopic[] = [];
    for (const part of parts) {
      let t = topics[topics.length - 1];
      if (t === undefined || t.topic !== part.topic) topics.push((t = { topic: part.topic, topicId: new Uint8Array(16), partitions: [] }));
      t.partitions.push({
        partition: part.partition,
        currentLeaderEpoch: -1,
        fetchOffset: -1n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: this.opts.partitionMaxBytes ?? FETCH_PARTITION_MAX_BYTES,
      });
    }
    return {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: this.opts.maxWaitMs ?? FETCH_MAX_WAIT_MS,
      minBytes: this.opts.minBytes ?? FETCH_MIN_BYTES,
      maxBytes: this.opts.maxBytes ?? FETCH_MAX_BYTES,
      isolationLevel: isolationLevel(this.opts.isolation),
      sessionId: 0,
      sessionEpoch: -1,
      topics,
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

/** The whole batches of a partition's records at or after its position; advances the position past them. */
function chunk(part: FetchPartition, p: FetchResponse["responses"][number]["partitions"][number]): FetchedChunk {
  const from = part.position;
  const batches: { baseOffset: number; bytes: Uint8Array }[] = [];
  let next = from;
  if (p.records !== null && p.records.length > 0) {
    // Aborted transactions (read_committed only: the broker lists none otherwise), by first offset.
    const aborted = p.abortedTransactions !== null && p.abortedTransactions.length > 0 ? [...p.abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1)) : null;
    let ai = 0;
    let aborting: Set<number> | null = null;
    for (const span of iterateBatches(p.records)) {
      const baseOffset = be.int64(span.bytes, 0);
      const last = baseOffset + be.int32(span.bytes, OFF_LAST_OFFSET_DELTA);
      if (aborted !== null) {
        while (ai < aborted.length && Number(aborted[ai]!.firstOffset) <= last) (aborting ??= new Set()).add(Number(aborted[ai++]!.producerId));
        const attributes = be.int16(span.bytes, OFF_ATTRIBUTES);
        const producerId = be.int64(span.bytes, OFF_PRODUCER_ID);
        if (aborting !== null && aborting.has(producerId)) {
          if (attributes & ATTR_CONTROL) {
            if (readMarker(span.bytes)?.commit === false) aborting.delete(producerId);
          } else if (attributes & ATTR_TRANSACTIONAL) {
            if (last >= next) next = last + 1; // an aborted transaction's batch: skipped
            continue;
          }
        }
      }
      if (last < next) continue; // wholly before the position (a compacted or repeated batch)
      batches.push({ baseOffset, bytes: span.bytes });
      next = last + 1;
    }
  }
  part.position = next;
  return { topic: part.topic, partition: part.partition, fetchOffset: from, nextOffset: next, stop: part.stop, batches, highWatermark: Number(p.highWatermark), source: part };
}

/** True when no partition's answer carries an error (nor the response's own code). */
function clean(res: FetchResponse, o: Outstanding): boolean {
  if (res.errorCode !== 0) return false;
  for (let ti = 0; ti < res.responses.length; ti++) {
    const t = res.responses[ti]!;
    for (let pi = 0; pi < t.partitions.length; pi++) {
      const p = t.partitions[pi]!;
      if (p.errorCode !== 0 && o.indexOf(t.topic, p.partitionIndex) >= 0) return false;
    }
  }
  return true;
}

/** `parts` with each topic's partitions together, topics in first-seen order (the array itself when already so). */
function byTopic(parts: FetchPartition[]): FetchPartition[] {
  let grouped = true;
  for (let i = 2; i < parts.length && grouped; i++) {
    const topic = parts[i]!.topic;
    if (topic === parts[i - 1]!.topic) continue;
    for (let j = 0; j < i - 1; j++) if (parts[j]!.topic === topic) grouped = false;
  }
  if (grouped) return parts;
  const topics = [...new Set(parts.map((p) => p.topic))];
  return topics.flatMap((t) => parts.filter((p) => p.topic === t));
}

function allLed(info: TopicInfo): boolean {
  for (let i = 0; i < info.partitions.length; i++) if (info.partitions[i]!.leader < 0) return false;
  return true;
}

function leaderOf(info: TopicInfo, partition: number): number {
  for (let i = 0; i < info.partitions.length; i++) if (info.partitions[i]!.partition === partition) return info.partitions[i]!.leader;
  return -1;
}

function sameParts(a: FetchPartition[], b: FetchPartition[]): boolean {
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
