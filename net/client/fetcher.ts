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
import { iterateBatches } from "../../core/batch/record-batch.ts";
import { OFF_LAST_OFFSET_DELTA } from "../../core/batch/header.ts";
import * as be from "../../core/bytes.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Fetch, type FetchResponse } from "../protocol/messages/index.ts";
import { backoffMs, EARLIEST, LATEST, sleep, type KafkaClient } from "./client.ts";
import { FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES, FETCH_PARTITION_MAX_BYTES, RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError } from "./errors.ts";

/** Whole batches of one partition from one response. */
export interface FetchedChunk {
  partition: number;
  /** The offset this chunk was fetched from: records below it (in its first batch) are old. */
  fetchOffset: number;
  /** Whole batches, each a view into the response. */
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

interface Outstanding {
  epoch: number;
  leader: number;
  partitions: { partition: number; offset: number }[];
  result: Promise<{ res: FetchResponse | null; error: unknown }>;
}

export class Fetcher {
  private readonly positions = new Map<number, number>();
  private readonly stops = new Map<number, number>();
  private readonly outstanding = new Map<number, Outstanding>();
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
    for (const p of this.positions.keys()) if (this.active(p)) return false;
    return true;
  }

  /**
   * The next chunks of data (possibly none, after an empty long-poll or a retried error), or
   * null when every partition is done.
   */
  async poll(): Promise<FetchedChunk[] | null> {
    if (this.done) return null;
    await this.launchAll();
    if (this.outstanding.size === 0) return [];
    const epoch = this.epoch;
    const first = await Promise.race([...this.outstanding.values()].map((o) => o.result.then(() => o)));
    if (epoch !== this.epoch || this.outstanding.get(first.leader) !== first) return [];
    this.outstanding.delete(first.leader);
    const { res, error } = await first.result;
    if (error !== null) {
      if (!isRetriableError(error) || this.failures >= RETRIES_MAX) throw error;
      await sleep(backoffMs(this.failures++));
      this.client.invalidate(this.topic);
      return [];
    }
    const chunks = await this.absorb(first, res!);
    if (epoch === this.epoch && !this.closed) await this.launchAll();
    return chunks;
  }

  /** Turns a response into chunks, advancing positions past the whole batches it held. */
  private async absorb(o: Outstanding, res: FetchResponse): Promise<FetchedChunk[]> {
    if (res.errorCode !== 0) throw kafkaError(res.errorCode, `fetch from ${this.topic}`);
    const chunks: FetchedChunk[] = [];
    let stale = false;
    for (const t of res.responses) {
      if (t.topic !== this.topic) continue;
      for (const p of t.partitions) {
        const sent = o.partitions.find((x) => x.partition === p.partitionIndex);
        if (sent === undefined || this.positions.get(p.partitionIndex) !== sent.offset) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.resetOutOfRange(p.partitionIndex, sent.offset);
          continue;
        }
        if (p.errorCode !== 0) {
          if (isRetriableFetchCode(p.errorCode)) {
            stale = true;
            continue;
          }
          throw kafkaError(p.errorCode, `fetch ${this.topic}/${p.partitionIndex} at offset ${sent.offset}`);
        }
        const batches: { baseOffset: number; bytes: Uint8Array }[] = [];
        let next = sent.offset;
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
        chunks.push({ partition: p.partitionIndex, fetchOffset: sent.offset, batches, highWatermark: Number(p.highWatermark) });
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

  /** Sends a fetch to every leader that has active partitions and nothing outstanding. */
  private async launchAll(): Promise<void> {
    const info = await this.client.topic(this.topic, { autoCreate: false });
    const byLeader = new Map<number, { partition: number; offset: number }[]>();
    for (const [partition, offset] of this.positions) {
      if (!this.active(partition)) continue;
      const leader = info.partitions.find((x) => x.partition === partition)?.leader ?? -1;
      if (this.outstanding.has(leader)) continue;
      const list = byLeader.get(leader) ?? [];
      list.push({ partition, offset });
      byLeader.set(leader, list);
    }
    for (const [leader, partitions] of byLeader) {
      const o: Outstanding = { epoch: this.epoch, leader, partitions, result: this.send(leader, partitions) };
      this.outstanding.set(leader, o);
    }
  }

  private async send(leader: number, partitions: { partition: number; offset: number }[]): Promise<{ res: FetchResponse | null; error: unknown }> {
    try {
      const conn = await this.client.nodeConnection(leader);
      const res = await conn.request(Fetch, {
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
            partitions: partitions.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: -1,
              fetchOffset: BigInt(p.offset),
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: this.opts.partitionMaxBytes ?? FETCH_PARTITION_MAX_BYTES,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: "",
      });
      return { res, error: null };
    } catch (error) {
      return { res: null, error };
    }
  }

  close(): void {
    this.closed = true;
    this.epoch++;
    this.outstanding.clear();
  }
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
