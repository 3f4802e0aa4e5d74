// Producer: records in, acknowledged batches out, with per-record success and failure counts.
//
// Flow, per partition:
//   append → open BatchBuilder ──(full, linger expired, flush)──▶ sealed queue ──▶ in flight ──▶ acked
//                                                                     ▲                  │ retriable error
//                                                                     └── front, backoff ┘
// Ordering rule (no idempotence needed): records of one partition are never written out of order.
//   - Up to MAX_IN_FLIGHT_PER_PARTITION batches of a partition are in flight at once, all on the
//     same leader connection, whose answers come back in the order sent.
//   - A batch that fails with a retriable error is set aside; nothing more of its partition is
//     sent until the partition's in-flight batches have all answered. Then the set-aside batches
//     go back to the front of the queue and are resent, after a backoff, ONE AT A TIME, until none
//     is left, and only then does pipelining resume.
//   - If a batch answered after a set-aside one succeeded (a transient error on the earlier batch
//     only), resending the earlier one would put it after the later one: instead it is failed, with
//     "not retried: a later batch of the partition was already written", and counted as failed.
// So each record is either written in order or reported failed (exit 1), never reordered.
// Throughput comes from the pipelining, from one Produce request carrying a batch for every
// partition led by the same broker, and from building and compressing the next batches while
// earlier ones are in flight. Duplicates remain possible (a request whose answer was lost is resent
// whole), as with any non-idempotent Kafka producer.
//
// Failures: a non-retriable error (MESSAGE_TOO_LARGE, INVALID_RECORD, …) or a retriable one past
// RETRIES_MAX fails that batch's records; later batches still go. `flush()` resolves when nothing
// is buffered or in flight, with the counts. acks=0 counts a batch as acknowledged once its bytes
// are written to the socket: that is all acks=0 can know.
//
// Memory: `append` never blocks; callers check `needsDrain` and `await drained()` between chunks,
// which waits until buffered (sealed, unacknowledged) bytes fall below BUFFER_BYTES_MAX.
import { Codec } from "../../core/batch/header.ts";
import { isRetriable } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Produce, type ProduceResponse } from "../protocol/messages/index.ts";
import { BatchBuilder, type ProducerHeader } from "./batch-builder.ts";
import { backoffMs, type KafkaClient, type TopicInfo } from "./client.ts";
import type { Connection } from "./connection.ts";
import { BATCH_BYTES_DEFAULT, BUFFER_BYTES_MAX, LINGER_MS_DEFAULT, MAX_IN_FLIGHT_PER_PARTITION, PRODUCE_TIMEOUT_MS, RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError, KafkaClientError } from "./errors.ts";
import { partitionForKey } from "../../core/batch/key-partition.ts";

export type { ProducerHeader } from "./batch-builder.ts";

export type Acks = -1 | 0 | 1;

export interface ProducerOptions {
  codec: Codec;
  acks: Acks;
  lingerMs?: number;
  batchBytes?: number;
  /** Create topics on first use through Metadata (default true). */
  autoCreate?: boolean;
  /** Attempts per batch before a retriable error becomes a failure (default RETRIES_MAX). */
  retriesMax?: number;
}

export interface ProduceSummary {
  /** Records the broker acknowledged (for acks=0: records written to the socket). */
  acked: number;
  failed: number;
  /** Key and value bytes of the acknowledged records. */
  ackedBytes: number;
  /** The first few distinct failure messages. */
  errors: string[];
}

interface SealedBatch {
  /** Null while the batch is being compressed off the main thread. */
  bytes: Uint8Array | null;
  count: number;
  recordBytes: number;
  payloadBytes: number;
  attempts: number;
}

class PartitionQueue {
  open: BatchBuilder | null = null;
  openedAt = 0;
  /**
   * Buffer size for this partition's next batch: about what its last one needed. Starting every
   * batch at the 1 MB maximum allocated 1 MB per batch — at linger 0, thousands per second — and
   * an unanswered uncompressed batch held all of it; the client spent 14% of its time collecting
   * garbage (961 collections in 6 s at 5,000 records/s).
   */
  sizeHint = BATCH_SIZE_HINT_MIN;
  /** Sealed, not yet sent (set-aside batches come back to its front, with attempts > 0). */
  sealed: SealedBatch[] = [];
  /** Sent and unanswered, oldest first, all to `inFlightLeader`. */
  readonly inFlight: SealedBatch[] = [];
  inFlightLeader = -1;
  /** Failed retriably, waiting for the in-flight ones to answer. */
  setAside: SealedBatch[] = [];
  notBefore = 0;

