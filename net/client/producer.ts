// Producer: records in, acknowledged batches out, with per-record success and failure counts.
//
// Flow, per partition:
//   append → open BatchBuilder ──(full, linger expired, flush)──▶ sealed queue ──▶ in flight ──▶ acked
//                                                                     ▲                  │ retriable error
//                                                                     └── front, backoff ┘
// Ordering rule: records of one partition are never written out of order.
//   - Up to MAX_IN_FLIGHT_PER_PARTITION batches of a partition are in flight at once, all on the
//     same leader connection, whose answers come back in the order sent.
//   - A batch that fails with a retriable error is set aside; nothing more of its partition is
//     sent until the partition's in-flight batches have all answered. Then the set-aside batches
//     go back to the front of the queue and are resent, after a backoff, ONE AT A TIME, until none
//     is left, and only then does pipelining resume.
//   - Without idempotence, if a batch answered after a set-aside one succeeded (a transient error
//     on the earlier batch only), resending the earlier one would put it after the later one:
//     instead it is failed, with "not retried: a later batch of the partition was already
//     written", and counted as failed.
// So each record is either written in order or reported failed (exit 1), never reordered.
// Throughput comes from the pipelining, from one Produce request carrying a batch for every
// partition led by the same broker, and from building and compressing the next batches while
// earlier ones are in flight.
//
// Idempotence (KIP-98; on by default with acks=all, as Kafka 3.x clients; `idempotence: false`,
// acks 0 or 1, or a broker without InitProducerId turn it off): `prepare` gets a producer id and
// epoch (producer-identity.ts); each batch is stamped as it is sealed with them and the next
// sequence of its partition (sealing order is sending order), so the broker stores a retried batch
// once, answering it with its first offsets, and refuses one that does not follow the last it
// stored. No per-record work: one header per batch, inside the CRC computed anyway. Then retries
// can neither duplicate nor reorder:
//   - A set-aside batch is resent even when a later one succeeded: the broker took the later one
//     only because the earlier was in its log, so the resend is answered as a duplicate.
//   - OUT_OF_ORDER_SEQUENCE_NUMBER behind an earlier batch of the partition that failed is
//     retriable like any transient error (it is resent after that one). On the first unanswered
//     batch of the partition, or UNKNOWN_PRODUCER_ID, the broker has lost the producer's sequence;
//     a batch that failed for good leaves a gap; and one the delivery timeout failed (below) left
//     either a gap or, if it expired in flight, a sequence nobody knows was written or not. Any of
//     these and the producer starts a new epoch
//     (KIP-360): nothing more is sent until every request has answered, then every unacknowledged
//     batch is stamped again with the new epoch and sequences from 0, in queue order, and sending
//     resumes. Restamping rewrites a header and its CRC: the rare path only.
//   - INVALID_PRODUCER_EPOCH (another producer with our id and a newer epoch) fails the batch.
//   - DUPLICATE_SEQUENCE_NUMBER (older brokers' answer to a retry they hold) is an acknowledgement.
//
// Transactions (KIP-98; `transactionalId`, net/client/transactions.ts): records are appended only
// between beginTransaction() and commitTransaction()/abortTransaction(); batches are stamped
// transactional, and a partition's first batch of a transaction waits in its queue until
// AddPartitionsToTxn has added the partition (the pump skips it meanwhile; the partitions wanted
// are added together, one request at a time). sendOffsets() puts a consumer group's offsets in the
// transaction. commitTransaction() flushes, then EndTxn(commit); if any record of the transaction
// failed, or a batch's fate is uncertain (where an idempotent producer would start a new epoch),
// the transaction cannot commit: it is aborted and commitTransaction() throws. abortTransaction()
// sends nothing more (unsent batches fail), waits for what is in flight, EndTxn(abort), then
// starts a new epoch through the coordinator (InitProducerId with the current id and epoch) with
// sequences from 0. A ProducerFencedError (another producer of the id) ends the producer.
//
// Failures: a non-retriable error (MESSAGE_TOO_LARGE, INVALID_RECORD, …) or a retriable one past
// RETRIES_MAX fails that batch's records; later batches still go. So does the delivery timeout
// (Kafka's delivery.timeout.ms): a batch not acknowledged `deliveryTimeoutMs` after its first record
// was appended fails, wherever it is — waiting to be sent, set aside for a retry, or in flight (then
// it may still have been written; its late answer is ignored, onAcked included). A sweep every
// DELIVERY_SWEEP_MS finds them, so a dead broker ends a produce within the timeout (issue #22); an
// idempotent producer then starts a new epoch before sending more (see "Idempotence"), which waits
// for an expired batch's request to answer or fail like any other. `onRetry` hears of each retry
// as it is decided. `flush()` resolves when nothing is buffered or in flight (a batch the timeout
// failed is not waited for), with the counts. acks=0 counts a batch as acknowledged once its bytes
// are written to the socket: that is all acks=0 can know.
//
// Memory: `append` never blocks; callers check `needsDrain` and `await drained()` between chunks,
// which waits until buffered (sealed, unacknowledged) bytes fall below BUFFER_BYTES_MAX.
//
// Garbage: at linger 0 and a fixed rate every record is its own batch and its own request, so the
// per-request path allocates little (young collections cost a millisecond each, bench's p99 sees
// them): a batch's buffer goes back to a small pool when the batch is settled, a request is one
// ProduceCall answered through a ResponseHandler (no async function, Promise or closure per
// request), a one-partition request reuses one body object, and the pump groups partitions by
// leader in reused arrays.
import { Codec } from "../../core/batch/header.ts";
import { addSequence, initProducerIdentity, ProducerIdentity } from "./producer-identity.ts";
import { ProducerFencedError, TxnCoordinatorLink, type TxnOffsets } from "./transactions.ts";
import { isRetriable } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { RecordsIn } from "../protocol/api.ts";
import { Produce, type ProduceRequest, type ProduceResponse } from "../protocol/messages/index.ts";
import { BatchBuilder, type ProducerHeader, type ProducerStamp, restamp } from "./batch-builder.ts";
import { backoffMs, type KafkaClient, type TopicInfo } from "./client.ts";
import type { Connection, ResponseHandler } from "./connection.ts";
import { BATCH_BYTES_DEFAULT, BUFFER_BYTES_MAX, DELIVERY_TIMEOUT_MS_DEFAULT, TRANSACTION_TIMEOUT_MS_DEFAULT, LINGER_MS_DEFAULT, MAX_IN_FLIGHT_PER_PARTITION, PRODUCE_TIMEOUT_MS, RETRIES_MAX } from "./constants.ts";
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
  /** Attempts per batch before a retriable error becomes a failure (default RETRIES_MAX; Infinity
   * leaves the delivery timeout as the only bound, as Kafka's producer does). */
  retriesMax?: number;
  /** How long a record may wait for its acknowledgement, retries included (default
   * DELIVERY_TIMEOUT_MS_DEFAULT). */
  deliveryTimeoutMs?: number;
  /** A batch failed retriably and will be sent again after a backoff. */
  onRetry?: (retry: ProduceRetry) => void;
  /** Idempotent batches (default true; only with acks -1, and only when the broker supports
   * InitProducerId): see "Idempotence" above. */
  idempotence?: boolean;
  /** A transactional producer (see "Transactions"): implies idempotence and needs acks -1. */
  transactionalId?: string;
  /** transaction.timeout.ms sent with InitProducerId (default TRANSACTION_TIMEOUT_MS_DEFAULT). */
  transactionTimeoutMs?: number;
  /** Called as each batch's acknowledgement is read, with its record count, its first offset (-1
   * when the broker did not say) and the index of its first record among those appended to the
   * partition (not for acks=0, which has no answer, nor for a batch the delivery timeout already
   * failed). Bench measures ack latency with it. */
  onAcked?: (topic: string, partition: number, records: number, baseOffset: number, firstRecord: number) => void;
}

