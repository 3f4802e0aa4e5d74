// The old message formats (magic 0 and 1) for clients from before Kafka 0.11 — kafka-python with
// api_version (0,10), Sarama at its default version, segmentio/kafka-go 0.2, librdkafka with
// api.version.request=false: Produce v0-2 carrying message sets and Fetch v0-3 answered with
// them. Kafka 3.x converts both ways (4.0 dropped it); so do we, through core/batch/message-set.ts.
// The Produce and Fetch handlers branch here at their top so that their v3+/v4+ paths stay as
// they are.
//
// Produce v0-2: a message set (magic 0/1, compressed wrappers included) becomes one RecordBatch v2
//   in the codec the client used, then is appended like any other batch: offsets are the log's,
//   magic 0 records get timestamp -1 under CreateTime and the broker's time under LogAppendTime
//   (Kafka's LogValidator). A bad CRC, length or nesting is CORRUPT_MESSAGE (2).
// Fetch v0-3: every partition's whole batches, read within min(partition_max_bytes, what is left of
//   max_bytes (v3; v0-2 have none)), are down-converted to magic 0 (v0-1) or magic 1 (v2-3) as
//   Kafka's RecordsUtil.downConvert does. v3 sends the answer's first message whole, as v4+; v0-2
//   each partition's first message (Kafka cuts it at partition_max_bytes, which a client of that
//   age can only report as too large).
//   A topic whose compression.type is zstd, or a zstd batch met on the way, answers
//   UNSUPPORTED_COMPRESSION_TYPE (76) for that partition, as Kafka answers fetches below v10 (zstd
//   has no magic 0/1 form); message.downconversion.enable=false answers UNSUPPORTED_VERSION (35),
//   as Kafka. Waiting for min_bytes is as in v4+.
//
// Bounds per request: Produce — the request frame itself (socket.request.max.bytes) plus, per
// partition, its decompressed messages (≤ DECOMPRESSED_BYTES_MAX) and the batch built from them;
// CPU linear in those bytes, as the v3+ path's validation. Fetch — at most DOWN_CONVERT_BYTES_MAX
// (1 MiB) of stored bytes read and converted per request, over all partitions, whatever max_bytes
// and partition_max_bytes ask (the answer's first message whole beyond it, as v4+); per partition
// one batch's decompressed records at a time (≤ DECOMPRESSED_BYTES_MAX, a check every stored batch
// passed when appended) beside the raw read and the converted set; CPU is one decode (and, for a
// compressed batch, one compress) per batch read: about 60 ms per MiB of 1 kB records, 130 ms
// gzip, measured on a 2-core box at load 20 (/tmp bench of downConvert, see the issue #21 report).
import { CoreError } from "../../core/errors.ts";
import { giveBack } from "../../core/lent-buffers.ts";
import { downConvert, messageSetMagic, upConvert } from "../../core/batch/message-set.ts";
import type { PartitionLog } from "../../core/log/partition-log.ts";
import type { Topic } from "../../core/topics/topic-store.ts";
import type { RecordsIn } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { defaultFetchResponse, defaultFetchResponsePartitionData, type FetchRequest, type FetchResponse, type FetchResponsePartitionData } from "../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "./errors.ts";
import type { RequestContext } from "./handler.ts";
import { DOWN_CONVERT_BYTES_MAX } from "./limits.ts";

/** Produce v0-2: `records` as the one magic-2 batch to append (itself when it already is one). */
export function producedBatch(records: Uint8Array, topicName: string, partition: number, ctx: RequestContext): Uint8Array {
  const magic = messageSetMagic(records);
  if (magic !== 0 && magic !== 1) return records;
  ctx.broker.partition(topicName, partition); // an unknown partition is the first thing to say
  return upConvert(records).batch;
}

const EMPTY = new Uint8Array(0);

