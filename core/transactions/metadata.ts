// What the transaction coordinator knows of one transactional id (Kafka's TransactionMetadata), the
// states a transaction goes through, and how that state is written to the transaction log.
//
//   Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
//                                          │       └─EndTxn(abort), timeout, fencing─▶ PrepareAbort ──markers──▶ CompleteAbort
//   Complete* ──AddPartitions──▶ Ongoing;  Empty/Complete* ──InitProducerId──▶ Empty (epoch + 1)
//
// | state         | InitProducerId                 | AddPartitions / AddOffsets | EndTxn commit       | EndTxn abort        |
// |---------------|--------------------------------|----------------------------|---------------------|---------------------|
// | Empty         | epoch + 1 → Empty              | → Ongoing                  | INVALID_TXN_STATE   | INVALID_TXN_STATE   |
// | Ongoing       | fence: abort with epoch + 1,   | add (nothing new: no write)| → PrepareCommit     | → PrepareAbort      |
// |               |   then epoch + 1 → Empty       |                            |                     |                     |
// | PrepareCommit | CONCURRENT_TRANSACTIONS        | CONCURRENT_TRANSACTIONS    | CONCURRENT_TRANS.   | INVALID_TXN_STATE   |
// | PrepareAbort  | CONCURRENT_TRANSACTIONS        | CONCURRENT_TRANSACTIONS    | INVALID_TXN_STATE   | CONCURRENT_TRANS.   |
// | CompleteCommit| epoch + 1 → Empty              | → Ongoing                  | done (a retry)      | INVALID_TXN_STATE   |
// | CompleteAbort | epoch + 1 → Empty              | → Ongoing                  | INVALID_TXN_STATE   | done (a retry)      |
//
// Checked before the state, as Kafka's TransactionCoordinator: an unknown id or another producer
// id → INVALID_PRODUCER_ID_MAPPING; another epoch → PRODUCER_FENCED (InitProducerId: the epoch and
// id the producer says it has must be the current or, for a retried bump, the previous ones).
// A Prepare* state lasts only while markers are being written (the coordinator serializes every
// operation of an id, so a request waits for them rather than seeing it), unless writing them
// failed: then it is retried every TXN_CHECK_MS and the table's CONCURRENT_TRANSACTIONS answers.
//
// The transaction log, __transaction_state (a compacted topic; the id's partition is Java's
// String.hashCode of the id, abs, modulo its partitions, as Kafka): one uncompressed record per
// state change, JSON,
//
//   key    {"t": transactional id}
//   value  {"v":1,"pid","epoch","lastPid","lastEpoch","timeoutMs","state","partitions":[[topic,[p,…]],…],
//           "groups":[group id,…],"startMs","updateMs"}      null: the id expired (a tombstone)
//
// "groups" are the consumer groups whose offsets the transaction commits (AddOffsetsToTxn): Kafka
// lists their __consumer_offsets partitions among the partitions; here offsets live in the group
// coordinator, which gets its marker by group id.
import { TXN_LOG_PARTITIONS } from "../limits.ts";

export type TxnState = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort";
export const TXN_STATES: readonly TxnState[] = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort"];

/** Errors the coordinator answers with, named as Kafka names them (the door maps them to codes). */
export type TxnErrorName =
  | "INVALID_REQUEST"
  | "INVALID_TRANSACTION_TIMEOUT"
  | "CONCURRENT_TRANSACTIONS"
  | "PRODUCER_FENCED"
  | "INVALID_PRODUCER_ID_MAPPING"
  | "INVALID_TXN_STATE"
  | "TRANSACTIONAL_ID_NOT_FOUND"
  | "COORDINATOR_NOT_AVAILABLE"
  | "NOT_COORDINATOR"
  | "UNKNOWN_TOPIC_OR_PARTITION"
  | "OPERATION_NOT_ATTEMPTED";

export interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  /** The producer id before the last rotation (-1: none), so a retried InitProducerId is recognized. */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch before the last bump a producer asked for (-1: none or fenced since). */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** topic → partitions in the transaction. */
  partitions: Map<string, Set<number>>;
  /** Consumer groups whose offsets the transaction commits. */
  groups: Set<string>;
  /** When the transaction began (its first partition or group), -1 when none is open. */
  startMs: number;
  updateMs: number;
}