export interface ProduceRetry {
  topic: string;
  partition: number;
  /** The attempt that failed (1 = the first send). */
  attempt: number;
  records: number;
  error: string;
  /** Milliseconds left before the delivery timeout fails the batch. */
  msLeft: number;
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
  /** The builder's buffer that `bytes` is a view of (uncompressed batches), for the pool once the
   * batch is settled; null when `bytes` is a copy. */
  buffer: Uint8Array | null;
  count: number;
  recordBytes: number;
  payloadBytes: number;
  attempts: number;
  /** Index of its first record among the records appended to its partition. */
  firstRecord: number;
  /** Idempotent producer: the epoch and first sequence it is stamped with (-1 without). */
  epoch: number;
  sequence: number;
  /** Restamped while still being compressed: stamp the bytes when they arrive. */
  restampOnArrival: boolean;
  /** performance.now() past which the batch fails with the delivery timeout. */
  deadline: number;
  /** Failed by the delivery timeout while in flight: its answer, when it comes, changes nothing. */
  expired: boolean;
  /** The last retriable error (for the delivery-timeout message). */
  lastError: string | null;
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
  /** The last failure was about the leader (gone, not the leader any more): its leaders are asked
   * again when the backoff ends, just before the retry, not only when it failed. Asked only then,
   * a retry after a leader's kill -9 went to the dead leader again with what was known a second
   * earlier, before the election, and failover took a whole backoff step longer. */
  refreshBeforeRetry = false;
  /** Records sealed so far (the next batch's firstRecord). */
  sealedRecords = 0;
  /** The sequence the next sealed batch gets (idempotent producer). */
  nextSequence = 0;

