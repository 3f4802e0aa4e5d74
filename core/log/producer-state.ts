// Idempotent-producer state of one partition (KIP-98), as of the log's end offset: for each
// producer id, its epoch and the sequence and offset ranges of its last RETAINED batches, so that
// a retried batch is answered with the offsets it got the first time instead of being appended
// twice, and a gap in sequences is refused. It is a function of the log: PartitionLog applies
// each idempotent batch as it writes it (offsets assigned, in log order), and rebuilds the table
// at open from a snapshot plus the batch headers after it (producer-snapshots.ts), so a retry
// straddling a broker restart, clean or not, gets the same answer as one that does not.
//
// Checking an incoming batch (producerId ≥ 0; every input matches exactly one row, first match
// wins; Kafka's ProducerAppendInfo after KIP-360):
//
// | # | incoming batch                                      | verdict                                 |
// |---|-----------------------------------------------------|-----------------------------------------|
// | 1 | producer unknown here (never seen, or expired)      | append, whatever its sequence           |
// | 2 | epoch older than the one seen                       | fenced → INVALID_PRODUCER_EPOCH         |
// | 3 | newer epoch, first sequence 0                       | append (the producer starts over)       |
// | 4 | newer epoch, first sequence not 0                   | OUT_OF_ORDER_SEQUENCE_NUMBER            |
// | 5 | same epoch, same first and last sequence as one of  | duplicate → that batch's offsets,       |
// |   |   the last RETAINED batches                         |   nothing appended                      |
// | 6 | same epoch, first sequence = last sequence + 1      | append                                  |
// |   |   (wrapping at 2^31 − 1)                            |                                         |
// | 7 | same epoch, anything else                           | OUT_OF_ORDER_SEQUENCE_NUMBER            |
//
// Applying a written batch (and rebuilding from the log, which checks nothing: the log is the
// truth): another epoch than the entry's starts the entry over with this batch; the same epoch
// adds it, dropping the oldest past RETAINED.
//
// Transactions (KIP-98): a transactional batch (attribute bit 4) opens the producer's transaction
// on this partition at its first offset if none is open (`txnFirstOffset`), and the control batch
// the coordinator writes (a COMMIT or ABORT marker, core/batch/control.ts) closes it. A batch that
// is not transactional while the producer's transaction is open is refused (INVALID_TXN_STATE, as
// Kafka's ProducerAppendInfo). Markers are checked apart from data (checkMarker), as Kafka does:
//
// | # | incoming marker                                      | verdict                               |
// |---|------------------------------------------------------|---------------------------------------|
// | 1 | epoch older than the producer's                      | fenced → INVALID_PRODUCER_EPOCH       |
// | 2 | coordinator epoch older than the last marker's       | TRANSACTION_COORDINATOR_FENCED        |
// | 3 | anything else (an unknown producer too)              | append                                |
//
// An applied marker of a newer epoch (the coordinator fenced the producer when it aborted a
// timed-out transaction) starts the entry over with no batches, so the next data batch of that
// epoch must start at sequence 0; a marker of the same epoch keeps the batches (a producer's
// sequences go on across its transactions). An entry may so have no batches: then the same epoch
// needs sequence 0 (Kafka's rule), a newer one too.
//
// Bounded: RETAINED batches per producer, and producers idle for PRODUCER_EXPIRATION_MS are
// dropped (`expire`, run by the broker's retention timer and when a snapshot is taken). Idle is
// measured from the later of the last batch's maxTimestamp (Kafka's measure) and the broker's
// clock when it last appended or rebuilt the producer, so a producer replaying old timestamps is
// not dropped while it is still writing. A producer with an open transaction never expires (the
// coordinator's marker will close it).
import { assert } from "../assert.ts";

/** Kafka keeps the last five batches per producer (max.in.flight.requests.per.connection ≤ 5). */
export const RETAINED = 5;
const SEQUENCE_MAX = 0x7fffffff;
const EPOCH_MAX = 0x7fff;