/** Producer epochs end below Short.MAX_VALUE so the coordinator can always fence one more time. */
export const EPOCH_EXHAUSTED = 32767 - 1;

export function isEpochExhausted(epoch: number): boolean {
  return epoch >= EPOCH_EXHAUSTED;
}

/** The transaction log partition of `transactionalId` (Kafka's partitionFor: abs(hashCode) mod n). */
export function txnLogPartitionFor(transactionalId: string, partitions = TXN_LOG_PARTITIONS): number {
  let h = 0;
  for (let i = 0; i < transactionalId.length; i++) h = (Math.imul(31, h) + transactionalId.charCodeAt(i)) | 0;
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

export function copyMetadata(m: TxnMetadata): TxnMetadata {
  return { ...m, partitions: new Map([...m.partitions].map(([t, ps]) => [t, new Set(ps)])), groups: new Set(m.groups) };
}

export function hasPartition(m: TxnMetadata, topic: string, partition: number): boolean {
  return m.partitions.get(topic)?.has(partition) ?? false;
}

export function partitionCount(m: TxnMetadata): number {
  let n = 0;
  for (const ps of m.partitions.values()) n += ps.size;
  return n;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeKey(transactionalId: string): Uint8Array {
  return enc.encode(JSON.stringify({ t: transactionalId }));
}

export function encodeValue(m: TxnMetadata): Uint8Array {
  return enc.encode(
    JSON.stringify({
      v: 1,
      pid: m.producerId,
      epoch: m.producerEpoch,
      lastPid: m.lastProducerId,
      lastEpoch: m.lastProducerEpoch,
      timeoutMs: m.timeoutMs,
      state: m.state,
      partitions: [...m.partitions].map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]),
      groups: [...m.groups],
      startMs: m.startMs,
      updateMs: m.updateMs,
    }),
  );
}

const isInt = (x: unknown, min: number): x is number => Number.isSafeInteger(x) && (x as number) >= min;

/** A record of the transaction log: the id and its state, null for a tombstone; a string says what is wrong. */
export function decodeRecord(key: Uint8Array | null, value: Uint8Array | null): { transactionalId: string; metadata: TxnMetadata | null } | string {
  if (key === null) return "no key";
  let k: unknown;
  let v: unknown;
  try {
    k = JSON.parse(dec.decode(key));
    v = value === null ? null : JSON.parse(dec.decode(value));
  } catch {
    return "not JSON";
  }
  const transactionalId = (k as { t?: unknown } | null)?.t;
  if (typeof transactionalId !== "string" || transactionalId === "") return "no transactional id in the key";
  if (v === null) return { transactionalId, metadata: null };
  const o = v as Record<string, unknown>;
  if (o.v !== 1) return `value version ${JSON.stringify(o.v)}`;
  const { pid, epoch, lastPid, lastEpoch, timeoutMs, state, partitions, groups, startMs, updateMs } = o;
  if (!isInt(pid, 0) || !isInt(epoch, 0) || !isInt(lastPid, -1) || !isInt(lastEpoch, -1) || !isInt(timeoutMs, 1) || !isInt(startMs, -1) || !isInt(updateMs, 0)) return "bad numbers";
  if (typeof state !== "string" || !TXN_STATES.includes(state as TxnState)) return `state ${JSON.stringify(state)}`;
  if (!Array.isArray(partitions) || !Array.isArray(groups) || !groups.every((g) => typeof g === "string")) return "bad partitions or groups";
  const parts = new Map<string, Set<number>>();
  for (const e of partitions as unknown[]) {
    if (!Array.isArray(e) || typeof e[0] !== "string" || !Array.isArray(e[1]) || !(e[1] as unknown[]).every((p) => isInt(p, 0))) return "bad partitions";
    parts.set(e[0], new Set(e[1] as number[]));
  }
  return {
    transactionalId,
    metadata: {
      transactionalId,
      producerId: pid,
      lastProducerId: lastPid,
      producerEpoch: epoch,
      lastProducerEpoch: lastEpoch,
      timeoutMs,
      state: state as TxnState,
      partitions: parts,
      groups: new Set(groups as string[]),
      startMs,
      updateMs,
    },
  };
}
