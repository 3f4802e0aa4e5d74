// Consumer groups in a cluster (issue #19), as Kafka does them: committed offsets live in a
// replicated internal topic, __consumer_offsets, and a group's coordinator is the leader of its
// partition (a hash of the group id). A commit counts once it is on every in-sync replica of that
// partition (acks=all); a broker that becomes the leader of a partition loads every commit in it
// before it answers for its groups (COORDINATOR_LOAD_IN_PROGRESS meanwhile), so a coordinator's
// death moves its groups, with their commits, to the new leader. Members rejoin there, as they
// do after any coordinator change.
//
// Records (one batch per commit request), uncompressed:
//   key   {"g": group, "t": topic, "p": partition}
//   value {"o": offset, "e": leader epoch, "m": metadata | null, "ts": commit time}
//
// Offsets committed in a transaction (TxnOffsetCommit, issue #20) are replicated the same way,
// pending, under a key of their own, and the transaction's end replaces them: a commit writes them
// as committed offsets and tombstones the pending keys in one batch; an abort only tombstones.
// So the latest record of each key is what counts, as compaction keeps it:
//   key   {"g": group, "t": topic, "p": partition, "x": producer id}
//   value as above (pending in that producer's transaction) | null (the transaction ended)
// The end comes from the transaction's coordinator: directly when it is this broker, else as a
// WriteTxnMarkers marker for this partition, which ends the producer's pending offsets in every
// group of the partition (endTransaction), as Kafka's marker on __consumer_offsets does.
import type { Broker } from "../../core/broker/broker.ts";
import type { PartitionState } from "../../core/broker/replication.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "../../core/batch/record-batch.ts";
import { CoreError } from "../../core/errors.ts";
import type { PartitionLog } from "../../core/log/partition-log.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";
/** Kafka's offsets.topic.num.partitions is 50; a small cluster needs fewer loads on failover. */
export const OFFSETS_PARTITIONS = 8;
/**
 * As Kafka's offsets.topic.* defaults: compacted (the broker's log cleaner keeps the latest commit
 * per group/topic/partition key, core/broker/cleaning.ts), 100 MiB segments. A topic created before
 * issue #20 keeps its cleanup.policy=delete, retention.ms=-1 until altered (streamctl topics alter
 * __consumer_offsets --set cleanup.policy=compact).
 */