  /** How many batches may be in flight now: one while retried batches are being resent. */
  get window(): number {
    if ((this.sealed[0]?.attempts ?? 0) > 0) return 1;
    for (let i = 0; i < this.inFlight.length; i++) if (this.inFlight[i]!.attempts > 1) return 1;
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
/** Released batch buffers kept for reuse (each at most ~1 MB). */
const SPARE_BUFFERS_MAX = 8;
/** Marks a partition already put in a request during one pump pass (leaders are ≥ -1). */
const TAKEN = -2;
const NOT_RETRIED = "not retried: a later batch of the partition was already written, resending would reorder";
/** No epoch bump / one wanted (sent nothing more until every request answered) / one running. */
const enum Bump {
  None,
  Wanted,
  Running,
}
/** How often batches are checked against the delivery timeout while any is unacknowledged. */
const DELIVERY_SWEEP_MS = 200;

export class Producer {
  private readonly codec: Codec;
  private readonly acks: Acks;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly autoCreate: boolean;
  private readonly retriesMax: number;
  private readonly idempotenceWanted: boolean;
  /** Set by `prepare` when the producer is idempotent; null without idempotence. */
  private identity: ProducerIdentity | null = null;
  private identityInit: Promise<void> | null = null;
  private bump = Bump.None;
  /** The stamp of a batch sealed synchronously (read at once, so one object serves all). */
  private readonly stampScratch: ProducerStamp = { producerId: -1, epoch: -1, baseSequence: -1 };
  private readonly deliveryTimeoutMs: number;
  private readonly onRetry: ((retry: ProduceRetry) => void) | null;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private readonly topics = new Map<string, TopicState>();
  /** The same TopicStates, for loops on the per-request path (no Map iterator). */
  private readonly topicList: TopicState[] = [];
  private readonly summary: ProduceSummary = { acked: 0, failed: 0, ackedBytes: 0, errors: [] };
  private bufferedBytes = 0;
  private openCount = 0;
  /** The pending linger wake-up, if one is armed: an immediate (linger 0) or a timeout. */
  private lingerImmediate: ReturnType<typeof setImmediate> | null = null;
  private lingerTimeout: ReturnType<typeof setTimeout> | null = null;
  private readonly onLinger = (): void => {
    this.lingerImmediate = this.lingerTimeout = null;
    this.sealExpired(false);
  };
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private requestsInFlight = 0;
  private waiters: (() => void)[] = [];
  private pumping = false;
  /** Buffers of settled or compressed batches, for the next builders (no allocation per batch). */
  private readonly spareBuffers: Uint8Array[] = [];
  /** One pump pass's sendable partitions and their leaders (TAKEN once put in a request). */
  private readonly sendable: PartitionQueue[] = [];
  private readonly sendableLeaders: number[] = [];
  /** The body of one-partition requests, refilled for each (encoding copies it at once). */
  private readonly onePartitionBody = {
    transactionalId: null as string | null,
    acks: 0 as Acks,
    timeoutMs: PRODUCE_TIMEOUT_MS,
    topicData: [{ name: "", partitionData: [{ index: 0, records: null as Uint8Array | null }] }],
  };
  private readonly onAcked: NonNullable<ProducerOptions["onAcked"]> | null;
  private readonly produceTimeoutMs: number;
  private readonly callDone = (call: ProduceCall, res: ProduceResponse | null, err: unknown): void => this.answered(call, res, err);
  /** Transactions (see "Transactions"); all null/empty for a producer without a transactional id. */
  private readonly txnLink: TxnCoordinatorLink | null;
  private txnOpen = false;
  /** Partitions added to the open transaction, and those waiting for AddPartitionsToTxn. */
  private readonly txnAdded = new Set<PartitionQueue>();
  private txnWanted: PartitionQueue[] = [];
  private txnAdding = false;
  private txnOffsetsSent = false;
  /** Why the open transaction can only abort (unsent batches then fail rather than go). */
  private txnAbortOnly: string | null = null;
  private txnFenced: Error | null = null;
  private failedAtBegin = 0;

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
    this.idempotenceWanted = (opts.idempotence ?? true) && opts.acks === -1;
    this.txnLink = null;
    if (opts.transactionalId !== undefined) {
      if (opts.transactionalId === "") throw new Error("producer: the transactional id must not be empty");
      if (opts.acks !== -1) throw new Error("producer: a transactional producer needs acks=all (-1)");
      this.idempotenceWanted = true;
      this.txnLink = new TxnCoordinatorLink(client, opts.transactionalId, opts.transactionTimeoutMs ?? TRANSACTION_TIMEOUT_MS_DEFAULT);
      this.onePartitionBody.transactionalId = opts.transactionalId;
      this.stampScratch.transactional = true;
    }
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS_DEFAULT;
    this.onRetry = opts.onRetry ?? null;
    this.onAcked = opts.onAcked ?? null;
    this.onePartitionBody.acks = this.acks;
    // The broker may hold an acks=all produce this long; the connection waits that plus its own
    // request timeout, so a silent broker fails a produce in about twice the request timeout.
    this.produceTimeoutMs = Math.min(PRODUCE_TIMEOUT_MS, client.requestTimeoutMs);
    this.onePartitionBody.timeoutMs = this.produceTimeoutMs;
  }

  /** Loads (and, by default, creates) the topic; required before appending to it. Resolves to
   * its partition count. The first call also gets the producer id (idempotence). */
  async prepare(topic: string): Promise<number> {
    const existing = this.topics.get(topic);
    if (existing) return existing.info.partitions.length;
    const info = await this.client.topic(topic, { autoCreate: this.autoCreate });
    await this.initIdentity();
    const queues = info.partitions.map((p) => new PartitionQueue(topic, p.partition));
    const state: TopicState = { info, queues, sticky: Math.floor(Math.random() * queues.length) };
    this.topics.set(topic, state);
    this.topicList.push(state);
    return queues.length;
  }

  private initIdentity(): Promise<void> {
    if (!this.idempotenceWanted) return Promise.resolve();
    if (this.identityInit !== null) return this.identityInit;
    const link = this.txnLink;
    const init = link === null ? initProducerIdentity(this.client) : link.initProducerId(null).then((r) => new ProducerIdentity(r.producerId, r.epoch));
    this.identityInit = init.then(
      (identity) => {
        this.identity = identity;
      },
      (err: unknown) => {
        this.identityInit = null; // the next prepare asks again
        throw err;
      },
    );
    return this.identityInit;
  }

  /** Whether batches carry a producer id and sequences (known after the first `prepare`). */
  get idempotent(): boolean {
    return this.identity !== null;
  }

  /** Takes in partitions added to `topic` since prepare (CreatePartitions); resolves to the count now. */
  async refreshPartitions(topic: string): Promise<number> {
    const state = this.topics.get(topic);
    if (state === undefined) return this.prepare(topic);
    const info = await this.client.topic(topic, { autoCreate: false, refresh: true });
    for (let p = state.queues.length; p < info.partitions.length; p++) state.queues.push(new PartitionQueue(topic, p));
    state.info = info;
    return state.queues.length;
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
    if (this.txnLink !== null && !this.txnOpen) throw new Error("producer: a transactional producer appends only inside a transaction (beginTransaction())");
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
      b = q.open = new BatchBuilder(size, this.spareBuffer(BatchBuilder.bufferBytes(size)));
      q.openedAt = performance.now();
      this.openCount++;
      this.armLinger();
    }
    b.append(key, value, headers, timestamp);
  }

