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
// Bounded: RETAINED batches per producer, and producers idle for PRODUCER_EXPIRATION_MS are
// dropped (`expire`, run by the broker's retention timer and when a snapshot is taken). Idle is
// measured from the later of the last batch's maxTimestamp (Kafka's measure) and the broker's
// clock when it last appended or rebuilt the producer, so a producer replaying old timestamps is
// not dropped while it is still writing.
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
  /** Oldest first; never empty. */
  batches: ProducerBatch[];
  /** maxTimestamp of the last batch (Kafka's lastTimestamp, shown by DescribeProducers). */
  lastTimestamp: number;
  /** The broker's clock when the last batch was appended, or the entry rebuilt or loaded. */
  lastSeenMs: number;
}

export type SequenceVerdict =
  | { kind: "append" }
  | { kind: "duplicate"; baseOffset: number; lastOffset: number }
  | { kind: "fenced"; currentEpoch: number }
  | { kind: "out-of-order"; expected: number };

/** What DescribeProducers shows per producer (Kafka's ProducerState in DescribeProducersResponse). */
export interface ProducerDescription {
  producerId: number;
  epoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  currentTxnStartOffset: number;
}

const APPEND: SequenceVerdict = { kind: "append" };

export class ProducerState {
  private readonly producers = new Map<number, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /** The verdict on a batch about to be appended (the table above). Allocates only off the common path. */
  check(producerId: number, epoch: number, firstSequence: number, recordCount: number): SequenceVerdict {
    const e = this.producers.get(producerId);
    if (e === undefined) return APPEND; // row 1
    if (epoch < e.epoch) return { kind: "fenced", currentEpoch: e.epoch }; // row 2
    if (epoch > e.epoch) return firstSequence === 0 ? APPEND : { kind: "out-of-order", expected: 0 }; // rows 3, 4
    const lastSequence = addSequence(firstSequence, recordCount - 1);
    const batches = e.batches;
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
  apply(producerId: number, epoch: number, firstSequence: number, lastSequence: number, baseOffset: number, lastOffset: number, maxTimestamp: number, now: number): void {
    let e = this.producers.get(producerId);
    if (e === undefined) {
      e = { producerId, epoch, batches: [], lastTimestamp: maxTimestamp, lastSeenMs: now };
      this.producers.set(producerId, e);
    } else if (e.epoch !== epoch) {
      e.epoch = epoch;
      e.batches.length = 0;
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

  /** Drops producers idle for `expirationMs` or longer (see the file comment); returns how many. */
  expire(now: number, expirationMs: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (now - Math.max(e.lastTimestamp, e.lastSeenMs) >= expirationMs) {
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
      lastSequence: e.batches[e.batches.length - 1]!.lastSequence,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: -1,
      currentTxnStartOffset: -1,
    }));
  }

  /** Adds a whole entry (loading a snapshot); its batches are copied. */
  restore(e: ProducerEntry): void {
    assert(e.batches.length > 0 && e.batches.length <= RETAINED, "a restored producer has 1..RETAINED batches");
    this.producers.set(e.producerId, { ...e, batches: e.batches.map((b) => ({ ...b })) });
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
