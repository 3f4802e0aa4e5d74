// Produce (key 0), v0-11.
// - v3+ carry exactly one magic-2 RecordBatch per partition; every check of kafka-protocol.md §2
//   runs in core/batch/validate-produce.ts and comes back as a per-partition error code.
// - v0-2 are advertised only because librdkafka enables gzip/snappy/lz4 when Produce∋0. Their old
//   message formats (magic 0/1) are refused with UNSUPPORTED_FOR_MESSAGE_FORMAT (43), never
//   converted; a magic-2 batch in them is accepted like v3.
// - zstd below v7 → UNSUPPORTED_COMPRESSION_TYPE (76), as Kafka (Sarama's bug #1252).
// - acks ∉ {-1, 0, 1} → INVALID_REQUIRED_ACKS (21) on every partition.
// - A topic kept unopened because its topic.json is damaged → KAFKA_STORAGE_ERROR (56).
// - acks=0 sends no response; if anything failed Kafka closes the connection instead, so do we.
// - acks=1 and -1 are answered only after the batch is durable under the fsync policy: the log's
//   append resolves after the fdatasync that covers it (group commit).
// - Idempotent producers (producerId ≥ 0, ids from InitProducerId): a retried batch gets its first
//   answer again instead of a second append; a sequence gap → OUT_OF_ORDER_SEQUENCE_NUMBER (45),
//   an old epoch → INVALID_PRODUCER_EPOCH (47). Sequences are kept in memory only.
// - Transactions are not supported: a request carrying a transactionalId is answered with
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every partition.
// - LogAppendTime topics: the log stamps the broker's time on the batch (and its CRC) as it
//   appends; CreateTime batches whose maxTimestamp disagrees with their records (Sarama writes -1)
//   get it fixed here first.
//
// Ordering: partitions are appended in request order, and each append's write happens before the
// handler's first await, so two requests on one connection land in arrival order.
import { type ProduceBatchInfo, validateProduceBatch } from "../../../core/batch/validate-produce.ts";
import { fixMaxTimestamp } from "../../../core/batch/rewrite.ts";
import { OFF_MAGIC } from "../../../core/batch/header.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  Produce,
  type ProduceRequest,
  type ProduceRequestPartitionProduceData,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
  defaultProduceResponsePartitionProduceResponse,
  defaultProduceResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { CLOSE_CONNECTION, defineHandler, NO_RESPONSE, type RequestContext } from "../handler.ts";
import { missingTopicCode } from "../topic-lookup.ts";

type PartitionResponse = ProduceResponsePartitionProduceResponse;

export const produceHandler = defineHandler<ProduceRequest, ProduceResponse>({
  api: Produce,
  minVersion: 0,
  maxVersion: 11,
  async handle(req, ctx) {
    const acksValid = req.acks === -1 || req.acks === 0 || req.acks === 1;
    const pending = req.topicData.map((t) => ({
      name: t.name,
      partitions: t.partitionData.map((p) =>
        acksValid && req.transactionalId === null
          ? producePartition(t.name, p, ctx)
          : Promise.resolve(failed(p.index, acksValid ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : ErrorCode.INVALID_REQUIRED_ACKS)),
      ),
    }));
    const responses = [];
    for (const t of pending) responses.push({ name: t.name, partitionResponses: await Promise.all(t.partitions) });
    if (req.acks === 0) {
      const anyFailed = responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== 0));
      return anyFailed ? CLOSE_CONNECTION : NO_RESPONSE;
    }
    return { ...defaultProduceResponse(), responses, throttleTimeMs: 0 };
  },
});

function appended(index: number, baseOffset: number, logAppendTime: number, logStartOffset: number): PartitionResponse {
  return {
    ...defaultProduceResponsePartitionProduceResponse(),
    index,
    errorCode: 0,
    baseOffset: BigInt(baseOffset),
    logAppendTimeMs: BigInt(logAppendTime),
    logStartOffset: BigInt(logStartOffset),
  };
}

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return { ...defaultProduceResponsePartitionProduceResponse(), index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

function producePartition(topicName: string, p: ProduceRequestPartitionProduceData, ctx: RequestContext): Promise<PartitionResponse> {
  const { broker, apiVersion } = ctx;
  const topic = broker.store.topic(topicName);
  const log = topic?.partitions[p.index];
  if (!topic) return Promise.resolve(failed(p.index, missingTopicCode(broker.store, topicName)));
  if (!log) return Promise.resolve(failed(p.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  const records = p.records;
  if (records === null || records.length === 0) return Promise.resolve(failed(p.index, ErrorCode.INVALID_RECORD, "no records"));
  if (apiVersion < 3 && records.length > OFF_MAGIC && records[OFF_MAGIC] !== 2) {
    return Promise.resolve(failed(p.index, ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, "message format v0/v1 is not supported; use a client that sends RecordBatch v2"));
  }
  const configs = topic.configs;
  const logAppendTime = configs["message.timestamp.type"] === "LogAppendTime";
  let info: ProduceBatchInfo;
  try {
    info = validateProduceBatch(records, {
      maxMessageBytes: configs["max.message.bytes"],
      compacted: configs["cleanup.policy"].includes("compact"),
      allowZstd: apiVersion >= 7,
      timestampType: logAppendTime ? "LogAppendTime" : "CreateTime",
    });
    if (!logAppendTime && info.maxTimestampNeedsFix) fixMaxTimestamp(records, 0, info.maxTimestamp);
    const stats = broker.metrics.topic(topicName);
    stats.bytesIn += records.length;
    stats.recordsIn += info.recordCount;
  } catch (err) {
    return Promise.resolve(failed(p.index, kafkaErrorCode(err), errorMessage(err)));
  }
  const idempotent = info.producerId >= 0 ? broker.idempotence.stateOf(log) : null;
  if (idempotent) {
    const verdict = idempotent.check(info.producerId, info.producerEpoch, info.baseSequence, info.recordCount);
    if (verdict.kind === "fenced") return Promise.resolve(failed(p.index, ErrorCode.INVALID_PRODUCER_EPOCH, `producer epoch ${info.producerEpoch} is older than ${verdict.currentEpoch}`));
    if (verdict.kind === "out-of-order") {
      return Promise.resolve(failed(p.index, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `sequence ${info.baseSequence}, expected ${verdict.expected}`));
    }
    if (verdict.kind === "duplicate") {
      // A retry of a batch already appended (or still being appended): its first answer again.
      return verdict.result.then((r) => appended(p.index, r.baseOffset, -1, log.startOffset), (err) => failed(p.index, kafkaErrorCode(err), errorMessage(err)));
    }
  }
  // The append's write happens now, synchronously; only its durability is awaited.
  const append = log.append(records);
  idempotent?.record(info.producerId, info.producerEpoch, info.baseSequence, info.recordCount, append);
  return append.then(
    (r) => appended(p.index, r.baseOffset, r.logAppendTime, log.startOffset),
    (err) => {
      broker.log.warn(`append to ${topicName}/${p.index} failed: ${errorMessage(err)}`);
      return failed(p.index, kafkaErrorCode(err), errorMessage(err));
    },
  );
}
