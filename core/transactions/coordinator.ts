// The transaction coordinator (KIP-98, as Kafka 3.x's TransactionCoordinator): every transactional
// id this broker coordinates, its producer id and epoch, and its transaction, driven by
// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn, by a timer
// (transaction.timeout.ms) and by recovery. No sockets and no Kafka error codes: the handlers
// translate (net/kafka/handlers/24-…, 25-…, 26-…, 28-…). The states and the log's record format are
// in metadata.ts.
//
// Durability: a state change counts once its record is durable in the transaction log (TxnLogPort:
// the __transaction_state topic, acks=all), and only then is it installed in memory and answered.
// Ending a transaction is three steps, in this order (Kafka's): the decision (PrepareCommit or
// PrepareAbort) is logged → a marker is written to every partition of the transaction (and every
// group's pending offsets are committed or dropped), each durable → Complete* is logged. EndTxn is
// answered after the markers, so a read_committed consumer can see a committed transaction as soon
// as commit() returns; the Complete* record follows, and the next operation of the id waits for
// it. A crash after the decision leaves Prepare* in the log: recover() writes the markers again
// (a second marker for a closed transaction changes nothing) and completes it. A crash before it
// leaves the transaction Ongoing: its timeout aborts it.
//
// Order: every operation of one transactional id runs in turn (`run`, one promise chain per id),
// so a request never meets a half-made transition; ids do not wait for each other. The timer
// (every TXN_CHECK_MS) aborts transactions past their timeout, fencing their producer (the abort's
// markers carry epoch + 1, so a zombie's late writes are refused by every partition), retries
// markers that could not be written, and forgets ids idle for TXN_ID_EXPIRATION_MS.
import { encodeRecordBatch } from "../batch/record-batch.ts";
import { assert } from "../assert.ts";
import { CoreError } from "../errors.ts";
import type { TimerHandle, Timers } from "../groups/timers.ts";
import { TXN_CHECK_MS, TXN_ID_EXPIRATION_MS, TXN_TIMEOUT_MAX_MS } from "../limits.ts";
import type { Logger } from "../log/types.ts";
import {
  type TxnErrorName,
  type TxnMetadata,
  type TxnState,
  TXN_STATES,
  copyMetadata,
  decodeRecord,
  encodeKey,
  encodeValue,
  hasPartition,
  isEpochExhausted,
  partitionCount,
  txnLogPartitionFor,
} from "./metadata.ts";

export type { TxnErrorName, TxnMetadata, TxnState };

/** Where the transaction log lives (core/broker/transactions.ts: a topic of the store). */
export interface TxnLogPort {
  readonly partitions: number;
  /** Appends one batch to a partition of the log (creating the log on first use); resolves once durable. */
  append(partition: number, batch: Uint8Array): Promise<void>;
  /** Every record of the log's partitions this broker coordinates, each partition oldest first. */
  records(): Promise<Array<{ key: Uint8Array | null; value: Uint8Array | null }>>;
}

/** The partitions and groups a transaction touches, and producer ids. */
export interface TxnParticipants {
  /** Writes a marker to a partition, durably; "gone" when it no longer exists. Throws a failure worth retrying. */
  writeMarker(topic: string, partition: number, marker: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number }): Promise<"written" | "gone">;
  /**
   * Commits or drops the offsets the producer's transaction left pending in a group, durably
   * (`marker`: the whole marker, for a group coordinated by another broker).
   */
  endGroup(groupId: string, producerId: number, commit: boolean, marker: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number }): Promise<void>;
  partitionExists(topic: string, partition: number): boolean;
  nextProducerId(): Promise<number>;
}

export interface TxnCoordinatorOptions {
  log: TxnLogPort;
  participants: TxnParticipants;
  timers: Timers;
  logger: Logger;
  /** Stamped on markers (a cluster: the leader epoch of the log partition; one broker: 0). */
  coordinatorEpoch?: number;
}

export type InitResult = { error: null; producerId: number; producerEpoch: number } | { error: TxnErrorName };

export interface PartitionResult {
  topic: string;
  partition: number;
  error: TxnErrorName | null;
}

export interface TxnDescription {
  transactionalId: string;
  error: TxnErrorName | null;
  state: TxnState | "";
  timeoutMs: number;
  startMs: number;
  producerId: number;
  producerEpoch: number;
  topics: Array<{ topic: string; partitions: number[] }>;
}

