// Idempotent producers (KIP-98) on one broker: producer ids handed out by InitProducerId, and each
// partition's recent sequences (core/log/producer-state.ts) so retried batches are not appended
// twice. Transactions are not supported; idempotence is, because Java clients since 3.0 enable it
// by default and fail without InitProducerId.
import type { PartitionLog } from "../log/partition-log.ts";
import { type ActiveProducer, ProducerState } from "../log/producer-state.ts";

/** Ids are (seconds since the epoch) × 2^20 + a counter: unique across restarts without a file,
 * as long as the clock does not go back, and far below 2^53. */
const IDS_PER_SECOND = 1 << 20;

export class Idempotence {
  private lastSecond = 0;
  private counter = 0;
  private readonly states = new WeakMap<PartitionLog, ProducerState>();

  nextProducerId(now = Date.now()): number {
    const second = Math.max(Math.floor(now / 1000), this.lastSecond);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.counter = 0;
    }
    if (this.counter >= IDS_PER_SECOND) {
      this.lastSecond++;
      this.counter = 0;
    }
    return this.lastSecond * IDS_PER_SECOND + this.counter++;
  }

  /** The idempotent producers with state on this partition (DescribeProducers); none after a restart. */
  activeProducers(log: PartitionLog): ActiveProducer[] {
    return this.states.get(log)?.activeProducers() ?? [];
  }

  stateOf(log: PartitionLog): ProducerState {
    let s = this.states.get(log);
    if (!s) this.states.set(log, (s = new ProducerState()));
    return s;
  }
}