  /** How many batches may be in flight now: one while retried batches are being resent. */
  get window(): number {
    if ((this.sealed[0]?.attempts ?? 0) > 0) return 1;
    for (const b of this.inFlight) if (b.attempts > 1) return 1;
    return MAX_IN_FLIGHT_PER_PARTITION;
  }
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
/** Bounds of a partition's batch-buffer size hint (the builder still grows past it as needed). */
const BATCH_SIZE_HINT_MIN = 512;
const BATCH_SIZE_HINT_MAX = 1 << 20;
/** Released section buffers kept for reuse (each ~1 MB). */
const SPARE_BUFFERS_MAX = 8;
const NOT_RETRIED = "not retried: a later batch of the partition was already written, resending would reorder";

export class Producer {
  private readonly codec: Codec;
  private readonly acks: Acks;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly autoCreate: boolean;
  private readonly retriesMax: number;
  private readonly topics = new Map<string, TopicState>();
  private readonly summary: ProduceSummary = { acked: 0, failed: 0, ackedBytes: 0, errors: [] };
  private bufferedBytes = 0;
  private openCount = 0;
  /** Cancels the pending linger wake-up, if one is armed. */
  private lingerTimer: (() => void) | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private requestsInFlight = 0;
  private waiters: (() => void)[] = [];
  private pumping = false;
  /** Section buffers of sealed builders, for the next builders (no 1 MB allocation per batch). */
  private readonly spareBuffers: Uint8Array[] = [];

  constructor(
    private readonly client: KafkaClient,
    opts: ProducerOptions,
  ) {
    this.codec = opts.codec;
    this.acks = opts.acks;
    this.lingerMs = opts.lingerMs ?? LINGER_MS_DEFAULT;
    this.batchBytes = opts.batchBytes ?? BATCH_BYTES_DEFAULT;
    this.autoCreate = opts.autoCreate ?? true;
    this.retriesMax = opts.retriesMax ?? RETRIES_MAX;
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
      const size = Math.min(this.batchBytes, q.sizeHint);
      const spare = this.spareBuffers.at(-1);
      b = q.open = new BatchBuilder(size, spare !== undefined && spare.length >= BatchBuilder.bufferBytes(size) ? this.spareBuffers.pop() : undefined);
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
    q.sizeHint = Math.min(BATCH_SIZE_HINT_MAX, Math.max(BATCH_SIZE_HINT_MIN, 2 ** Math.ceil(Math.log2(b.recordBytes + 1))));
    const sealed: SealedBatch = { bytes: null, count: b.count, recordBytes: b.recordBytes, payloadBytes: b.payloadBytes, attempts: 0 };
    q.sealed.push(sealed);
    this.bufferedBytes += b.recordBytes;
    if (t.queues.length > 1 && t.queues[t.sticky] === q) t.sticky = (t.sticky + 1 + Math.floor(Math.random() * (t.queues.length - 1))) % t.queues.length;
    if (this.codec === Codec.Zstd) {
      b.sealZstdAsync((buf) => {
        if (this.spareBuffers.length < SPARE_BUFFERS_MAX) this.spareBuffers.push(buf);
      }).then(
        (bytes) => {
          sealed.bytes = bytes;
          this.pump();
        },
        (err: Error) => {
          q.sealed.splice(q.sealed.indexOf(sealed), 1);
          this.fail(sealed, `compress a batch for ${q.topic}/${q.partition}: ${err.message}`);
          this.pump();
        },
      );
      return;
    }
    sealed.bytes = b.seal(this.codec);
    this.pump();
  }

  private armLinger(): void {
    if (this.lingerTimer !== null) return;
    this.wakeIn(this.lingerMs);
  }

  /**
   * Seals expired batches after `ms`. A zero wait runs on the next turn of the event loop, not on a
   * timer: Bun clamps `setTimeout(0)` to about a millisecond, which at linger 0 was most of a
   * produce's latency (p50 ack at 5,000/s went 1.9 → see BENCHMARKS.md). Records appended in the
   * same turn still share a batch.
   */
  private wakeIn(ms: number): void {
    const fire = () => {
      this.lingerTimer = null;
      this.sealExpired(false);
    };
    if (ms <= 0) {
      const h = setImmediate(fire);
      this.lingerTimer = () => clearImmediate(h);
    } else {
      const h = setTimeout(fire, ms);
      this.lingerTimer = () => clearTimeout(h);
    }
  }

