// Idempotent-producer state of one partition (KIP-98): for each producer id, its epoch and the
// sequence ranges of its last few batches, so a retried batch is answered with the offset it got
// the first time instead of being appended twice, and a gap in sequences is refused.
// In memory only: after a restart a producer's first batch is accepted whatever its sequence
// (Kafka rebuilds this from its snapshots; we accept that a retry straddling a broker restart
// may duplicate, and say so in the produce handler).
//
// | incoming batch (producerId ≥ 0)                   | verdict                          |
// |---------------------------------------------------|----------------------------------|
// | producer unknown here, or a newer epoch            | append (state starts over)       |
// | epoch older than the one seen                      | fenced → INVALID_PRODUCER_EPOCH  |
// | same epoch, same first/last sequence as one of the | duplicate → answer that batch's  |
// | last RETAINED batches                              | offsets, append nothing          |
// | same epoch, first sequence = last + 1 (wrapping)   | append                           |
// | same epoch, anything else                          | OUT_OF_ORDER_SEQUENCE_NUMBER     |

/** Kafka keeps the last five batches per producer (max.in.flight.requests.per.connection ≤ 5). */
const RETAINED = 5;
const SEQUENCE_MAX = 0x7fffffff;

export interface AppendedOffsets {
  baseOffset: number;
  lastOffset: number;
  /** The broker's time stamped on the batch under LogAppendTime, else -1. */
  logAppendTime?: number;
}

/** What DescribeProducers reports of one producer (Kafka's ProducerStateEntry). */
export interface ActiveProducer {
  producerId: number;
  epoch: number;
  /** Sequence of the last record of its last batch here; -1 when none is kept. */
  lastSequence: number;
  /** Max timestamp of that batch (its append time under LogAppendTime); -1 when none is kept. */
  lastTimestamp: number;
}

interface BatchMeta {
  firstSequence: number;
  lastSequence: number;
  timestamp: number;
  /** Settles when the batch's append does: a retry of a batch still in flight waits for it. */
  result: Promise<AppendedOffsets>;
}

interface Entry {
  epoch: number;
  batches: BatchMeta[]; // oldest first
}

export type SequenceVerdict =
  | { kind: "append" }
  | { kind: "duplicate"; result: Promise<AppendedOffsets> }
  | { kind: "fenced"; currentEpoch: number }
  | { kind: "out-of-order"; expected: number };

export class ProducerState {
  private readonly producers = new Map<number, Entry>();

  check(producerId: number, epoch: number, firstSequence: number, recordCount: number): SequenceVerdict {
    const e = this.producers.get(producerId);
    if (!e || epoch > e.epoch) return { kind: "append" };
    if (epoch < e.epoch) return { kind: "fenced", currentEpoch: e.epoch };
    const lastSequence = addSequence(firstSequence, recordCount - 1);
    const dup = e.batches.find((b) => b.firstSequence === firstSequence && b.lastSequence === lastSequence);
    if (dup) return { kind: "duplicate", result: dup.result };
    const last = e.batches[e.batches.length - 1];
    const expected = last ? addSequence(last.lastSequence, 1) : firstSequence;
    return firstSequence === expected ? { kind: "append" } : { kind: "out-of-order", expected };
  }

  /** Every producer with state here (Kafka's activeProducers), in the order they first appeared. */
  activeProducers(): ActiveProducer[] {
    return [...this.producers].map(([producerId, e]) => {
      const last = e.batches[e.batches.length - 1];
      return { producerId, epoch: e.epoch, lastSequence: last?.lastSequence ?? -1, lastTimestamp: last?.timestamp ?? -1 };
    });
  }

  /**
   * Records a batch as its append starts (in arrival order, so in-flight batches chain), with the
   * append's promise. A failed append is forgotten, so the producer's retry is appended anew.
   */
  record(producerId: number, epoch: number, firstSequence: number, recordCount: number, result: Promise<AppendedOffsets>, maxTimestamp = -1): void {
    let e = this.producers.get(producerId);
    if (!e || epoch > e.epoch) this.producers.set(producerId, (e = { epoch, batches: [] }));
    const meta: BatchMeta = { firstSequence, lastSequence: addSequence(firstSequence, recordCount - 1), timestamp: maxTimestamp, result };
    result.then(
      (r) => {
        if (r.logAppendTime !== undefined && r.logAppendTime >= 0) meta.timestamp = r.logAppendTime;
      },
      () => {},
    );
    e.batches.push(meta);
    if (e.batches.length > RETAINED) e.batches.shift();
    const entry = e;
    result.catch(() => {
      entry.batches = entry.batches.filter((b) => b !== meta);
    });
  }
}

function addSequence(seq: number, n: number): number {
  const s = seq + n;
  return s > SEQUENCE_MAX ? s - SEQUENCE_MAX - 1 : s;
}