  /** A pooled buffer of at least `bytes`; smaller ones on top are dropped (the size hint grew). */
  private spareBuffer(bytes: number): Uint8Array | undefined {
    for (let spare = this.spareBuffers.pop(); spare !== undefined; spare = this.spareBuffers.pop()) {
      if (spare.length >= bytes) return spare;
    }
    return undefined;
  }

  private recycle(buf: Uint8Array): void {
    if (this.spareBuffers.length < SPARE_BUFFERS_MAX) this.spareBuffers.push(buf);
  }

  private seal(t: TopicState, q: PartitionQueue): void {
    const b = q.open!;
    q.open = null;
    this.openCount--;
    q.sizeHint = Math.min(BATCH_SIZE_HINT_MAX, Math.max(BATCH_SIZE_HINT_MIN, 2 ** Math.ceil(Math.log2(b.recordBytes + 1))));
    const sealed: SealedBatch = {
      bytes: null,
      buffer: null,
      count: b.count,
      recordBytes: b.recordBytes,
      payloadBytes: b.payloadBytes,
      attempts: 0,
      firstRecord: q.sealedRecords,
      epoch: -1,
      sequence: -1,
      restampOnArrival: false,
      deadline: q.openedAt + this.deliveryTimeoutMs,
      expired: false,
      lastError: null,
    };
    q.sealedRecords += b.count;
    const stamp = this.stampNext(q, sealed);
    q.sealed.push(sealed);
    this.bufferedBytes += b.recordBytes;
    this.armSweep();
    if (t.queues.length > 1 && t.queues[t.sticky] === q) t.sticky = (t.sticky + 1 + Math.floor(Math.random() * (t.queues.length - 1))) % t.queues.length;
    if (this.codec === Codec.Zstd) {
      b.sealZstdAsync((buf) => this.recycle(buf), stamp === this.stampScratch ? { ...stamp } : stamp).then(
        (bytes) => {
          sealed.bytes = bytes;
          if (sealed.restampOnArrival) this.restampBytes(sealed);
          this.pump();
        },
        (err: Error) => {
          q.sealed.splice(q.sealed.indexOf(sealed), 1);
          this.fail(sealed, `compress a batch for ${q.topic}/${q.partition}: ${err.message}`);
          this.wantBump(); // its sequences are a gap
          this.pump();
        },
      );
      return;
    }
    sealed.bytes = b.seal(this.codec, stamp);
    if (this.codec === Codec.None) sealed.buffer = b.buffer;
    else this.recycle(b.buffer);
    this.pump();
  }

  /** Gives `sealed` the partition's next sequence (idempotent producer); its header stamp. */
  private stampNext(q: PartitionQueue, sealed: SealedBatch): ProducerStamp | undefined {
    const id = this.identity;
    if (id === null) return undefined;
    sealed.epoch = id.epoch;
    sealed.sequence = q.nextSequence;
    q.nextSequence = addSequence(q.nextSequence, sealed.count);
    const stamp = this.stampScratch;
    stamp.producerId = id.producerId;
    stamp.epoch = sealed.epoch;
    stamp.baseSequence = sealed.sequence;
    return stamp;
  }

  private restampBytes(b: SealedBatch): void {
    b.restampOnArrival = false;
    const stamp = this.stampScratch;
    stamp.producerId = this.identity!.producerId;
    stamp.epoch = b.epoch;
    stamp.baseSequence = b.sequence;
    restamp(b.bytes!, stamp);
  }

  /** Asks for a new epoch (see "Idempotence"): sending stops until every request has answered. */
  private wantBump(): void {
    if (this.txnLink !== null) {
      // A transactional producer never bumps mid-transaction: the transaction aborts instead, and
      // abortTransaction() starts the new epoch through the coordinator.
      this.txnAbortOnly ??= "a batch of the transaction failed or may not have been written";
      return;
    }
    if (this.identity !== null && this.bump === Bump.None) this.bump = Bump.Wanted;
  }

  /**
   * The new epoch, then every unacknowledged batch (none is in flight) stamped again in queue
   * order with sequences from 0, in every partition; sending resumes. If no new id can be had
   * (past the largest epoch), the unacknowledged batches fail.
   */
  private async runBump(): Promise<void> {
    this.bump = Bump.Running;
    const id = this.identity!;
    try {
      await id.bump(this.client);
    } catch (err) {
      for (const t of this.topicList) {
        for (const q of t.queues) {
          for (const b of q.sealed) this.fail(b, `produce to ${q.topic}/${q.partition}: no new producer epoch: ${(err as Error).message}`);
          q.sealed = [];
        }
      }
    }
    for (const t of this.topicList) {
      for (const q of t.queues) {
        let sequence = 0;
        for (const b of q.sealed) {
          b.epoch = id.epoch;
          b.sequence = sequence;
          sequence = addSequence(sequence, b.count);
          if (b.bytes !== null) this.restampBytes(b);
          else b.restampOnArrival = true;
        }
        q.nextSequence = sequence;
      }
    }
    this.bump = Bump.None;
    this.pump();
  }

  private get lingerArmed(): boolean {
    return this.lingerImmediate !== null || this.lingerTimeout !== null;
  }

  private armLinger(): void {
    if (this.lingerArmed) return;
    this.wakeIn(this.lingerMs);
  }

  private cancelLinger(): void {
    if (this.lingerImmediate !== null) clearImmediate(this.lingerImmediate);
    if (this.lingerTimeout !== null) clearTimeout(this.lingerTimeout);
    this.lingerImmediate = this.lingerTimeout = null;
  }