  /** Seals open batches whose linger is over (or all of them). */
  private sealExpired(all: boolean): void {
    const now = performance.now();
    let oldestLeft = Infinity;
    for (const t of this.topics.values()) {
      for (const q of t.queues) {
        if (q.open === null) continue;
        if (all) this.seal(t, q);
        else if (now - q.openedAt < this.lingerMs) oldestLeft = Math.min(oldestLeft, q.openedAt);
        else if (this.canSendNow(q)) this.seal(t, q);
        // else: the batch keeps growing until an answer frees the window (pump seals it then)
      }
    }
    if (oldestLeft !== Infinity && this.lingerTimer === null) this.wakeIn(oldestLeft + this.lingerMs - now);
  }

  /** Sends what may go now: per leader, requests of one batch per sendable partition, repeated
   * while partitions have batches and room in their window. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const now = performance.now();
      let nextRetry = Infinity;
      for (;;) {
        const byLeader = new Map<number, PartitionQueue[]>();
        for (const t of this.topics.values()) {
          for (const q of t.queues) {
            if (q.open !== null && now - q.openedAt >= this.lingerMs && this.canSendNow(q)) this.seal(t, q);
            if (q.sealed.length === 0 || q.sealed[0]!.bytes === null || q.setAside.length > 0 || q.inFlight.length >= q.window) continue;
            if (q.notBefore > now) {
              nextRetry = Math.min(nextRetry, q.notBefore);
              continue;
            }
            const leader = t.info.partitions[q.partition]?.leader ?? -1;
            if (q.inFlight.length > 0 && q.inFlightLeader !== leader) continue; // drain the old leader first
            const list = byLeader.get(leader);
            if (list) list.push(q);
            else byLeader.set(leader, [q]);
          }
        }
        if (byLeader.size === 0) break;
        for (const [leader, queues] of byLeader) this.sendTo(leader, queues);
      }
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

  /**
   * Whether a batch sealed now would go out at once. While it would only wait behind others, the
   * open batch keeps taking records instead (as librdkafka does): at linger 0 a busy partition
   * sends fewer, larger batches rather than a queue of one-record ones.
   */
  private canSendNow(q: PartitionQueue): boolean {
    return q.sealed.length === 0 && q.setAside.length === 0 && q.inFlight.length < q.window;
  }

  private sendTo(leader: number, queues: PartitionQueue[]): void {
    const batches = queues.map((q) => {
      const b = q.sealed.shift()!;
      q.inFlight.push(b);
      q.inFlightLeader = leader;
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
        partitionData: queues.flatMap((q, i) => (q.topic === name ? [{ index: q.partition, records: batches[i]!.bytes! }] : [])),
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
      this.remove(q, b);
      for (const earlier of q.setAside) this.fail(earlier, `produce to ${q.topic}/${q.partition}: ${NOT_RETRIED}`);
      q.setAside = [];
      this.bufferedBytes -= b.recordBytes;
      this.summary.acked += b.count;
      this.summary.ackedBytes += b.payloadBytes;
      return;
    }
    this.settleError(q, b, isRetriable(code), kafkaError(code, `produce to ${q.topic}/${q.partition}`, message).message);
  }

  private settleError(q: PartitionQueue, b: SealedBatch, retriable: boolean, message: string): void {
    this.remove(q, b);
    if (retriable && b.attempts < this.retriesMax) q.setAside.push(b);
    else this.fail(b, b.attempts > 1 ? `${message} (after ${b.attempts} attempts)` : message);
    if (q.inFlight.length === 0 && q.setAside.length > 0) {
      // Everything sent before has answered: resend the set-aside batches first, in order.
      q.sealed = [...q.setAside, ...q.sealed];
      q.notBefore = performance.now() + backoffMs(q.setAside[0]!.attempts - 1);
      q.setAside = [];
    }
  }

  private remove(q: PartitionQueue, b: SealedBatch): void {
    const i = q.inFlight.indexOf(b);
    if (i >= 0) q.inFlight.splice(i, 1);
  }

  private fail(b: SealedBatch, text: string): void {
    this.bufferedBytes -= b.recordBytes;
    this.summary.failed += b.count;
    if (this.summary.errors.length < MAX_ERRORS_KEPT && !this.summary.errors.includes(text)) this.summary.errors.push(text);
  }

  private get idle(): boolean {
    if (this.openCount > 0 || this.requestsInFlight > 0) return false;
    for (const t of this.topics.values()) for (const q of t.queues) if (q.sealed.length > 0 || q.inFlight.length > 0 || q.setAside.length > 0) return false;
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
    this.lingerTimer?.();
    this.lingerTimer = null;
    this.sealExpired(true);
    this.pump();
    while (!this.idle) await new Promise<void>((r) => this.waiters.push(r));
    return { ...this.summary, errors: [...this.summary.errors] };
  }

  /** Stops timers; records still buffered are dropped (call flush() first to keep them). */
  close(): void {
    this.lingerTimer?.();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.lingerTimer = this.retryTimer = null;
  }
}