export interface ProducerBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first; empty only after a marker (see the file comment). */
  batches: ProducerBatch[];
  /** maxTimestamp of the last batch (Kafka's lastTimestamp, shown by DescribeProducers). */
  lastTimestamp: number;
  /** The broker's clock when the last batch was appended, or the entry rebuilt or loaded. */
  lastSeenMs: number;
  /** First offset of the producer's open transaction on this partition, -1 when none is open. */
  txnFirstOffset: number;
  /** The coordinator epoch of the last marker applied, -1 before any. */
  coordinatorEpoch: number;
}

export type SequenceVerdict =
  | { kind: "append" }
  | { kind: "duplicate"; baseOffset: number; lastOffset: number }
  | { kind: "fenced"; currentEpoch: number }
  | { kind: "out-of-order"; expected: number }
  | { kind: "not-transactional"; txnFirstOffset: number };

export type MarkerVerdict = { kind: "append" } | { kind: "fenced"; currentEpoch: number } | { kind: "coordinator-fenced"; coordinatorEpoch: number };

/** What DescribeProducers shows per producer (Kafka's ProducerState in DescribeProducersResponse). */
export interface ProducerDescription {
  producerId: number;
  epoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  currentTxnStartOffset: number;
}

const APPEND = { kind: "append" } as const;

