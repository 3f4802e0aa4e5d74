// Offsets committed inside a transaction (TxnOffsetCommit, KIP-98/KIP-447): pending per group and
// producer until the transaction ends, then committed (COMMIT) or dropped (ABORT) as one. They are
// invisible to OffsetFetch meanwhile (a fetch that asks for stable offsets is told
// UNSTABLE_OFFSET_COMMIT for a partition that has some). The offsets store (offset-store.ts) keeps
// them durable: each pending commit and each transaction end is a record of its log, and its
// snapshots carry what is pending, so a broker that restarts between a TxnOffsetCommit and the
// transaction's end still commits them when the coordinator's marker comes.
import type { CommittedOffset } from "./types.ts";

type Key = string; // topic \0 partition

export interface PendingEntry extends CommittedOffset {
  topic: string;
  partition: number;
}

export class PendingOffsets {
  /** group → producer id → partition → offset */
  private readonly byGroup = new Map<string, Map<number, Map<Key, PendingEntry>>>();

  add(group: string, producerId: number, entry: PendingEntry): void {
    let byProducer = this.byGroup.get(group);
    if (byProducer === undefined) this.byGroup.set(group, (byProducer = new Map()));
    let entries = byProducer.get(producerId);
    if (entries === undefined) byProducer.set(producerId, (entries = new Map()));
    entries.set(`${entry.topic}\u0000${entry.partition}`, entry);
  }

  /** Removes and returns what `producerId` has pending in `group` (the transaction ended). */
  take(group: string, producerId: number): PendingEntry[] {
    const byProducer = this.byGroup.get(group);
    const entries = byProducer?.get(producerId);
    if (byProducer === undefined || entries === undefined) return [];
    byProducer.delete(producerId);
    if (byProducer.size === 0) this.byGroup.delete(group);
    return [...entries.values()];
  }

  /** What `producerId` has pending in `group`, left in place. */
  peek(group: string, producerId: number): PendingEntry[] {
    return [...(this.byGroup.get(group)?.get(producerId)?.values() ?? [])];
  }

  /** Every group and producer with offsets pending. */
  transactions(): Array<{ group: string; producerId: number }> {
    const out: Array<{ group: string; producerId: number }> = [];
    for (const [group, byProducer] of this.byGroup) for (const producerId of byProducer.keys()) out.push({ group, producerId });
    return out;
  }

  /** The groups where `producerId` has offsets pending. */
  groupsOf(producerId: number): string[] {
    const out: string[] = [];
    for (const [group, byProducer] of this.byGroup) if (byProducer.has(producerId)) out.push(group);
    return out;
  }

  /** Whether any transaction has an offset pending for this partition of `group`. */
  has(group: string, topic: string, partition: number): boolean {
    const byProducer = this.byGroup.get(group);
    if (byProducer === undefined) return false;
    const key = `${topic}\u0000${partition}`;
    for (const entries of byProducer.values()) if (entries.has(key)) return true;
    return false;
  }

  dropGroup(group: string): void {
    this.byGroup.delete(group);
  }

  dropTopic(topic: string): void {
    for (const [group, byProducer] of this.byGroup) {
      for (const [pid, entries] of byProducer) {
        for (const [key, e] of entries) if (e.topic === topic) entries.delete(key);
        if (entries.size === 0) byProducer.delete(pid);
      }
      if (byProducer.size === 0) this.byGroup.delete(group);
    }
  }

  /** Every pending offset as [group, producerId, topic, partition, offset, epoch, metadata, ts] (snapshots). */
  rows(): Array<[string, number, string, number, number, number, string | null, number]> {
    const out: Array<[string, number, string, number, number, number, string | null, number]> = [];
    for (const [group, byProducer] of this.byGroup) {
      for (const [pid, entries] of byProducer) for (const e of entries.values()) out.push([group, pid, e.topic, e.partition, e.offset, e.leaderEpoch, e.metadata, e.commitTimestamp]);
    }
    return out;
  }
}
