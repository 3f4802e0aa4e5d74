// The transaction coordinator's ports on one broker (core/transactions/coordinator.ts): its log is
// the internal topic __transaction_state of the topic store (created on the first transactional
// InitProducerId, compacted, TXN_LOG_PARTITIONS partitions), markers go straight into the
// partition logs, and a group's pending offsets are ended by the group coordinator. A cluster has
// ports of its own (net/cluster/transactions.ts): the topic replicated, each partition's leader the
// coordinator of its ids, markers to other brokers' partitions sent as WriteTxnMarkers.
//
// Opening: the coordinator reads the whole log (one record per state change, compacted by the
// cleaner once it runs) before the broker serves, then recover() writes the markers of every
// transaction decided before a crash.
import { encodeMarkerBatch } from "../batch/control.ts";
import { decodeRecordBatch, iterateBatches } from "../batch/record-batch.ts";
import { CoreError } from "../errors.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import type { Timers } from "../groups/timers.ts";
import { giveBack } from "../lent-buffers.ts";
import { OFFSETS_READ_BYTES, TXN_LOG_PARTITIONS } from "../limits.ts";
import type { Logger } from "../log/types.ts";
import type { TopicStore } from "../topics/topic-store.ts";
import { TransactionCoordinator, type TxnLogPort, type TxnParticipants } from "../transactions/coordinator.ts";

export const TXN_LOG_TOPIC = "__transaction_state";
const TXN_LOG_CONFIGS = { "cleanup.policy": "compact", "min.insync.replicas": "1" };

export interface TransactionPortsOptions {
  store: TopicStore;
  groups: GroupCoordinator;
  timers: Timers;
  logger: Logger;
  nextProducerId(): Promise<number>;
}

/** Opens the coordinator over the store's __transaction_state (loading it) and the group coordinator. */
export function openTransactions(opts: TransactionPortsOptions): Promise<TransactionCoordinator> {
  return TransactionCoordinator.open({ log: txnLog(opts.store), participants: participants(opts), timers: opts.timers, logger: opts.logger });
}

function txnLog(store: TopicStore): TxnLogPort {
  let creating: Promise<unknown> | null = null;
  const topic = async () => {
    const existing = store.topic(TXN_LOG_TOPIC);
    if (existing !== undefined) return existing;
    creating ??= store.createTopic(TXN_LOG_TOPIC, TXN_LOG_PARTITIONS, { ...TXN_LOG_CONFIGS }).finally(() => (creating = null));
    try {
      await creating;
    } catch (e) {
      if (!(e instanceof CoreError && e.code === "TOPIC_EXISTS")) throw e;
      await store.settled(TXN_LOG_TOPIC);
    }
    const t = store.topic(TXN_LOG_TOPIC);
    if (t === undefined) throw new CoreError("STORAGE", `cannot create ${TXN_LOG_TOPIC}`);
    return t;
  };
  return {
    partitions: store.topic(TXN_LOG_TOPIC)?.partitions.length ?? TXN_LOG_PARTITIONS,
    async append(partition, batch) {
      const t = await topic();
      const log = t.partitions[partition % t.partitions.length]!;
      await log.append(batch);
    },
    async records() {
      const t = store.topic(TXN_LOG_TOPIC);
      const out: Array<{ key: Uint8Array | null; value: Uint8Array | null }> = [];
      for (const log of t?.partitions ?? []) {
        let offset = log.startOffset;
        while (offset < log.highWatermark) {
          const { chunks } = log.read(offset, OFFSETS_READ_BYTES);
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
      }
      return out;
    },
  };
}

function participants(opts: TransactionPortsOptions): TxnParticipants {
  const { store, groups } = opts;
  return {
    async writeMarker(topicName, partition, m) {
      const log = store.topic(topicName)?.partitions[partition];
      if (log === undefined) return "gone";
      try {
        await log.appendMarker(encodeMarkerBatch({ ...m, timestamp: Date.now() }));
      } catch (e) {
        // Deleted meanwhile: nothing is left to close.
        if (e instanceof CoreError && e.code === "CLOSED" && store.topic(topicName)?.partitions[partition] !== log) return "gone";
        throw e;
      }
      return "written";
    },
    endGroup: (groupId, producerId, commit) => groups.endTxnOffsets(groupId, producerId, commit),
    partitionExists: (topicName, partition) => {
      const t = store.topic(topicName);
      return t !== undefined && Number.isInteger(partition) && partition >= 0 && partition < t.partitions.length;
    },
    nextProducerId: opts.nextProducerId,
  };
}