export interface TxnListing {
  unknownStates: string[];
  transactions: Array<{ transactionalId: string; producerId: number; state: TxnState }>;
}

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnMetadata>();
  /** Current producer id → its id's metadata (produce verification). */
  private readonly byProducer = new Map<number, TxnMetadata>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Ids the timer has work queued for. */
  private readonly checking = new Set<string>();
  private timer: TimerHandle | null = null;
  private closed = false;
  private readonly coordinatorEpoch: number;

  private constructor(private readonly opts: TxnCoordinatorOptions) {
    this.coordinatorEpoch = opts.coordinatorEpoch ?? 0;
  }

  /** Loads every transactional id from the log; call recover() once the partitions can take markers. */
  static async open(opts: TxnCoordinatorOptions): Promise<TransactionCoordinator> {
    const c = new TransactionCoordinator(opts);
    let skipped = 0;
    let why = "";
    for (const r of await opts.log.records()) {
      const d = decodeRecord(r.key, r.value);
      if (typeof d === "string") {
        if (skipped++ === 0) why = d;
        continue;
      }
      const old = c.txns.get(d.transactionalId);
      if (old !== undefined && c.byProducer.get(old.producerId) === old) c.byProducer.delete(old.producerId);
      if (d.metadata === null) c.txns.delete(d.transactionalId);
      else c.install(d.metadata);
    }
    if (skipped > 0) opts.logger.warn(`transactions: skipped ${skipped} unreadable record(s) of the transaction log (the first: ${why})`);
    return c;
  }

  /** Finishes what a crash left half done (Prepare* → markers → Complete*) and starts the timer. */
  async recover(): Promise<void> {
    const pending = [...this.txns.values()].filter((m) => m.state === "PrepareCommit" || m.state === "PrepareAbort");
    if (pending.length > 0) this.opts.logger.info(`transactions: completing ${pending.length} transaction(s) decided before the restart`);
    await Promise.all(pending.map((m) => this.run(m.transactionalId, () => this.finishIfDecided(m.transactionalId))));
    const ongoing = [...this.txns.values()].filter((m) => m.state === "Ongoing").length;
    if (ongoing > 0) this.opts.logger.info(`transactions: ${ongoing} transaction(s) open at the restart; their timeouts will abort them unless they end`);
    this.schedule();
  }

  get size(): number {
    return this.txns.size;
  }

  // --- requests ---------------------------------------------------------------------------------

  /** InitProducerId with a transactional id (the first column of the table in metadata.ts). */
  initProducerId(transactionalId: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null): Promise<InitResult> {
    if (transactionalId === "") return Promise.resolve({ error: "INVALID_REQUEST" });
    if (!(timeoutMs > 0 && timeoutMs <= TXN_TIMEOUT_MAX_MS)) return Promise.resolve({ error: "INVALID_TRANSACTION_TIMEOUT" });
    return this.run(transactionalId, async (): Promise<InitResult> => {
      const now = this.now();
      let m = this.txns.get(transactionalId);
      if (m === undefined) {
        const producerId = await this.opts.participants.nextProducerId();
        const created: TxnMetadata = { transactionalId, producerId, lastProducerId: -1, producerEpoch: 0, lastProducerEpoch: -1, timeoutMs, state: "Empty", partitions: new Map(), groups: new Set(), startMs: -1, updateMs: now };
        await this.persist(created);
        this.opts.logger.debug?.(`transactions: ${transactionalId} initialized with producer id ${producerId}`);
        return { error: null, producerId, producerEpoch: 0 };
      }
      if (expected !== null && !(expected.producerId === m.producerId || (expected.producerId === m.lastProducerId && isEpochExhausted(expected.producerEpoch)))) {
        return { error: "PRODUCER_FENCED" };
      }
      if ((m.state === "PrepareCommit" || m.state === "PrepareAbort") && !(await this.finish(m))) return { error: "CONCURRENT_TRANSACTIONS" };
      m = this.txns.get(transactionalId)!;
      if (m.state === "Ongoing") {
        // Fence the producer that has it open: abort under epoch + 1 (never given to a client).
        this.opts.logger.info(`transactions: ${transactionalId}: a new producer fences producer ${m.producerId} epoch ${m.producerEpoch}; its open transaction is aborted`);
        const fenced: TxnMetadata = { ...copyMetadata(m), producerEpoch: m.producerEpoch + 1, lastProducerEpoch: -1, state: "PrepareAbort", updateMs: now };
        await this.persist(fenced);
        if (!(await this.finish(fenced))) return { error: "CONCURRENT_TRANSACTIONS" };
        m = this.txns.get(transactionalId)!;
      }
      let next: TxnMetadata;
      const empty = { state: "Empty" as const, partitions: new Map(), groups: new Set<string>(), startMs: -1, updateMs: now, timeoutMs };
      if (isEpochExhausted(m.producerEpoch) && (expected === null || expected.producerEpoch === m.producerEpoch)) {
        const producerId = await this.opts.participants.nextProducerId();
        next = { ...m, ...empty, producerId, producerEpoch: 0, lastProducerId: m.producerId, lastProducerEpoch: expected === null ? -1 : m.producerEpoch };
      } else if (expected === null) {
        next = { ...m, ...empty, producerEpoch: m.producerEpoch + 1, lastProducerEpoch: -1 };
      } else if (expected.producerEpoch === m.producerEpoch) {
        next = { ...m, ...empty, producerEpoch: m.producerEpoch + 1, lastProducerEpoch: m.producerEpoch };
      } else if (expected.producerEpoch === m.lastProducerEpoch) {
        next = { ...m, ...empty }; // a retry of a bump that succeeded: the same epoch again
      } else {
        return { error: "PRODUCER_FENCED" };
      }
      await this.persist(next);
      return { error: null, producerId: next.producerId, producerEpoch: next.producerEpoch };
    });
  }

  /**
   * AddPartitionsToTxn: the partitions join the producer's transaction (opening it), or with
   * `verifyOnly` (v4, KIP-890) are checked to be in it. Unknown partitions fail the whole request:
   * they get UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as Kafka answers.
   */
  addPartitions(transactionalId: string, producerId: number, producerEpoch: number, topics: ReadonlyArray<{ topic: string; partitions: readonly number[] }>, verifyOnly = false): Promise<PartitionResult[]> {
    const wanted = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
    const all = (error: TxnErrorName | null) => wanted.map((p) => ({ ...p, error }));
    if (transactionalId === "") return Promise.resolve(all("INVALID_REQUEST"));
    if (!verifyOnly && wanted.some((p) => !this.opts.participants.partitionExists(p.topic, p.partition))) {
      return Promise.resolve(wanted.map((p) => ({ ...p, error: this.opts.participants.partitionExists(p.topic, p.partition) ? ("OPERATION_NOT_ATTEMPTED" as const) : ("UNKNOWN_TOPIC_OR_PARTITION" as const) })));
    }
    return this.run(transactionalId, async () => {
      const checked = await this.current(transactionalId, producerId, producerEpoch);
      if (typeof checked === "string") return all(checked);
      if (verifyOnly) return wanted.map((p) => ({ ...p, error: checked.state === "Ongoing" && hasPartition(checked, p.topic, p.partition) ? null : ("INVALID_TXN_STATE" as const) }));
      if (checked.state === "Ongoing" && wanted.every((p) => hasPartition(checked, p.topic, p.partition))) return all(null);
      const next = this.opened(checked);
      for (const p of wanted) {
        let set = next.partitions.get(p.topic);
        if (set === undefined) next.partitions.set(p.topic, (set = new Set()));
        set.add(p.partition);
      }
      await this.persist(next);
      return all(null);
    });
  }

  /** AddOffsetsToTxn: the group's offsets (TxnOffsetCommit) will be committed with the transaction. */
  addOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): Promise<TxnErrorName | null> {
    if (transactionalId === "" || groupId === "") return Promise.resolve("INVALID_REQUEST");
    return this.run(transactionalId, async () => {
      const checked = await this.current(transactionalId, producerId, producerEpoch);
      if (typeof checked === "string") return checked;
      if (checked.state === "Ongoing" && checked.groups.has(groupId)) return null;
      const next = this.opened(checked);
      next.groups.add(groupId);
      await this.persist(next);
      return null;
    });
  }

  /**
   * Runs `commit` (the group coordinator storing a TxnOffsetCommit's pending offsets) in the id's
   * turn, once the producer is checked: its transaction is open and includes the group.
   */
  commitOffsets<T>(transactionalId: string, producerId: number, producerEpoch: number, groupId: string, commit: () => Promise<T>): Promise<T | TxnErrorName> {
    if (transactionalId === "") return Promise.resolve("INVALID_REQUEST" as const);
    return this.run(transactionalId, async () => {
      const m = this.txns.get(transactionalId);
      if (m === undefined || m.producerId !== producerId) return "INVALID_PRODUCER_ID_MAPPING" as const;
      if (m.producerEpoch !== producerEpoch) return "PRODUCER_FENCED" as const;
      if (m.state !== "Ongoing" || !m.groups.has(groupId)) return "INVALID_TXN_STATE" as const;
      return commit();
    });
  }

  /** EndTxn from the producer (the last two columns of the table in metadata.ts). */
  endTxn(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<TxnErrorName | null> {
    if (transactionalId === "") return Promise.resolve("INVALID_REQUEST");
    return new Promise((answer) => {
      this.run(transactionalId, async () => {
        const m = this.txns.get(transactionalId);
        if (m === undefined || m.producerId !== producerId) return answer("INVALID_PRODUCER_ID_MAPPING");
        if (m.producerEpoch !== producerEpoch) return answer("PRODUCER_FENCED");
        const prepared: TxnState = commit ? "PrepareCommit" : "PrepareAbort";
        const completed: TxnState = commit ? "CompleteCommit" : "CompleteAbort";
        if (m.state === completed) return answer(null); // a retry of an end that was done
        if (m.state === prepared) {
          const done = await this.finish(m);
          return answer(done ? null : "CONCURRENT_TRANSACTIONS");
        }
        if (m.state !== "Ongoing") return answer("INVALID_TXN_STATE");
        const decided: TxnMetadata = { ...copyMetadata(m), state: prepared, updateMs: this.now() };
        await this.persist(decided);
        await this.finish(decided, () => answer(null));
      }).catch((e) => {
        this.opts.logger.error(`transactions: ${transactionalId}: ending the transaction failed: ${errorText(e)}`);
        answer("COORDINATOR_NOT_AVAILABLE");
      });
    });
  }

  /**
   * Produce verification (as KIP-890 part 1, on one broker): a transactional batch of `producerId`
   * for this partition is accepted only while its transaction is open and includes the partition,
   * so a late retry of an aborted transaction's batch cannot open a transaction nobody will end.
   */
  verifyAppend(producerId: number, producerEpoch: number, topic: string, partition: number): "INVALID_TXN_STATE" | "PRODUCER_FENCED" | null {
    const m = this.byProducer.get(producerId);
    if (m === undefined) return "INVALID_TXN_STATE";
    if (producerEpoch < m.producerEpoch) return "PRODUCER_FENCED";
    if (producerEpoch !== m.producerEpoch || m.state !== "Ongoing" || !hasPartition(m, topic, partition)) return "INVALID_TXN_STATE";
    return null;
  }

  /** DescribeTransactions. */
  describe(ids: readonly string[]): TxnDescription[] {
    return ids.map((transactionalId) => {
      const m = transactionalId === "" ? undefined : this.txns.get(transactionalId);
      if (m === undefined) {
        return { transactionalId, error: transactionalId === "" ? "INVALID_REQUEST" : "TRANSACTIONAL_ID_NOT_FOUND", state: "", timeoutMs: 0, startMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
      }
      return {
        transactionalId,
        error: null,
        state: m.state,
        timeoutMs: m.timeoutMs,
        startMs: m.startMs,
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        topics: [...m.partitions].map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) })),
      };
    });
  }

  /** ListTransactions: filtered by state, producer id and (v1) how long they have been open. */
  list(states: readonly string[], producerIds: readonly number[], minDurationMs = -1): TxnListing {
    const unknownStates = states.filter((s) => !TXN_STATES.includes(s as TxnState));
    const now = this.now();
    const transactions = [...this.txns.values()]
      .filter((m) => states.length === 0 || states.includes(m.state))
      .filter((m) => producerIds.length === 0 || producerIds.includes(m.producerId))
      .filter((m) => minDurationMs < 0 || (m.startMs >= 0 && m.state === "Ongoing" && now - m.startMs > minDurationMs))
      .map((m) => ({ transactionalId: m.transactionalId, producerId: m.producerId, state: m.state }));
    return { unknownStates, transactions };
  }

  /** The state of one id (tests, the control plane). */
  metadata(transactionalId: string): TxnMetadata | undefined {
    const m = this.txns.get(transactionalId);
    return m === undefined ? undefined : copyMetadata(m);
  }

  // --- lifecycle --------------------------------------------------------------------------------

  /** Stops the timer; operations already queued finish. */
  stop(): void {
    this.closed = true;
    this.opts.timers.clear(this.timer);
    this.timer = null;
  }

  /** Stops and waits (at most `waitMs`) for queued operations. */
  async close(waitMs = 5000): Promise<void> {
    this.stop();
    let timeout: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all([...this.queues.values()]), new Promise<void>((resolve) => (timeout = setTimeout(resolve, waitMs)))]);
    clearTimeout(timeout);
  }

  // --- inside an id's turn ----------------------------------------------------------------------

  /** The id's metadata if `producerId`/`producerEpoch` are its producer's and it can take partitions now. */
  private async current(transactionalId: string, producerId: number, producerEpoch: number): Promise<TxnMetadata | TxnErrorName> {
    let m = this.txns.get(transactionalId);
    if (m === undefined || m.producerId !== producerId) return "INVALID_PRODUCER_ID_MAPPING";
    if (m.producerEpoch !== producerEpoch) return "PRODUCER_FENCED";
    if (m.state === "PrepareCommit" || m.state === "PrepareAbort") {
      if (!(await this.finish(m))) return "CONCURRENT_TRANSACTIONS";
      m = this.txns.get(transactionalId)!;
    }
    return m;
  }

  /** A copy of `m` with its transaction open (begun now if it was not). */
  private opened(m: TxnMetadata): TxnMetadata {
    const now = this.now();
    const next = copyMetadata(m);
    if (m.state !== "Ongoing") {
      next.startMs = now;
      next.partitions.clear();
      next.groups.clear();
    }
    next.state = "Ongoing";
    next.updateMs = now;
    return next;
  }

  /**
   * Writes the markers of a decided transaction (`m` in Prepare*) and logs it complete. Calls
   * `markersWritten` once every marker is durable. False when a marker could not be written (the
   * timer tries again; the transaction stays decided).
   */
  private async finish(m: TxnMetadata, markersWritten?: () => void): Promise<boolean> {
    assert(m.state === "PrepareCommit" || m.state === "PrepareAbort", "only a decided transaction is finished");
    const commit = m.state === "PrepareCommit";
    const marker = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit, coordinatorEpoch: this.coordinatorEpoch };
    const writes: Array<Promise<unknown>> = [];
    for (const [topic, ps] of m.partitions) for (const p of ps) writes.push(this.opts.participants.writeMarker(topic, p, marker));
    for (const g of m.groups) writes.push(this.opts.participants.endGroup(g, m.producerId, commit, marker));
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      this.opts.logger.warn(`transactions: ${m.transactionalId}: a ${commit ? "commit" : "abort"} marker could not be written (${errorText(failed.reason)}); retried in ${TXN_CHECK_MS} ms`);
      markersWritten?.();
      return false;
    }
    markersWritten?.();
    const done: TxnMetadata = { ...copyMetadata(m), state: commit ? "CompleteCommit" : "CompleteAbort", partitions: new Map(), groups: new Set(), updateMs: this.now() };
    try {
      await this.persist(done);
    } catch (e) {
      this.opts.logger.warn(`transactions: ${m.transactionalId}: cannot log the end of the transaction (${errorText(e)}); retried in ${TXN_CHECK_MS} ms`);
      return false;
    }
    return true;
  }

  /**
   * The timer's and recovery's finish: the id's state is looked at in its turn, not when the work
   * was queued — by then the request that decided it may have finished it and opened the next
   * transaction, which must not be ended here.
   */
  private async finishIfDecided(transactionalId: string): Promise<void> {
    const m = this.txns.get(transactionalId);
    if (m !== undefined && (m.state === "PrepareCommit" || m.state === "PrepareAbort")) await this.finish(m);
  }

  /** Logs `next` durably, then makes it the id's state. */
  private async persist(next: TxnMetadata): Promise<void> {
    const batch = encodeRecordBatch({ records: [{ key: encodeKey(next.transactionalId), value: encodeValue(next) }], now: this.now() });
    await this.opts.log.append(txnLogPartitionFor(next.transactionalId, this.opts.log.partitions), batch);
    this.install(next);
  }

  private install(next: TxnMetadata): void {
    const old = this.txns.get(next.transactionalId);
    if (old !== undefined && this.byProducer.get(old.producerId) === old) this.byProducer.delete(old.producerId);
    this.txns.set(next.transactionalId, next);
    this.byProducer.set(next.producerId, next);
  }

  /** Runs `fn` after every earlier operation of `transactionalId`; a failure does not stop later ones. */
  private run<T>(transactionalId: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new CoreError("CLOSED", "the transaction coordinator is stopping"));
    const before = this.queues.get(transactionalId) ?? Promise.resolve();
    const result = before.then(fn);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.queues.set(transactionalId, tail);
    void tail.then(() => {
      if (this.queues.get(transactionalId) === tail) this.queues.delete(transactionalId);
    });
    return result;
  }

  private now(): number {
    return this.opts.timers.clock.now();
  }

  // --- the timer ----------------------------------------------------------------------------------

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.opts.timers.set(TXN_CHECK_MS, () => {
      this.check();
      this.schedule();
    });
  }

  /** Aborts timed-out transactions, retries unfinished ones, forgets expired ids. */
  check(now = this.now()): void {
    for (const m of this.txns.values()) {
      if (this.checking.has(m.transactionalId)) continue;
      let work: (() => Promise<void>) | null = null;
      if (m.state === "Ongoing" && m.startMs >= 0 && now - m.startMs > m.timeoutMs) work = () => this.abortTimedOut(m.transactionalId, m.producerId, m.producerEpoch);
      else if (m.state === "PrepareCommit" || m.state === "PrepareAbort") work = () => this.finishIfDecided(m.transactionalId);
      else if ((m.state === "Empty" || m.state === "CompleteCommit" || m.state === "CompleteAbort") && now - m.updateMs > TXN_ID_EXPIRATION_MS) work = () => this.expire(m.transactionalId, m.updateMs);
      if (work === null) continue;
      this.checking.add(m.transactionalId);
      this.run(m.transactionalId, work)
        .catch((e) => this.opts.logger.warn(`transactions: ${m.transactionalId}: ${errorText(e)}`))
        .finally(() => this.checking.delete(m.transactionalId));
    }
  }

  private async abortTimedOut(transactionalId: string, producerId: number, producerEpoch: number): Promise<void> {
    const m = this.txns.get(transactionalId);
    if (m === undefined || m.state !== "Ongoing" || m.producerId !== producerId || m.producerEpoch !== producerEpoch) return;
    this.opts.logger.info(`transactions: ${transactionalId}: open for more than its timeout (${m.timeoutMs} ms), aborted; producer ${producerId} epoch ${producerEpoch} is fenced (${partitionCount(m)} partition(s), ${m.groups.size} group(s))`);
    const fenced: TxnMetadata = { ...copyMetadata(m), producerEpoch: m.producerEpoch + 1, lastProducerEpoch: -1, state: "PrepareAbort", updateMs: this.now() };
    await this.persist(fenced);
    await this.finish(fenced);
  }

  private async expire(transactionalId: string, updateMs: number): Promise<void> {
    const m = this.txns.get(transactionalId);
    if (m === undefined || m.updateMs !== updateMs || m.state === "Ongoing" || m.state === "PrepareCommit" || m.state === "PrepareAbort") return;
    const batch = encodeRecordBatch({ records: [{ key: encodeKey(transactionalId), value: null }], now: this.now() });
    await this.opts.log.append(txnLogPartitionFor(transactionalId, this.opts.log.partitions), batch);
    this.txns.delete(transactionalId);
    if (this.byProducer.get(m.producerId) === m) this.byProducer.delete(m.producerId);
    this.opts.logger.info(`transactions: ${transactionalId} expired (idle since ${new Date(updateMs).toISOString()})`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
