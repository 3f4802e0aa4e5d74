// Transactions in a cluster (issue #20 on issue #19's cluster), as Kafka does them: the
// transaction log, __transaction_state, is a replicated internal topic (compacted, replication
// factor min(3, brokers), min.insync.replicas as every topic of three replicas: 2), created on
// first use, and the coordinator of a transactional id is the leader of its partition
// (txnLogPartitionFor, Kafka's partitionFor). Every state change counts once it is on every
// in-sync replica of that partition (acks=all), so a coordinator's death loses none.
//
// One TransactionCoordinator (core/transactions) per log partition this broker leads, for one
// leader term; its coordinator epoch (stamped on its markers) is the partition's leader epoch, so
// a deposed coordinator's late markers are refused by every partition that saw a newer one:
//
// | the partition's state (reconcile) | this broker                       | action                           |
// |-----------------------------------|-----------------------------------|----------------------------------|
// | led here under epoch E            | no coordinator, or another epoch  | stop the old one; load the log   |
// |                                   |                                   |   (its ids answer                |
// |                                   |                                   |   COORDINATOR_LOAD_IN_PROGRESS), |
// |                                   |                                   |   then serve and recover: the    |
// |                                   |                                   |   markers of every Prepare*      |
// |                                   |                                   |   transaction are written again  |
// |                                   |                                   |   and it completes               |
// | led elsewhere, or removed         | a coordinator                     | stop it (its ids: NOT_COORDINATOR)|
//
// Markers (TxnParticipants): a partition led here is written directly (Broker.appendMarker,
// acks=all); one led by another broker gets WriteTxnMarkers (markers.ts) at its leader; a
// consumer group's pending offsets are ended by the group's coordinator (the leader of its
// __consumer_offsets partition, offsets.ts), here or through a marker for that partition. A
// marker that fails leaves the transaction decided: the coordinator's timer retries it, against
// whichever broker leads the partition then.
import type { Broker } from "../../core/broker/broker.ts";
import type { PartitionState } from "../../core/broker/replication.ts";
import { TXN_LOG_TOPIC } from "../../core/broker/transactions.ts";
import { decodeRecordBatch, iterateBatches } from "../../core/batch/record-batch.ts";
import { CoreError } from "../../core/errors.ts";
import { systemTimers } from "../../core/groups/timers.ts";
import { giveBack } from "../../core/lent-buffers.ts";
import { TXN_LOG_PARTITIONS } from "../../core/limits.ts";
import type { PartitionLog } from "../../core/log/partition-log.ts";
import { TransactionCoordinator, type TxnLogPort, type TxnParticipants } from "../../core/transactions/coordinator.ts";
import { txnLogPartitionFor } from "../../core/transactions/metadata.ts";
import type { MarkerSender, TxnMarker } from "./markers.ts";
import { type ClusterGroups, OFFSETS_TOPIC, offsetsPartitionFor } from "./offsets.ts";

/** As Kafka's transaction.state.log.* defaults (partitions: TXN_LOG_PARTITIONS, as one broker). */
const TXN_LOG_CONFIGS = { "cleanup.policy": "compact", "segment.bytes": "104857600" };
const READ_BYTES = 1 << 20;

/** A log partition led here: loading (coordinator null) or serving, under one leader epoch. */
type Led = { epoch: number; coordinator: TransactionCoordinator | null };

export class ClusterTransactions {
  private readonly led = new Map<number, Led>();
  private creating: Promise<void> | null = null;
  private stopped = false;
  private readonly participants: TxnParticipants;

  constructor(
    private readonly broker: Broker,
    private readonly nodeId: number,
    private readonly markers: MarkerSender,
    private readonly groups: ClusterGroups,
  ) {
    this.participants = {
      writeMarker: (topic, partition, marker) => this.writeMarker(topic, partition, marker),
      endGroup: (groupId, _producerId, _commit, marker) => this.endGroup(groupId, marker),
      partitionExists: (topic, partition) => {
        const t = this.broker.cluster!.topic(topic);
        return t !== undefined && Number.isInteger(partition) && partition >= 0 && partition < t.partitions.length;
      },
      nextProducerId: () => this.broker.nextProducerId(),
    };
  }

  /** Where the id's coordinator is: the leader of its log partition; null while there is none yet. */
  coordinator(transactionalId: string): number | null {
    const topic = this.broker.cluster!.topic(TXN_LOG_TOPIC);
    if (topic === undefined) {
      this.creating ??= this.create().finally(() => (this.creating = null));
      return null;
    }
    const leader = topic.partitions[txnLogPartitionFor(transactionalId, topic.partitions.length)]?.leader ?? -1;
    return leader >= 0 ? leader : null;
  }

  /** This broker's coordinator of the id, or the error to answer with. */
  ownership(transactionalId: string): TransactionCoordinator | "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" {
    const topic = this.broker.cluster!.topic(TXN_LOG_TOPIC);
    if (topic === undefined) return "NOT_COORDINATOR";
    const p = txnLogPartitionFor(transactionalId, topic.partitions.length);
    const led = this.led.get(p);
    // Named leader by the cluster but not applied here yet: about to load.
    if (led === undefined) return topic.partitions[p]?.leader === this.nodeId ? "COORDINATOR_LOAD_IN_PROGRESS" : "NOT_COORDINATOR";
    return led.coordinator ?? "COORDINATOR_LOAD_IN_PROGRESS";
  }

  /** The coordinators serving here now. */
  coordinators(): TransactionCoordinator[] {
    return [...this.led.values()].flatMap((l) => (l.coordinator === null ? [] : [l.coordinator]));
  }