  /**
   * Seals expired batches after `ms`. A zero wait runs on the next turn of the event loop, not on a
   * timer: Bun clamps `setTimeout(0)` to about a millisecond, which at linger 0 was most of a
   * produce's latency (p50 ack at 5,000/s went 1.9 → see BENCHMARKS.md). Records appended in the
   * same turn still share a batch.
   */
  private wakeIn(ms: number): void {
    if (ms <= 0) this.lingerImmediate = setImmediate(this.onLinger);
    else this.lingerTimeout = setTimeout(this.onLinger, ms);
  }

  /** Seals open batches whose linger is over (or all of them). */
  private sealExpired(all: boolean): void {
    const now = performance.now();
    let oldestLeft = Infinity;
    for (let ti = 0; ti < this.topicList.length; ti++) {
      const t = this.topicList[ti]!;
      for (let qi = 0; qi < t.queues.length; qi++) {
        const q = t.queues[qi]!;
        if (q.open === null) continue;
        if (all) this.seal(t, q);
        else if (now - q.openedAt < this.lingerMs) oldestLeft = Math.min(oldestLeft, q.openedAt);
        else if (this.canSendNow(q)) this.seal(t, q);
        // else: the batch keeps growing until an answer frees the window (pump seals it then)
      }
    }
    if (oldestLeft !== Infinity && !this.lingerArmed) this.wakeIn(oldestLeft + this.lingerMs - now);
  }

  /** Sends what may go now: per leader, requests of one batch per sendable partition, repeated
   * while partitions have batches and room in their window. */
  private pump(): void {
    if (this.pumping) return;
    if (this.txnLink !== null && (this.txnAbortOnly !== null || this.txnFenced !== null)) {
      // The transaction can only abort: nothing more of it is sent.
      this.dropUnsent(this.txnFenced?.message ?? `transaction aborted: ${this.txnAbortOnly}`);
      this.wake();
      return;
    }
    if (this.bump !== Bump.None) {
      // Nothing goes out under the old epoch; the bump runs once every request has answered.
      if (this.bump === Bump.Wanted && this.requestsInFlight === 0) void this.runBump();
      this.wake();
      return;
    }
    this.pumping = true;
    try {
      const now = performance.now();
      let nextRetry = Infinity;
      let refresh: Set<string> | null = null;
      const sendable = this.sendable;
      const leaders = this.sendableLeaders;
      for (;;) {
        sendable.length = leaders.length = 0;
        for (let ti = 0; ti < this.topicList.length; ti++) {
          const t = this.topicList[ti]!;
          for (let qi = 0; qi < t.queues.length; qi++) {
            const q = t.queues[qi]!;
            if (q.open !== null && now - q.openedAt >= this.lingerMs && this.canSendNow(q)) this.seal(t, q);
            if (q.sealed.length === 0 || q.sealed[0]!.bytes === null || q.setAside.length > 0 || q.inFlight.length >= q.window) continue;
            if (q.notBefore > now) {
              nextRetry = Math.min(nextRetry, q.notBefore);
              continue;
            }
            if (q.refreshBeforeRetry) {
              (refresh ??= new Set()).add(q.topic);
              continue;
            }
            if (this.txnLink !== null && !this.txnAdded.has(q)) {
              this.wantInTransaction(q); // sent once AddPartitionsToTxn added it
              continue;
            }
            const leader = t.info.partitions[q.partition]?.leader ?? -1;
            if (q.inFlight.length > 0 && q.inFlightLeader !== leader) continue; // drain the old leader first
            sendable.push(q);
            leaders.push(leader);
          }
        }
        if (sendable.length === 0) break;
        // One request per leader, its partitions in the order found.
        for (let i = 0; i < sendable.length; i++) {
          const leader = leaders[i]!;
          if (leader === TAKEN) continue;
          const queues: PartitionQueue[] = [];
          for (let j = i; j < sendable.length; j++) {
            if (leaders[j] !== leader) continue;
            queues.push(sendable[j]!);
            leaders[j] = TAKEN;
          }
          this.sendTo(leader, queues);
        }
      }
      sendable.length = leaders.length = 0;
      if (refresh !== null && !this.refreshingBeforeRetry) this.refreshBeforeRetries([...refresh]);
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
    const batches = new Array<SealedBatch>(queues.length);
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      const b = q.sealed.shift()!;
      q.inFlight.push(b);
      q.inFlightLeader = leader;
      b.attempts++;
      batches[i] = b;
    }
    this.requestsInFlight++;
    const call = new ProduceCall(this.callDone, queues, batches);
    const conn = this.client.readyConnection(leader);
    if (conn !== undefined) this.send(conn, call);
    else {
      this.client.nodeConnection(leader).then(
        (c) => this.send(c, call),
        (err: Error) => call.onError(err),
      );
    }
  }

  private send(conn: Connection, call: ProduceCall): void {
    try {
      const body = this.requestBody(call);
      if (this.acks === 0) {
        conn.sendOneWay(Produce, body);
        for (let i = 0; i < call.queues.length; i++) this.settle(call.queues[i]!, call.batches[i]!, 0, null);
        this.callFinished();
        return;
      }
      conn.requestWith(Produce, body, call);
    } catch (err) {
      call.onError(err as Error);
    }
  }

