// Append, the one way records enter a partition, whichever door they came through:
//
//   1. the partition exists (UNKNOWN_TOPIC, UNKNOWN_PARTITION, STORAGE for a damaged topic)
//   2. the batch obeys every rule (core/batch/validate-produce.ts: framing, CRC, counts,
//      max.message.bytes, keys on compacted topics, codecs)
//   3. CreateTime batches whose maxTimestamp disagrees with their records (Sarama writes -1) are
//      fixed in place; LogAppendTime topics get the broker's time as the log appends
//   3b. a topic whose compression.type names a codec gets the batch rebuilt in it when the
//      producer used another (core/batch/recompress.ts; zstd for a Produce below v7 is
//      UNSUPPORTED_COMPRESSION as for a zstd batch; the rebuilt batch must still fit
//      max.message.bytes, MESSAGE_TOO_LARGE otherwise, as Kafka re-checks after recompressing);
//      the rebuilt batch is what the log writes. Producer id, epoch and sequences are unchanged.
//   4. bytes and records in are counted (as received: a retried duplicate counts again), the log
//      writes the batch (during this call: appends started in order land in order) and `result`
//      resolves once the fsync policy says it is durable (group commit)
//   5. idempotent producers (producerId ≥ 0) are checked by the log as it writes, against the
//      producer state it keeps and recovers with its data (core/log/producer-state.ts): a retried
//      batch resolves with its first answer (`duplicate`, once that is durable) instead of a second
//      append; a sequence gap rejects with OUT_OF_ORDER_SEQUENCE, an old epoch with PRODUCER_FENCED.
//      The check happens at the write, not here, because an append may wait behind a segment roll
//      and the batches of one producer must be checked in the order they are written.
//
// Refusals of steps 1–3 are thrown as CoreError before anything is written; those of step 5
// reject `result`, also with nothing written. Nothing here allocates per batch beyond the append's
// own promise and the Appending that carries it (the produce hot path).
import type { ProduceBatchInfo, ValidateProduceOptions } from "../batch/validate-produce.ts";
import { validateProduceBatch } from "../batch/validate-produce.ts";
import { fixMaxTimestamp } from "../batch/rewrite.ts";
import { decompress } from "../batch/codecs.ts";
import { BATCH_HEADER_BYTES, Codec } from "../batch/header.ts";
import { DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { needsRecompression, recompressBatch, targetCodecOf } from "../batch/recompress.ts";
import { CoreError } from "../errors.ts";
import type { AppendSink, PartitionLog } from "../log/partition-log.ts";
import type { TopicConfigs } from "../topics/configs.ts";
import type { TopicStore } from "../topics/topic-store.ts";
import type { BrokerMetrics } from "./metrics.ts";
import { missingTopic, partitionOf } from "./topic-lookup.ts";

export interface AppendOptions {
  /** zstd batches are accepted (Kafka refuses them from Produce requests below v7). */
  allowZstd: boolean;
  /** Cluster mode: "all" answers once every in-sync replica has the batch (acks=-1); default
   * "leader": once this broker has it under its fsync policy (acks=1). A single node: the same. */
  acks?: "leader" | "all";
}

/** What an append resolves to: the batch's offsets, the time stamped on it on LogAppendTime topics (else -1). */
export interface Appended {
  baseOffset: number;
  lastOffset: number;
  logAppendTime: number;
  /** A retry answered with its first append's offsets (and no LogAppendTime, as Kafka); nothing written. */
  duplicate: boolean;
}

/** A batch whose append (or, for a retried duplicate, whose first append) is under way. */
export class Appending {
  constructor(
    /** Resolves once the batch is durable under the fsync policy; rejects with the log's failure or refusal. */
    readonly result: Promise<Appended>,
    readonly log: PartitionLog,
  ) {}
}

export function appendBatch(store: TopicStore, metrics: BrokerMetrics, topicName: string, partition: number, batch: Uint8Array, options: AppendOptions): Appending {
  const checked = checkedForAppend(store, metrics, topicName, partition, batch, options);
  const log = checked.log;
  return new Appending(log.append(checked.batch), log);
}

/**
 * `appendBatch` without a promise (the produce hot path, PartitionLog.appendThen): steps 1–4
 * here, then `sink` hears the outcome, from the sync's completion under fsync `always` (at once,
 * during this call, otherwise). Returns the log. Throws the refusals of steps 1–3 as appendBatch.
 */
export function appendBatchThen(store: TopicStore, metrics: BrokerMetrics, topicName: string, partition: number, batch: Uint8Array, options: AppendOptions, sink: AppendSink): PartitionLog {
  const checked = checkedForAppend(store, metrics, topicName, partition, batch, options);
  checked.log.appendThen(checked.batch, sink);
  return checked.log;
}

/** Steps 1–3 and the counting of step 4: the log to append to and the batch to write (`batch`,
 * or its rebuild in the topic's compression.type). */
function checkedForAppend(
  store: TopicStore,
  metrics: BrokerMetrics,
  topicName: string,
  partition: number,
  batch: Uint8Array,
  options: AppendOptions,
): { log: PartitionLog; batch: Uint8Array } {
  const topic = store.topic(topicName);
  if (!topic) throw missingTopic(store, topicName);
  const log = partitionOf(topic, partition);
  if (batch.length === 0) throw new CoreError("INVALID_RECORD", "no records", { topic: topicName, partition });
  const configs = topic.configs;
  const info: ProduceBatchInfo = validateProduceBatch(batch, validationOptions(configs, options.allowZstd));
  if (configs["message.timestamp.type"] !== "LogAppendTime" && info.maxTimestampNeedsFix) fixMaxTimestamp(batch, 0, info.maxTimestamp);
  const stored = recompressedForTopic(configs, batch, info, options.allowZstd, topicName, partition);
  const stats = metrics.topic(topicName);
  stats.bytesIn += batch.length;
  stats.recordsIn += info.recordCount;
  return { log, batch: stored };
}

/** Step 3b: `batch` as the topic's compression.type stores it (itself when no rebuild is needed). */
function recompressedForTopic(configs: TopicConfigs, batch: Uint8Array, info: ProduceBatchInfo, allowZstd: boolean, topic: string, partition: number): Uint8Array {
  const target = targetCodecOf(configs.values["compression.type"] ?? "producer");
  if (target === Codec.Zstd && !allowZstd) {
    throw new CoreError("UNSUPPORTED_COMPRESSION", "the topic's compression.type is zstd, which needs Produce v7 or later", { topic, partition });
  }
  if (!needsRecompression(batch, target)) return batch;
  // validateProduceBatch walks the records (deep) on every append here, so they are at hand;
  // otherwise they are inflated here, under the same per-batch cap.
  const records = info.records ?? (info.codec === Codec.None ? batch.subarray(BATCH_HEADER_BYTES) : decompress(info.codec, batch.subarray(BATCH_HEADER_BYTES), DECOMPRESSED_BYTES_MAX, { topic, partition }));
  const rebuilt = recompressBatch(batch, records, target!);
  const max = configs["max.message.bytes"];
  if (rebuilt.length > max) {
    throw new CoreError("MESSAGE_TOO_LARGE", `batch of ${rebuilt.length} bytes once recompressed for compression.type ${configs.values["compression.type"]} is above max.message.bytes ${max}`, { topic, partition });
  }
  return rebuilt;
}

/**
 * Appends several batches of one topic, all or nothing as far as the rules go: every batch is
 * checked before any is written (a disk failure can still stop it part way).
 */
export function appendAll(
  store: TopicStore,
  metrics: BrokerMetrics,
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
  return batches.map(({ partition, batch }) => appendBatch(store, metrics, topicName, partition, batch, options));
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