  private async create(): Promise<void> {
    try {
      await this.broker.cluster!.createTopic(TXN_LOG_TOPIC, TXN_LOG_PARTITIONS, null, { ...TXN_LOG_CONFIGS }, false);
    } catch (e) {
      if (!(e instanceof CoreError && e.code === "TOPIC_EXISTS")) this.broker.log.warn(`cluster: cannot create ${TXN_LOG_TOPIC}: ${(e as Error).message}`);
    }
  }

  /** The cluster's state of one of this broker's log partitions (ClusterNode reconcile): the table above. */
  async onState(state: PartitionState, log: PartitionLog): Promise<void> {
    const p = state.partition;
    const current = this.led.get(p);
    if (state.leader !== this.nodeId || this.stopped) {
      this.drop(p);
      return;
    }
    if (current !== undefined && current.epoch === state.leaderEpoch) return;
    this.drop(p);
    const loading: Led = { epoch: state.leaderEpoch, coordinator: null };
    this.led.set(p, loading);
    const started = performance.now();
    const partitions = this.broker.cluster!.topic(TXN_LOG_TOPIC)?.partitions.length ?? TXN_LOG_PARTITIONS;
    const coordinator = await TransactionCoordinator.open({
      log: this.logPort(p, partitions, log),
      participants: this.participants,
      timers: systemTimers(),
      logger: this.broker.log,
      coordinatorEpoch: state.leaderEpoch,
    });
    if (this.led.get(p) !== loading) {
      coordinator.stop(); // lost it while loading
      return;
    }
    loading.coordinator = coordinator;
    this.broker.log.info(`cluster: coordinating the transactional ids of ${TXN_LOG_TOPIC}/${p} (epoch ${state.leaderEpoch}): ${coordinator.size} id(s) loaded in ${Math.round(performance.now() - started)} ms`);
    // Queues the completion of every decided transaction before any request of its id.
    coordinator.recover().catch((e) => this.broker.log.warn(`cluster: ${TXN_LOG_TOPIC}/${p}: recovery: ${(e as Error).message}`));
  }

  /** The partition is no longer led here: its ids answer NOT_COORDINATOR from now on. */
  drop(partition: number): void {
    const led = this.led.get(partition);
    if (led === undefined) return;
    this.led.delete(partition);
    if (led.coordinator !== null) {
      led.coordinator.stop();
      this.broker.log.info(`cluster: no longer coordinating the transactional ids of ${TXN_LOG_TOPIC}/${partition}`);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const p of [...this.led.keys()]) this.drop(p);
    this.markers.stop();
  }

  /** The coordinator's log: partition `p` of the replicated topic, appended acks=all, read from this replica. */
  private logPort(p: number, partitions: number, log: PartitionLog): TxnLogPort {
    return {
      partitions,
      append: async (partition, batch) => {
        if (partition !== p) throw new CoreError("NOT_LEADER", `${TXN_LOG_TOPIC}/${partition} is not the partition this coordinator leads (${p})`);
        await this.broker.append(TXN_LOG_TOPIC, p, batch, { allowZstd: true, acks: "all" }).result;
      },
      records: async () => readRecords(log),
    };
  }

  private async writeMarker(topic: string, partition: number, marker: TxnMarker): Promise<"written" | "gone"> {
    const t = this.broker.cluster!.topic(topic);
    if (t === undefined || partition >= t.partitions.length) return "gone";
    const leader = t.partitions[partition]!.leader;
    if (leader < 0) throw new CoreError("NOT_LEADER", `${topic}/${partition} has no leader now`);
    if (leader === this.nodeId) await this.broker.appendMarker(topic, partition, marker);
    else await this.markers.write(leader, topic, partition, marker);
    return "written";
  }

  /** The group's coordinator ends the producer's pending offsets: this broker, or the leader of the group's offsets partition. */
  private async endGroup(groupId: string, marker: TxnMarker): Promise<void> {
    const t = this.broker.cluster!.topic(OFFSETS_TOPIC);
    if (t === undefined) return; // no group has offsets yet, so none are pending
    const p = offsetsPartitionFor(groupId, t.partitions.length);
    const leader = t.partitions[p]?.leader ?? -1;
    if (leader < 0) throw new CoreError("NOT_LEADER", `${OFFSETS_TOPIC}/${p} has no leader now`);
    if (leader === this.nodeId) await this.groups.endTransaction(p, marker.producerId, marker.commit);
    else await this.markers.write(leader, OFFSETS_TOPIC, p, marker);
  }
}

/** Every record of a log partition, oldest first, up to what this replica holds durably. */
function readRecords(log: PartitionLog): Array<{ key: Uint8Array | null; value: Uint8Array | null }> {
  const out: Array<{ key: Uint8Array | null; value: Uint8Array | null }> = [];
  const end = log.durableEndOffset;
  let offset = log.startOffset;
  while (offset < end) {
    const { chunks } = log.read(offset, READ_BYTES, true, end);
    if (chunks.length === 0) break;
    for (const chunk of chunks) {
      for (const span of iterateBatches(chunk)) {
        const { header, records } = decodeRecordBatch(span.bytes);
        for (const r of records) if (r.offset >= offset) out.push({ key: r.key === null ? null : r.key.slice(), value: r.value === null ? null : r.value.slice() });
        offset = Math.max(offset, header.baseOffset + header.lastOffsetDelta + 1);
      }
      giveBack(chunk);
    }
  }
  return out;
}
