// Append, the one way records enter a partition, whichever door they came through:
//
//   1. the partition exists (UNKNOWN_TOPIC, UNKNOWN_PARTITION, STORAGE for a damaged topic)
//   2. the batch obeys every rule (core/batch/validate-produce.ts: framing, CRC, counts,
//      max.message.bytes, keys on compacted topics, codecs)
//   3. CreateTime batches whose maxTimestamp disagrees with their records (Sarama writes -1) are
//      fixed in place; LogAppendTime topics get the broker's time as the log appends
//   4. idempotent producers (producerId ≥ 0): a retried batch gets its first answer again instead
//      of a second append; a sequence gap → OUT_OF_ORDER_SEQUENCE, an old epoch → PRODUCER_FENCED
//   5. bytes and records in are counted, the log writes the batch (during this call: appends
//      started in order land in order) and `result` resolves once the fsync policy says it is
//      durable (group commit)
//
// Refusals are thrown as CoreError before anything is written. Nothing here allocates per batch
// beyond the append's own promise and the Appending that carries it (the produce hot path).
import type { ProduceBatchInfo, ValidateProduceOptions } from "../batch/validate-produce.ts";
import { validateProduceBatch } from "../batch/validate-produce.ts";
import { fixMaxTimestamp } from "../batch/rewrite.ts";
import { CoreError } from "../errors.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { TopicConfigs } from "../topics/configs.ts";
import type { TopicStore } from "../topics/topic-store.ts";
import type { Idempotence } from "./idempotence.ts";
import type { BrokerMetrics } from "./metrics.ts";
import { missingTopic, partitionOf } from "./topic-lookup.ts";

export interface AppendOptions {
  /** zstd batches are accepted (Kafka refuses them from Produce requests below v7). */
  allowZstd: boolean;
  /** Cluster mode: "all" answers once every in-sync replica has the batch (acks=-1); default
   * "leader": once this broker has it under its fsync policy (acks=1). A single node: the same. */
  acks?: "leader" | "all";
}

/** What an append resolves to: the batch's first offset and, on LogAppendTime topics, the time stamped on it. */
export interface Appended {
  baseOffset: number;
  lastOffset: number;
  logAppendTime?: number;
}

/** A batch whose append (or, for a retried duplicate, whose first append) is under way. */
export class Appending {
  constructor(
    /** Resolves once the batch is durable under the fsync policy; rejects with the log's failure. */
    readonly result: Promise<Appended>,
    readonly log: PartitionLog,
    /** A retry answered with its first append's offsets (and no LogAppendTime, as Kafka). */
    readonly duplicate: boolean,
  ) {}
}

export function appendBatch(store: TopicStore, metrics: BrokerMetrics, idempotence: Idempotence, topicName: string, partition: number, batch: Uint8Array, options: AppendOptions): Appending {
  const topic = store.topic(topicName);
  if (!topic) throw missingTopic(store, topicName);
  const log = partitionOf(topic, partition);
  if (batch.length === 0) throw new CoreError("INVALID_RECORD", "no records", { topic: topicName, partition });
  const configs = topic.configs;
  const info: ProduceBatchInfo = validateProduceBatch(batch, validationOptions(configs, options.allowZstd));
  if (configs["message.timestamp.type"] !== "LogAppendTime" && info.maxTimestampNeedsFix) fixMaxTimestamp(batch, 0, info.maxTimestamp);
  const idempotent = info.producerId >= 0 ? idempotence.stateOf(log) : null;
  if (idempotent) {
    const verdict = idempotent.check(info.producerId, info.producerEpoch, info.baseSequence, info.recordCount);
    if (verdict.kind === "fenced") {
      throw new CoreError("PRODUCER_FENCED", `producer epoch ${info.producerEpoch} is older than ${verdict.currentEpoch}`, { topic: topicName, partition });
    }
    if (verdict.kind === "out-of-order") {
      throw new CoreError("OUT_OF_ORDER_SEQUENCE", `sequence ${info.baseSequence}, expected ${verdict.expected}`, { topic: topicName, partition });
    }
    // A retry of a batch already appended (or still being appended): its first answer again.
    if (verdict.kind === "duplicate") return new Appending(verdict.result, log, true);
  }
  const stats = metrics.topic(topicName);
  stats.bytesIn += batch.length;
  stats.recordsIn += info.recordCount;
  const result = log.append(batch);
  idempotent?.record(info.producerId, info.producerEpoch, info.baseSequence, info.recordCount, result);
  return new Appending(result, log, false);
}

/**
 * Appends several batches of one topic, all or nothing as far as the rules go: every batch is
 * checked before any is written (a disk failure can still stop it part way).
 */
export function appendAll(
  store: TopicStore,
  metrics: BrokerMetrics,
  idempotence: Idempotence,
  topicName: string,
  batches: ReadonlyArray<{ partition: number; batch: Uint8Array }>,
  options: AppendOptions,
): Appending[] {
  const topic = store.topic(topicName);
  if (!topic) throw missingTopic(store, topicName);
  for (const { partition, batch } of batches) {
    partitionOf(topic, partition);
    validateProduceBatch(batch, validationOptions(topic.configs, options.allowZstd));
  }
  return batches.map(({ partition, batch }) => appendBatch(store, metrics, idempotence, topicName, partition, batch, options));
}

/** Validation options per topic configs (replaced whole on alter) and zstd allowance: made once,
 * not per batch. */
const validationCache = new WeakMap<TopicConfigs, [ValidateProduceOptions, ValidateProduceOptions]>();

function validationOptions(configs: TopicConfigs, allowZstd: boolean): ValidateProduceOptions {
  let pair = validationCache.get(configs);
  if (pair === undefined) {
    const of = (allowZstd: boolean): ValidateProduceOptions => ({
      maxMessageBytes: configs["max.message.bytes"],
      compacted: configs["cleanup.policy"].includes("compact"),
      allowZstd,
      timestampType: configs["message.timestamp.type"] === "LogAppendTime" ? "LogAppendTime" : "CreateTime",
    });
    pair = [of(false), of(true)];
    validationCache.set(configs, pair);
  }
  return pair[allowZstd ? 1 : 0];
}