export class ProducerState {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Producers with an open transaction → its first offset (the last stable offset's inputs). */
  private readonly open = new Map<number, number>();

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** The verdict on a batch about to be appended (the table above). Allocates only off the common path. */
  check(producerId: number, epoch: number, firstSequence: number, recordCount: number, transactional = false): SequenceVerdict {
    const e = this.producers.get(producerId);
    if (e === undefined) return APPEND; // row 1
    if (epoch < e.epoch) return { kind: "fenced", currentEpoch: e.epoch }; // row 2
    if (!transactional && e.txnFirstOffset >= 0 && epoch === e.epoch) return { kind: "not-transactional", txnFirstOffset: e.txnFirstOffset };
    if (epoch > e.epoch) return firstSequence === 0 ? APPEND : { kind: "out-of-order", expected: 0 }; // rows 3, 4
    const batches = e.batches;
    if (batches.length === 0) return firstSequence === 0 ? APPEND : { kind: "out-of-order", expected: 0 }; // after a marker
    const lastSequence = addSequence(firstSequence, recordCount - 1);
    for (let i = batches.length - 1; i >= 0; i--) {
      const b = batches[i]!;
      if (b.firstSequence === firstSequence && b.lastSequence === lastSequence) return { kind: "duplicate", baseOffset: b.baseOffset, lastOffset: b.lastOffset }; // row 5
    }
    const expected = addSequence(batches[batches.length - 1]!.lastSequence, 1);
    return firstSequence === expected ? APPEND : { kind: "out-of-order", expected }; // rows 6, 7
  }

  /**
   * Records a batch written at [baseOffset, lastOffset]: in log order, as the log writes it or
   * as a rebuild walks it. `now` is the broker's clock.
   */
  apply(producerId: number, epoch: number, firstSequence: number, lastSequence: number, baseOffset: number, lastOffset: number, maxTimestamp: number, now: number, transactional = false): void {
    const e = this.entryAt(producerId, epoch, maxTimestamp, now);
    if (transactional && e.txnFirstOffset < 0) {
      e.txnFirstOffset = baseOffset;
      this.open.set(producerId, baseOffset);
    }
    assert(e.batches.length === 0 || e.batches[e.batches.length - 1]!.lastOffset < baseOffset, "a producer's batches are applied in offset order");
    const batches = e.batches;
    // Past RETAINED the oldest batch's object is reused: no allocation per batch once warm.
    const b = batches.length >= RETAINED ? batches.shift()! : ({} as ProducerBatch);
    b.firstSequence = firstSequence;
    b.lastSequence = lastSequence;
    b.baseOffset = baseOffset;
    b.lastOffset = lastOffset;
    batches.push(b);
    e.lastTimestamp = maxTimestamp;
    e.lastSeenMs = now;
  }

  /** The producer's entry under `epoch`, created or started over (batches dropped) when the epoch differs. */
  private entryAt(producerId: number, epoch: number, timestamp: number, now: number): ProducerEntry {
    let e = this.producers.get(producerId);
    if (e === undefined) {
      e = { producerId, epoch, batches: [], lastTimestamp: timestamp, lastSeenMs: now, txnFirstOffset: -1, coordinatorEpoch: -1 };
      this.producers.set(producerId, e);
    } else if (e.epoch !== epoch) {
      e.epoch = epoch;
      e.batches.length = 0;
    }
    return e;
  }

  /** The verdict on a transaction marker about to be appended (the marker table above). */
  checkMarker(producerId: number, epoch: number, coordinatorEpoch: number): MarkerVerdict {
    const e = this.producers.get(producerId);
    if (e === undefined) return APPEND;
    if (epoch < e.epoch) return { kind: "fenced", currentEpoch: e.epoch };
    if (coordinatorEpoch < e.coordinatorEpoch) return { kind: "coordinator-fenced", coordinatorEpoch: e.coordinatorEpoch };
    return APPEND;
  }

  /**
   * Records a marker written at `offset`: closes the producer's open transaction and returns its
   * first offset (the marker's own offset when none was open here).
   */
  applyMarker(producerId: number, epoch: number, coordinatorEpoch: number, offset: number, timestamp: number, now: number): number {
    const e = this.entryAt(producerId, epoch, timestamp, now);
    const first = e.txnFirstOffset >= 0 ? e.txnFirstOffset : offset;
    e.txnFirstOffset = -1;
    this.open.delete(producerId);
    e.coordinatorEpoch = coordinatorEpoch;
    e.lastTimestamp = timestamp;
    e.lastSeenMs = now;
    return first;
  }

  /** The first offset of the oldest open transaction, -1 when none is open; `except` is left out. */
  firstOpenOffset(except = -1): number {
    let min = -1;
    for (const [id, first] of this.open) if (id !== except && (min < 0 || first < min)) min = first;
    return min;
  }

  /** Producers with an open transaction. */
  get openTransactions(): number {
    return this.open.size;
  }

  /** Drops producers idle for `expirationMs` or longer (see the file comment); returns how many. */
  expire(now: number, expirationMs: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (e.txnFirstOffset < 0 && now - Math.max(e.lastTimestamp, e.lastSeenMs) >= expirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Every producer, in no particular order (snapshots, DescribeProducers). */
  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  describe(): ProducerDescription[] {
    return [...this.producers.values()].map((e) => ({
      producerId: e.producerId,
      epoch: e.epoch,
      lastSequence: e.batches.length === 0 ? -1 : e.batches[e.batches.length - 1]!.lastSequence,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnStartOffset: e.txnFirstOffset,
    }));
  }

  /** Adds a whole entry (loading a snapshot); its batches are copied. */
  restore(e: ProducerEntry): void {
    assert(e.batches.length <= RETAINED, "a restored producer has at most RETAINED batches");
    this.producers.set(e.producerId, { ...e, batches: e.batches.map((b) => ({ ...b })) });
    if (e.txnFirstOffset >= 0) this.open.set(e.producerId, e.txnFirstOffset);
  }

  clone(): ProducerState {
    const c = new ProducerState();
    for (const e of this.producers.values()) c.restore(e);
    return c;
  }
}

/** `seq + n` in sequence space (0 … 2^31 − 1, wrapping). */
export function addSequence(seq: number, n: number): number {
  const s = seq + n;
  return s > SEQUENCE_MAX ? s - SEQUENCE_MAX - 1 : s;
}

/** Whether the fields read from a stored batch header can belong to an idempotent batch. */
export function plausibleProducer(producerId: number, epoch: number, firstSequence: number): boolean {
  return producerId >= 0 && epoch >= 0 && epoch <= EPOCH_MAX && firstSequence >= 0;
}
