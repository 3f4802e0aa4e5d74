// Producer: records in, acknowledged batches out, with per-record success and failure counts.
//
// Flow, per partition:
//   append → open BatchBuilder ──(full, linger expired, flush)──▶ sealed queue ──▶ in flight ──▶ acked
//                                                                     ▲                  │ retriable error
//                                                                     └── front, backoff ┘
// Ordering rule (no idempotence needed): a partition has at most ONE batch in flight. A batch that
// fails with a retriable error goes back to the front of its partition's queue and is resent after
// a backoff before anything behind it, so records of one partition are written in the order they
// were appended, retries included. Throughput comes from elsewhere: one Produce request carries a
// batch for every partition led by the same broker, and while a batch is in flight the next ones
// are built and compressed. Duplicates remain possible (a request whose answer was lost is resent
// whole), as with any non-idempotent Kafka producer.
//
// Failures: a non-retriable error (MESSAGE_TOO_LARGE, INVALID_RECORD, …) or a retriable one past
// RETRIES_MAX fails that batch's records; later batches still go. `flush()` resolves when nothing
// is buffered or in flight, with the counts. acks=0 counts a batch as acknowledged once its bytes
// are written to the socket: that is all acks=0 can know.
//
// Memory: `append` never blocks; callers check `needsDrain` and `await drained()` between chunks,
// which waits until buffered (sealed, unacknowledged) bytes fall below BUFFER_BYTES_MAX.
import type { Codec } from "../../core/batch/header.ts";
import { isRetriable } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Produce, type ProduceResponse } from "../protocol/messages/index.ts";
import { BatchBuilder, type ProducerHeader } from "./batch-builder.ts";
import { backoffMs, type KafkaClient, type TopicInfo } from "./client.ts";
import type { Connection } from "./connection.ts";
import { BATCH_BYTES_DEFAULT, BUFFER_BYTES_MAX, LINGER_MS_DEFAULT, PRODUCE_TIMEOUT_MS, RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError, KafkaClientError } from "./errors.ts";
import { partitionForKey } from "./partitioner.ts";

export type { ProducerHeader } from "./batch-builder.ts";

export type Acks = -1 | 0 | 1;

export interface ProducerOptions {
  codec: Codec;
  acks: Acks;
  lingerMs?: number;
  batchBytes?: number;
  /** Create topics on first use through Metadata (default true). */
  autoCreate?: boolean;
}

export interface ProduceSummary {
  /** Records the broker acknowledged (for acks=0: records written to the socket). */
  acked: number;
  failed: number;
  /** Uncompressed record bytes acknowledged. */
  ackedBytes: number;
  /** The first few distinct failure messages. */
  errors: string[];
}

interface SealedBatch {
  bytes: Uint8Array;
  count: number;
  recordBytes: number;
  attempts: number;
}

class PartitionQueue {
  open: BatchBuilder | null = null;
  openedAt = 0;
  readonly sealed: SealedBatch[] = [];
  inFlight: SealedBatch | null = null;
  notBefore = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

interface TopicState {
  info: TopicInfo;
  queues: PartitionQueue[];
  sticky: number;
}

const MAX_ERRORS_KEPT = 5;

export class Producer {
  private readonly codec: Codec;
  private readonly acks: Acks;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly autoCreate: boolean;
  private readonly topics = new Map<string, TopicState>();
  private readonly summary: ProduceSummary = { acked: 0, failed: 0, ackedBytes: 0, errors: [] };
  private bufferedBytes = 0;
  private openCount = 0;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private requestsInFlight = 0;
  private waiters: (() => void)[] = [];
  private pumping = false;

  constructor(
    private readonly client: KafkaClient,
    opts: ProducerOptions,
  ) {
    this.codec = opts.codec;
    this.acks = opts.acks;
    this.lingerMs = opts.lingerMs ?? LINGER_MS_DEFAULT;
    this.batchBytes = opts.batchBytes ?? BATCH_BYTES_DEFAULT;
    this.autoCreate = opts.autoCreate ?? true;
  }