const OFFSETS_CONFIGS = { "cleanup.policy": "compact", "segment.bytes": "104857600" };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The offsets partition of a group: Java's String.hashCode, as Kafka's partitionFor. */
export function offsetsPartitionFor(groupId: string, partitions = OFFSETS_PARTITIONS): number {
  let h = 0;
  for (let i = 0; i < groupId.length; i++) h = (Math.imul(31, h) + groupId.charCodeAt(i)) | 0;
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

type Loaded = { epoch: number; ready: boolean };

export class ClusterGroups {
  /** Offsets partitions this broker leads: loaded (ready) or loading, under which epoch. */
  private readonly led = new Map<number, Loaded>();
  private creating: Promise<void> | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly nodeId: number,
  ) {
    broker.groups.replicateCommitsWith((groupId, offsets) => this.replicate(groupId, offsets));
    broker.groups.replicateTxnOffsetsWith({
      pending: (groupId, producerId, offsets) => this.append(groupId, offsets.map((o) => ({ key: pendingKey(groupId, o, producerId), value: offsetValue(o) }))),
      end: (groupId, producerId, commit, pending) =>
        this.append(groupId, [
          ...(commit ? pending.map((o) => ({ key: offsetKey(groupId, o), value: offsetValue(o) })) : []),
          ...pending.map((o) => ({ key: pendingKey(groupId, o, producerId), value: null })),
        ]),
    });
  }

  /**
   * A transaction marker for offsets partition `partition` (led and loaded here): the producer's
   * pending offsets in every group of the partition are committed or dropped, replicated first.
   */
  async endTransaction(partition: number, producerId: number, commit: boolean): Promise<void> {
    const topic = this.broker.cluster!.topic(OFFSETS_TOPIC);
    if (topic === undefined || this.led.get(partition)?.ready !== true) throw new CoreError("NOT_LEADER", `broker ${this.nodeId} does not coordinate the groups of ${OFFSETS_TOPIC}/${partition} now`);
    for (const groupId of this.broker.groups.groupsWithPending(producerId)) {
      if (offsetsPartitionFor(groupId, topic.partitions.length) === partition) await this.broker.groups.endTxnOffsets(groupId, producerId, commit);
    }
  }

  /** Where the group's coordinator is: the leader of its partition; null while there is none yet. */
  coordinator(groupId: string): number | null {
    const cluster = this.broker.cluster!;
    const topic = cluster.topic(OFFSETS_TOPIC);
    if (topic === undefined) {
      this.creating ??= this.create().finally(() => (this.creating = null));
      return null;
    }
    const leader = topic.partitions[offsetsPartitionFor(groupId, topic.partitions.length)]?.leader ?? -1;
    return leader >= 0 ? leader : null;
  }

  /** Null when this broker coordinates the group now, else the error to answer with. */
  ownership(groupId: string): "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" | null {
    const topic = this.broker.cluster!.topic(OFFSETS_TOPIC);
    if (topic === undefined) return "NOT_COORDINATOR";
    const p = offsetsPartitionFor(groupId, topic.partitions.length);
    const loaded = this.led.get(p);
    // Named leader by the cluster but not yet applied here: about to load.
    if (loaded === undefined) return topic.partitions[p]?.leader === this.nodeId ? "COORDINATOR_LOAD_IN_PROGRESS" : "NOT_COORDINATOR";
    return loaded.ready ? null : "COORDINATOR_LOAD_IN_PROGRESS";
  }

  private async create(): Promise<void> {
    try {
      await this.broker.cluster!.createTopic(OFFSETS_TOPIC, OFFSETS_PARTITIONS, null, { ...OFFSETS_CONFIGS }, false);
    } catch (e) {
      if (!(e instanceof CoreError && e.code === "TOPIC_EXISTS")) this.broker.log.warn(`cluster: cannot create ${OFFSETS_TOPIC}: ${(e as Error).message}`);
    }
  }

  /** The cluster's state of one of this broker's offsets partitions (ClusterNode reconcile). */
  async onState(state: PartitionState, log: PartitionLog): Promise<void> {
    const p = state.partition;
    if (state.leader !== this.nodeId) {
      this.led.delete(p);
      return;
    }
    const current = this.led.get(p);
    if (current !== undefined && current.epoch === state.leaderEpoch) return;
    const loading: Loaded = { epoch: state.leaderEpoch, ready: false };
    this.led.set(p, loading);
    const started = performance.now();
    const groups = await this.load(log, p, this.broker.cluster!.topic(OFFSETS_TOPIC)?.partitions.length ?? OFFSETS_PARTITIONS);
    if (this.led.get(p) !== loading) return; // lost it while loading
    loading.ready = true;
    this.broker.log.info(`cluster: coordinating the groups of ${OFFSETS_TOPIC}/${p} (epoch ${state.leaderEpoch}): ${groups} group(s) loaded in ${Math.round(performance.now() - started)} ms`);
  }

  /**
   * Every commit in the partition, the last per group/topic/partition kept, into the coordinator,
   * and the transactional offsets still pending.
   */
  private async load(log: PartitionLog, partition: number, partitions: number): Promise<number> {
    type Entry = { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null; commitTimestamp: number };
    const latest = new Map<string, Map<string, Entry>>();
    /** group \0 producer id → topic \0 partition → pending offset */
    const pending = new Map<string, { groupId: string; producerId: number; offsets: Map<string, Entry> }>();
    const end = log.durableEndOffset;
    let offset = log.startOffset;
    while (offset < end) {
      const read = log.read(offset, 1 << 20, true, end);
      if (read.chunks.length === 0) break;
      for (const chunk of read.chunks) {
        for (const span of iterateBatches(chunk)) {
          const { header, records } = decodeRecordBatch(span.bytes, { verifyCrc: false });
          offset = Math.max(offset, header.baseOffset + header.lastOffsetDelta + 1);
          for (const r of records) {
            if (r.key === null) continue;
            try {
              const k = JSON.parse(dec.decode(r.key)) as { g: string; t: string; p: number; x?: number };
              const v = r.value === null ? null : (JSON.parse(dec.decode(r.value)) as { o: number; e: number; m: string | null; ts: number });
              const entry = v === null ? null : { topic: k.t, partition: k.p, offset: v.o, leaderEpoch: v.e, metadata: v.m, commitTimestamp: v.ts };
              if (k.x !== undefined) {
                const id = `${k.g}\u0000${k.x}`;
                let txn = pending.get(id);
                if (txn === undefined) pending.set(id, (txn = { groupId: k.g, producerId: k.x, offsets: new Map() }));
                if (entry === null) txn.offsets.delete(`${k.t}\u0000${k.p}`);
                else txn.offsets.set(`${k.t}\u0000${k.p}`, entry);
                continue;
              }
              if (entry === null) continue;
              let byGroup = latest.get(k.g);
              if (!byGroup) latest.set(k.g, (byGroup = new Map()));
              byGroup.set(`${k.t}\u0000${k.p}`, entry);
            } catch {
              this.broker.log.warn(`cluster: skipped an unreadable record in ${OFFSETS_TOPIC} at offset ${r.offset}`);
            }
          }
        }
      }
    }
    for (const [group, entries] of latest) await this.broker.groups.restoreOffsets(group, [...entries.values()]);
    const open = [...pending.values()].filter((t) => t.offsets.size > 0);
    const openIds = new Set(open.map((t) => `${t.groupId}\u0000${t.producerId}`));
    // Pending offsets this broker kept from an earlier term that the log has ended meanwhile go.
    await this.broker.groups.restorePending(
      open.map((t) => ({ groupId: t.groupId, producerId: t.producerId, offsets: [...t.offsets.values()] })),
      (groupId, producerId) => offsetsPartitionFor(groupId, partitions) !== partition || openIds.has(`${groupId}\u0000${producerId}`),
    );
    return latest.size;
  }

  /** A commit the coordinator accepted, on every in-sync replica of the group's partition first. */
  private replicate(groupId: string, offsets: ReadonlyArray<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null; commitTimestamp: number }>): Promise<void> {
    return this.append(groupId, offsets.map((o) => ({ key: offsetKey(groupId, o), value: offsetValue(o) })));
  }

  /** One batch of records into the group's partition, on every in-sync replica before it resolves. */
  private async append(groupId: string, records: Array<{ key: Uint8Array; value: Uint8Array | null }>): Promise<void> {
    if (records.length === 0) return;
    const topic = this.broker.cluster!.topic(OFFSETS_TOPIC);
    if (topic === undefined) throw new CoreError("NOT_LEADER", `${OFFSETS_TOPIC} does not exist yet`);
    const p = offsetsPartitionFor(groupId, topic.partitions.length);
    if (this.led.get(p)?.ready !== true) throw new CoreError("NOT_LEADER", `broker ${this.nodeId} does not coordinate group ${groupId} now`);
    const batch = encodeRecordBatch({ records });
    await this.broker.append(OFFSETS_TOPIC, p, batch, { allowZstd: true, acks: "all" }).result;
  }
}

type OffsetRecord = { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null; commitTimestamp: number };

function offsetKey(groupId: string, o: { topic: string; partition: number }): Uint8Array {
  return enc.encode(JSON.stringify({ g: groupId, t: o.topic, p: o.partition }));
}

function pendingKey(groupId: string, o: { topic: string; partition: number }, producerId: number): Uint8Array {
  return enc.encode(JSON.stringify({ g: groupId, t: o.topic, p: o.partition, x: producerId }));
}

function offsetValue(o: OffsetRecord): Uint8Array {
  return enc.encode(JSON.stringify({ o: o.offset, e: o.leaderEpoch, m: o.metadata, ts: o.commitTimestamp }));
}