/** Fetch v0-3, answered through the generated codec (the fast frame writer serves v4+ only). */
export async function oldFetch(req: FetchRequest, ctx: RequestContext): Promise<FetchResponse<RecordsIn>> {
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  for (;;) {
    const round = readRound(req, ctx);
    const remaining = deadline - Date.now();
    if (round.bytes >= Math.max(1, req.minBytes) || round.errors || remaining <= 0 || ctx.closed.aborted || ctx.broker.shutdown.aborted) {
      return { ...defaultFetchResponse(), responses: round.topics };
    }
    await ctx.broker.waitForData(round.logs, remaining, ctx.closed);
  }
}

interface Round {
  topics: FetchResponse<RecordsIn>["responses"];
  logs: PartitionLog[];
  bytes: number;
  errors: boolean;
  budget: number;
  minOne: boolean;
}

function readRound(req: FetchRequest, ctx: RequestContext): Round {
  // v0-2 have no request-level max_bytes (the generated default is 0x7fffffff).
  // Either way, at most DOWN_CONVERT_BYTES_MAX of stored bytes are converted per request.
  const round: Round = { topics: [], logs: [], bytes: 0, errors: false, budget: Math.min(ctx.apiVersion >= 3 ? req.maxBytes : 0x7fffffff, DOWN_CONVERT_BYTES_MAX), minOne: true };
  for (const t of req.topics) {
    const topic = ctx.broker.topic(t.topic);
    const partitions = t.partitions.map((p) => readPartition(round, topic, t.topic, p.partition, Number(p.fetchOffset), p.partitionMaxBytes, ctx));
    round.topics.push({ topic: t.topic, topicId: t.topicId, partitions });
  }
  return round;
}

function readPartition(round: Round, topic: Topic | undefined, name: string, partition: number, offset: number, partitionMaxBytes: number, ctx: RequestContext): FetchResponsePartitionData<RecordsIn> {
  const answer = (errorCode: number, highWatermark: number, records: RecordsIn): FetchResponsePartitionData<RecordsIn> => {
    if (errorCode !== 0) round.errors = true;
    return { ...defaultFetchResponsePartitionData(), partitionIndex: partition, errorCode, highWatermark: BigInt(highWatermark), records };
  };
  const log = topic?.partitions[partition];
  if (!topic || !log) return answer(topic ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : kafkaErrorCode(ctx.broker.missingTopic(name)), -1, EMPTY);
  try {
    ctx.broker.checkLeader(topic.name, partition, -1);
  } catch (err) {
    return answer(kafkaErrorCode(err), -1, EMPTY);
  }
  round.logs.push(log);
  if (topic.configs.values["compression.type"] === "zstd") return answer(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, -1, EMPTY);
  if (topic.configs.values["message.downconversion.enable"] === "false") return answer(ErrorCode.UNSUPPORTED_VERSION, -1, EMPTY);
  try {
    const limit = Math.min(partitionMaxBytes, round.budget);
    // v0-2 have no request-level limit: each partition's first message comes whole (Kafka sends
    // a cut one instead, which old clients can only fail on); v3 as v4+, the first partition's.
    const firstWhole = ctx.apiVersion < 3 || round.minOne;
    const read = ctx.broker.read(topic, log, offset, limit, firstWhole);
    if (read.bytes === 0) return answer(0, read.highWatermark, EMPTY);
    let set: Uint8Array;
    try {
      set = downConvert(read.chunks, offset, ctx.apiVersion < 2 ? 0 : 1, limit, firstWhole);
    } finally {
      for (const chunk of read.chunks) giveBack(chunk); // the converted set copied what it needs
    }
    if (set.length > 0) round.minOne = false;
    round.bytes += set.length;
    round.budget = Math.max(0, round.budget - Math.max(set.length, read.bytes));
    return answer(0, read.highWatermark, set);
  } catch (err) {
    const errorCode = kafkaErrorCode(err);
    if (errorCode !== ErrorCode.OFFSET_OUT_OF_RANGE && !(err instanceof CoreError && err.code === "UNSUPPORTED_COMPRESSION")) {
      ctx.broker.log.warn(`fetch v${ctx.apiVersion} ${topic.name}/${partition}@${offset}: ${errorMessage(err)}`);
    }
    return answer(errorCode, log.highWatermark, EMPTY);
  }
}