  /** Loads (and, by default, creates) the topic; required before appending to it. Resolves to
   * its partition count. */
  async prepare(topic: string): Promise<number> {
    const existing = this.topics.get(topic);
    if (existing) return existing.info.partitions.length;
    const info = await this.client.topic(topic, { autoCreate: this.autoCreate });
    const queues = info.partitions.map((p) => new PartitionQueue(topic, p.partition));
    this.topics.set(topic, { info, queues, sticky: Math.floor(Math.random() * queues.length) });
    return queues.length;
  }

  /** Counts so far. */
  get stats(): Readonly<ProduceSummary> {
    return this.summary;
  }

  /** True when the caller should `await drained()` before appending more. */
  get needsDrain(): boolean {
    return this.bufferedBytes >= BUFFER_BYTES_MAX;
  }

  /**
   * Appends one record. `partition` < 0 lets the partitioner choose. Key, value and header values
   * are copied into the batch before this returns, so the caller may reuse their memory.
   */
  append(
    topic: string,
    partition: number,
    key: Uint8Array | null,
    value: Uint8Array | null,
    headers: ProducerHeader[] | null,
    timestamp: number,
  ): void {
    const t = this.topics.get(topic);
    if (t === undefined) throw new Error(`producer: prepare(${JSON.stringify(topic)}) was not awaited`);
    const n = t.queues.length;
    let index: number;
    if (partition >= 0) {
      if (partition >= n) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${partition} (it has ${n})`);
      index = partition;
    } else if (key !== null) index = partitionForKey(key, n);
    else index = t.sticky;
    const q = t.queues[index]!;
    let b = q.open;
    if (b !== null && b.count > 0 && b.recordBytes + BatchBuilder.sizeBound(key, value, headers) > this.batchBytes) {
      this.seal(t, q);
      b = null;
    }
    if (b === null) {
      b = q.open = new BatchBuilder(Math.min(this.batchBytes, 1 << 20));
      q.openedAt = performance.now();
      this.openCount++;
      this.armLinger();
    }
    b.append(key, value, headers, timestamp);
  }

  private seal(t: TopicState, q: PartitionQueue): void {
    const b = q.open!;
    q.open = null;
    this.openCount--;
    const bytes = b.seal(this.codec);
    q.sealed.push({ bytes, count: b.count, recordBytes: b.recordBytes, attempts: 0 });
    this.bufferedBytes += b.recordBytes;
    if (t.queues.length > 1 && t.queues[t.sticky] === q) t.sticky = (t.sticky + 1 + Math.floor(Math.random() * (t.queues.length - 1))) % t.queues.length;
    this.pump();
  }

  private armLinger(): void {
    if (this.lingerTimer !== null) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.sealExpired(false);
    }, this.lingerMs);
  }

  /** Seals open batches whose linger is over (or all of them). */
  private sealExpired(all: boolean): void {
    const now = performance.now();
    let oldestLeft = Infinity;
    for (const t of this.topics.values()) {
      for (const q of t.queues) {
        if (q.open === null) continue;
        if (all || now - q.openedAt >= this.lingerMs) this.seal(t, q);
        else oldestLeft = Math.min(oldestLeft, q.openedAt);
      }
    }
    if (oldestLeft !== Infinity && this.lingerTimer === null) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.sealExpired(false);
      }, Math.max(0, oldestLeft + this.lingerMs - now));
    }
  }

  /** Sends every partition's next batch that may go now, one request per leader. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const now = performance.now();
      const byLeader = new Map<number, PartitionQueue[]>();
      let nextRetry = Infinity;
      for (const t of this.topics.values()) {
        for (const q of t.queues) {
          if (q.inFlight !== null || q.sealed.length === 0) continue;
          if (q.notBefore > now) {
            nextRetry = Math.min(nextRetry, q.notBefore);
            continue;
          }
          const leader = t.info.partitions[q.partition]?.leader ?? -1;
          const list = byLeader.get(leader);
          if (list) list.push(q);
          else byLeader.set(leader, [q]);
        }
      }
      for (const [leader, queues] of byLeader) this.sendTo(leader, queues);
      if (nextRetry !== Infinity && this.retryTimer === null) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.pump();
        }, nextRetry - now);
      }
    } finally {
      this.pumping = false;
    }
    this.wake();
  }

  private sendTo(leader: number, queues: PartitionQueue[]): void {
    const batches = queues.map((q) => {
      const b = q.sealed.shift()!;
      q.inFlight = b;
      b.attempts++;
      return b;
    });
    this.requestsInFlight++;
    void this.produce(leader, queues, batches).finally(() => {
      this.requestsInFlight--;
      this.pump();
    });
  }

  private async produce(leader: number, queues: PartitionQueue[], batches: SealedBatch[]): Promise<void> {
    const topicNames = [...new Set(queues.map((q) => q.topic))];
    const body = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: PRODUCE_TIMEOUT_MS,
      topicData: topicNames.map((name) => ({
        name,
        partitionData: queues.flatMap((q, i) => (q.topic === name ? [{ index: q.partition, records: batches[i]!.bytes }] : [])),
      })),
    };
    let res: ProduceResponse;
    try {
      const conn: Connection = await this.client.nodeConnection(leader);
      if (this.acks === 0) {
        conn.sendOneWay(Produce, body);
        for (let i = 0; i < queues.length; i++) this.settle(queues[i]!, batches[i]!, 0, null);
        return;
      }
      res = await conn.request(Produce, body);
    } catch (err) {
      const retriable = isRetriableError(err);
      for (let i = 0; i < queues.length; i++) this.settleError(queues[i]!, batches[i]!, retriable, (err as Error).message);
      for (const name of topicNames) this.client.invalidate(name);
      await this.refreshLeaders(topicNames);
      return;
    }
    const stale = new Set<string>();
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      const p = res.responses.find((t) => t.name === q.topic)?.partitionResponses.find((x) => x.index === q.partition);
      const code = p === undefined ? ErrorCode.UNKNOWN_SERVER_ERROR : p.errorCode;
      if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.LEADER_NOT_AVAILABLE) stale.add(q.topic);
      this.settle(q, batches[i]!, code, p?.errorMessage ?? (p === undefined ? "no answer for this partition" : null));
    }
    if (stale.size > 0) await this.refreshLeaders([...stale]);
  }

  private async refreshLeaders(topics: string[]): Promise<void> {
    for (const name of topics) {
      const t = this.topics.get(name);
      if (!t) continue;
      try {
        t.info = await this.client.topic(name, { autoCreate: false, refresh: true });
      } catch {
        // keep the old leaders; the retries will ask again
      }
    }
  }

  private settle(q: PartitionQueue, b: SealedBatch, code: number, message: string | null): void {
    if (code === 0) {
      q.inFlight = null;
      this.bufferedBytes -= b.recordBytes;
      this.summary.acked += b.count;
      this.summary.ackedBytes += b.recordBytes;
      return;
    }
    this.settleError(q, b, isRetriable(code), kafkaError(code, `produce to ${q.topic}/${q.partition}`, message).message);
  }

  private settleError(q: PartitionQueue, b: SealedBatch, retriable: boolean, message: string): void {
    q.inFlight = null;
    if (retriable && b.attempts < RETRIES_MAX) {
      q.sealed.unshift(b);
      q.notBefore = performance.now() + backoffMs(b.attempts - 1);
      return;
    }
    this.bufferedBytes -= b.recordBytes;
    this.summary.failed += b.count;
    const text = b.attempts > 1 ? `${message} (after ${b.attempts} attempts)` : message;
    if (this.summary.errors.length < MAX_ERRORS_KEPT && !this.summary.errors.includes(text)) this.summary.errors.push(text);
  }

  private get idle(): boolean {
    if (this.openCount > 0 || this.requestsInFlight > 0) return false;
    for (const t of this.topics.values()) for (const q of t.queues) if (q.sealed.length > 0 || q.inFlight !== null) return false;
    return true;
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves once buffered bytes are below the bound. */
  async drained(): Promise<void> {
    while (this.needsDrain) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Seals everything open and resolves when every record is acknowledged or has failed. */
  async flush(): Promise<ProduceSummary> {
    if (this.lingerTimer !== null) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    this.sealExpired(true);
    this.pump();
    while (!this.idle) await new Promise<void>((r) => this.waiters.push(r));
    return { ...this.summary, errors: [...this.summary.errors] };
  }

  /** Stops timers; records still buffered are dropped (call flush() first to keep them). */
  close(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.lingerTimer = this.retryTimer = null;
  }
}