  /** The Produce body for a call: topics in the order their partitions appear. */
  private requestBody(call: ProduceCall): ProduceRequest<RecordsIn> {
    const { queues, batches } = call;
    if (queues.length === 1) {
      const body = this.onePartitionBody;
      const t = body.topicData[0]!;
      const pd = t.partitionData[0]!;
      t.name = queues[0]!.topic;
      pd.index = queues[0]!.partition;
      pd.records = batches[0]!.bytes;
      return body;
    }
    const topicData: { name: string; partitionData: { index: number; records: Uint8Array | null }[] }[] = [];
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      let t = topicData.find((x) => x.name === q.topic);
      if (t === undefined) topicData.push((t = { name: q.topic, partitionData: [] }));
      t.partitionData.push({ index: q.partition, records: batches[i]!.bytes });
    }
    return { transactionalId: this.txnLink?.transactionalId ?? null, acks: this.acks, timeoutMs: this.produceTimeoutMs, topicData };
  }

  /** A call's answer or failure (from ProduceCall). */
  private answered(call: ProduceCall, res: ProduceResponse | null, err: unknown): void {
    const { queues, batches } = call;
    if (res === null) {
      const retriable = isRetriableError(err);
      for (let i = 0; i < queues.length; i++) {
        queues[i]!.refreshBeforeRetry = retriable;
        this.settleError(queues[i]!, batches[i]!, retriable, (err as Error).message);
      }
      const topicNames = [...new Set(queues.map((q) => q.topic))];
      for (const name of topicNames) this.client.invalidate(name);
      void this.refreshThenFinish(topicNames);
      return;
    }
    let stale: string[] | null = null;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      const p = partitionResponse(res, q.topic, q.partition);
      const code = p === undefined ? ErrorCode.UNKNOWN_SERVER_ERROR : p.errorCode;
      if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.LEADER_NOT_AVAILABLE) {
        if (stale === null) stale = [q.topic];
        else if (!stale.includes(q.topic)) stale.push(q.topic);
        q.refreshBeforeRetry = true;
      }
      if (code === 0 && this.onAcked !== null && !batches[i]!.expired) this.onAcked(q.topic, q.partition, batches[i]!.count, p === undefined ? -1 : Number(p.baseOffset), batches[i]!.firstRecord);
      this.settle(q, batches[i]!, code, p?.errorMessage ?? (p === undefined ? "no answer for this partition" : null));
    }
    if (stale !== null) void this.refreshThenFinish(stale);
    else this.callFinished();
  }

  /** Leaders are refreshed before the call counts as finished, so its retries go to the new ones. */
  private async refreshThenFinish(topics: string[]): Promise<void> {
    try {
      await this.refreshLeaders(topics);
    } finally {
      this.callFinished();
    }
  }

  private callFinished(): void {
    this.requestsInFlight--;
    this.pump();
  }

  private refreshingBeforeRetry = false;

  /** Leaders asked again for partitions whose backoff after a leader failure just ended; then their
   * retries go (pump). */
  private refreshBeforeRetries(topics: string[]): void {
    this.refreshingBeforeRetry = true;
    void this.refreshLeaders(topics).finally(() => {
      this.refreshingBeforeRetry = false;
      for (const name of topics) for (const q of this.topics.get(name)?.queues ?? []) q.refreshBeforeRetry = false;
      this.pump();
    });
  }

  private async refreshLeaders(topics: string[]): Promise<void> {
    for (const name of topics) {
      const t = this.topics.get(name);
      if (!t) continue;
      try {
        // One Metadata round trip, no retries of its own: the batches' retries come back here, each
        // after its backoff, and say so (onRetry); retrying inside would hold them up unseen.
        t.info = await this.client.topic(name, { autoCreate: false, refresh: true, retriesMax: 0 });
      } catch {
        // keep the old leaders; the retries will ask again
      }
    }
  }

  private settle(q: PartitionQueue, b: SealedBatch, code: number, message: string | null): void {
    if (b.expired) {
      // Already counted as failed by the delivery timeout (which asked for a new epoch if the
      // producer is idempotent); what the broker says now changes nothing.
      this.remove(q, b);
      this.release(b);
      if (q.inFlight.length === 0 && q.setAside.length > 0) this.requeueSetAside(q);
      return;
    }
    const idempotent = this.identity !== null;
    if (code === 0 || (idempotent && code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER)) {
      this.remove(q, b);
      if (q.setAside.length > 0) {
        if (idempotent) {
          // The earlier batches are in the log (this one followed them): resent, they are answered as duplicates.
          if (q.inFlight.length === 0) this.requeueSetAside(q);
        } else {
          for (const earlier of q.setAside) this.fail(earlier, `produce to ${q.topic}/${q.partition}: ${NOT_RETRIED}`);
          q.setAside = [];
        }
      }
      this.release(b);
      this.bufferedBytes -= b.recordBytes;
      this.summary.acked += b.count;
      this.summary.ackedBytes += b.payloadBytes;
      return;
    }
    let retriable = isRetriable(code);
    let quiet = false;
    if (idempotent && (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID)) {
      // Behind an earlier batch that failed: resent after it. Else the broker lost our sequence.
      const behindEarlier = q.setAside.length > 0 || q.inFlight.indexOf(b) > 0;
      // Out of order behind a batch that failed (retried, failed for good or expired, and a new
      // epoch already wanted for it): this batch did nothing wrong, its resend is no news for
      // onRetry (produce would print a retry line after every refused record).
      quiet = code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && (behindEarlier || this.bump !== Bump.None);
      if (!behindEarlier || code === ErrorCode.UNKNOWN_PRODUCER_ID) this.wantBump();
      retriable = true;
    }
    this.settleError(q, b, retriable, kafkaError(code, `produce to ${q.topic}/${q.partition}`, message).message, quiet);
  }

  /** `quiet`: a retry onRetry is not told of (see settle). */
  private settleError(q: PartitionQueue, b: SealedBatch, retriable: boolean, message: string, quiet = false): void {
    this.remove(q, b);
    if (b.expired) this.release(b);
    else if (retriable && b.attempts < this.retriesMax && performance.now() < b.deadline) {
      b.lastError = message;
      q.setAside.push(b);
      if (!quiet) this.onRetry?.({ topic: q.topic, partition: q.partition, attempt: b.attempts, records: b.count, error: message, msLeft: Math.max(0, b.deadline - performance.now()) });
    } else {
      if (retriable && b.attempts < this.retriesMax) this.fail(b, this.timedOut(q, b, message));
      else this.fail(b, b.attempts > 1 ? `${message} (after ${b.attempts} attempts)` : message);
      // A gap in the partition's sequences: later batches go under a new epoch.
      this.wantBump();
    }
    if (q.inFlight.length === 0 && q.setAside.length > 0) this.requeueSetAside(q);
  }

  /** Everything sent before has answered: the set-aside batches are resent first, in order. */
  private requeueSetAside(q: PartitionQueue): void {
    // In the order their records were appended, whatever order their failures were handled in:
    // resent (and, after a new epoch, restamped) swapped, two batches would be stored swapped.
    q.setAside.sort((a, b) => a.firstRecord - b.firstRecord);
    q.sealed = [...q.setAside, ...q.sealed];
    q.notBefore = performance.now() + backoffMs(q.setAside[0]!.attempts - 1);
    q.setAside = [];
  }

  private remove(q: PartitionQueue, b: SealedBatch): void {
    const i = q.inFlight.indexOf(b);
    if (i === 0) q.inFlight.shift();
    else if (i > 0) q.inFlight.splice(i, 1);
  }

  /** A settled batch's buffer goes back to the pool (nothing reads its bytes any more). */
  private release(b: SealedBatch): void {
    if (b.buffer === null) return;
    this.recycle(b.buffer);
    b.buffer = null;
    b.bytes = null;
  }

  private fail(b: SealedBatch, text: string): void {
    this.release(b);
    this.bufferedBytes -= b.recordBytes;
    this.summary.failed += b.count;
    if (this.summary.errors.length < MAX_ERRORS_KEPT && !this.summary.errors.includes(text)) this.summary.errors.push(text);
  }

  /** Nothing left to wait for: no batch open, queued or set aside, and none in flight that still
   * counts (a batch the delivery timeout failed is not waited for). */
  private get idle(): boolean {
    if (this.openCount > 0) return false;
    for (const t of this.topicList) {
      for (const q of t.queues) {
        if (q.sealed.length > 0 || q.setAside.length > 0) return false;
        for (let i = 0; i < q.inFlight.length; i++) if (!q.inFlight[i]!.expired) return false;
      }
    }
    return true;
  }

  private timedOut(q: PartitionQueue, b: SealedBatch, last: string | null): string {
    const tried = b.attempts === 0 ? "never sent" : `${b.attempts} attempt${b.attempts === 1 ? "" : "s"}`;
    return `produce to ${q.topic}/${q.partition}: not acknowledged within the delivery timeout of ${this.deliveryTimeoutMs} ms (${tried}${last ? `; last error: ${last}` : ""})`;
  }

  private armSweep(): void {
    if (this.sweepTimer !== null || !Number.isFinite(this.deliveryTimeoutMs)) return;
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(DELIVERY_SWEEP_MS, Math.max(10, this.deliveryTimeoutMs / 4)));
  }

  private stopSweep(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /** Fails every batch past its delivery deadline (see the file comment, "Failures"). */
  private sweep(): void {
    const now = performance.now();
    let any = false;
    let failed = false;
    for (const t of this.topicList) {
      for (const q of t.queues) {
        for (const list of [q.sealed, q.setAside]) {
          for (let i = 0; i < list.length; ) {
            const b = list[i]!;
            // A batch still being compressed (bytes null) is left to its compression's end.
            if (b.deadline <= now && b.bytes !== null) {
              list.splice(i, 1);
              this.fail(b, this.timedOut(q, b, b.lastError));
              // Its sequences will never be written: a gap, as for any batch failed for good.
              this.wantBump();
              failed = true;
            } else i++;
          }
          if (list.length > 0) any = true;
        }
        for (const b of q.inFlight) {
          if (!b.expired && b.deadline <= now) {
            b.expired = true;
            this.fail(b, `${this.timedOut(q, b, b.lastError)}, still unanswered: it may have been written`);
            // Written or not, nobody will know: the partition's next sequence is uncertain, so the
            // later batches go under a new epoch (as Kafka's producer does for an expired batch).
            // The bump waits for this request to answer or fail, like any bump.
            this.wantBump();
            failed = true;
          }
          if (!b.expired) any = true;
        }
        if (q.open !== null) any = true;
      }
    }
    if (!any) this.stopSweep();
    if (failed) this.pump();
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
    this.cancelLinger();
    this.sealExpired(true);
    this.pump();
    while (!this.idle) await new Promise<void>((r) => this.waiters.push(r));
    return { ...this.summary, errors: [...this.summary.errors] };
  }

  // --- transactions (see "Transactions") -----------------------------------------------------------

  /** Opens a transaction (getting the producer id first if no prepare() did). */
  async beginTransaction(): Promise<void> {
    const link = this.requireTransactional();
    if (this.txnOpen) throw new Error("producer: a transaction is already open");
    await this.initIdentity();
    if (this.identity === null) throw new Error(`producer: no producer id for transactional id ${link.transactionalId}`);
    this.txnOpen = true;
    this.txnAdded.clear();
    this.txnOffsetsSent = false;
    this.txnAbortOnly = null;
    this.failedAtBegin = this.summary.failed;
  }

  /** Commits a consumer group's offsets with the transaction (AddOffsetsToTxn + TxnOffsetCommit). */
  async sendOffsets(o: TxnOffsets): Promise<void> {
    const link = this.requireOpen();
    try {
      await link.sendOffsets(this.identity!.producerId, this.identity!.epoch, o);
      this.txnOffsetsSent = true;
    } catch (err) {
      this.txnFailed(err);
      throw err;
    }
  }

  /**
   * Flushes and commits. If the transaction cannot commit (a record failed, a batch's fate is
   * unknown), it is aborted instead and this throws saying why; a ProducerFencedError means
   * another producer took the transactional id over.
   */
  async commitTransaction(): Promise<ProduceSummary> {
    const link = this.requireOpen();
    const summary = await this.flush();
    if (this.txnFenced !== null) throw this.txnFenced;
    if (this.txnAbortOnly === null && summary.failed > this.failedAtBegin) this.txnAbortOnly = summary.errors[summary.errors.length - 1] ?? "records failed";
    if (this.txnAbortOnly !== null) {
      const why = this.txnAbortOnly;
      await this.abortTransaction();
      throw new Error(`transaction aborted: ${why}`);
    }
    try {
      if (this.txnAdded.size > 0 || this.txnOffsetsSent) await link.endTxn(this.identity!.producerId, this.identity!.epoch, true);
    } catch (err) {
      this.txnFailed(err);
      throw err;
    }
    this.txnOpen = false;
    return summary;
  }

  /** Aborts the open transaction: nothing unsent goes, what is in flight is waited for, EndTxn(abort), a new epoch. */
  async abortTransaction(): Promise<void> {
    const link = this.requireOpen();
    this.txnAbortOnly ??= "aborted";
    await this.flush();
    if (this.txnFenced !== null) throw this.txnFenced;
    const id = this.identity!;
    try {
      if (this.txnAdded.size > 0 || this.txnOffsetsSent) await link.endTxn(id.producerId, id.epoch, false);
      // Sequences start again from 0 under a new epoch: whatever failed left no gap behind.
      const next = await link.initProducerId({ producerId: id.producerId, epoch: id.epoch });
      id.producerId = next.producerId;
      id.epoch = next.epoch;
      for (const t of this.topicList) for (const q of t.queues) q.nextSequence = 0;
    } catch (err) {
      this.txnFailed(err);
      throw err;
    }
    this.txnOpen = false;
    this.txnAbortOnly = null;
    this.failedAtBegin = this.summary.failed;
  }

  /** Whether a transaction is open. */
  get inTransaction(): boolean {
    return this.txnOpen;
  }

  private requireTransactional(): TxnCoordinatorLink {
    if (this.txnLink === null) throw new Error("producer: not transactional (no transactionalId)");
    if (this.txnFenced !== null) throw this.txnFenced;
    return this.txnLink;
  }

  private requireOpen(): TxnCoordinatorLink {
    const link = this.requireTransactional();
    if (!this.txnOpen) throw new Error("producer: no transaction is open (beginTransaction())");
    return link;
  }

  /** A failed transactional request: fenced ends the producer, anything else makes the transaction abort-only. */
  private txnFailed(err: unknown): void {
    if (err instanceof ProducerFencedError) this.txnFenced = err;
    else this.txnAbortOnly ??= err instanceof Error ? err.message : String(err);
  }

  /** Asks for `q` to be added to the transaction; AddPartitionsToTxn goes for all wanted at once. */
  private wantInTransaction(q: PartitionQueue): void {
    if (!this.txnWanted.includes(q)) this.txnWanted.push(q);
    if (this.txnAdding) return;
    this.txnAdding = true;
    void (async () => {
      while (this.txnWanted.length > 0 && this.txnAbortOnly === null && this.txnFenced === null) {
        const batch = this.txnWanted;
        this.txnWanted = [];
        try {
          await this.txnLink!.addPartitions(this.identity!.producerId, this.identity!.epoch, batch.map((x) => ({ topic: x.topic, partition: x.partition })));
          for (const x of batch) this.txnAdded.add(x);
        } catch (err) {
          this.txnFailed(err);
        }
      }
      this.txnWanted = [];
      this.txnAdding = false;
      this.pump();
    })();
  }

  /** Fails every batch not sent yet (sealed, set aside), for a transaction that can only abort. */
  private dropUnsent(why: string): void {
    for (const t of this.topicList) {
      for (const q of t.queues) {
        for (const list of [q.sealed, q.setAside]) {
          for (let i = 0; i < list.length; ) {
            const b = list[i]!;
            if (b.bytes === null) i++; // still compressing: dropped when it arrives (pump again)
            else {
              list.splice(i, 1);
              this.fail(b, why);
            }
          }
        }
      }
    }
  }

  /** Stops timers; records still buffered are dropped (call flush() first to keep them). */
  close(): void {
    this.txnLink?.close();
    this.cancelLinger();
    this.stopSweep();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** One Produce request in flight: its partitions and their batches, answered through the
 * connection's ResponseHandler (see the file comment, "Garbage"). */
class ProduceCall implements ResponseHandler<ProduceResponse> {
  constructor(
    private readonly done: (call: ProduceCall, res: ProduceResponse | null, err: unknown) => void,
    readonly queues: PartitionQueue[],
    readonly batches: SealedBatch[],
  ) {}

  onResponse(res: ProduceResponse): void {
    this.done(this, res, null);
  }

  onError(err: Error): void {
    this.done(this, null, err);
  }
}

function partitionResponse(res: ProduceResponse, topic: string, partition: number): ProduceResponse["responses"][number]["partitionResponses"][number] | undefined {
  for (let i = 0; i < res.responses.length; i++) {
    const t = res.responses[i]!;
    if (t.name !== topic) continue;
    for (let j = 0; j < t.partitionResponses.length; j++) if (t.partitionResponses[j]!.index === partition) return t.partitionResponses[j];
    return undefined;
  }
  return undefined;
}
