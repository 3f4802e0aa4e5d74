// Fetch (key 1), v0-16. v0-3 predate RecordBatch v2: net/kafka/old-formats.ts answers them with
// down-converted message sets (magic 0/1); everything below is v4+.
// - Records are the log's raw batch bytes (mapped sealed segments, pread for the active one),
//   handed to the socket as a scatter list without re-encoding.
// - Only offsets below the high watermark are served; the high watermark is the end of durable
//   data. isolation_level 1 (read_committed, KIP-98) serves only offsets below the last stable
//   offset (an offset between it and the high watermark reads nothing) and lists the aborted
//   transactions the batches overlap; read_uncommitted gets an empty list. Control batches are
//   served as stored: clients skip them.
// - An offset outside [log start, high watermark] → OFFSET_OUT_OF_RANGE (1) for that partition.
// - max_bytes / partition_max_bytes as Kafka's ReplicaManager.readFromLog (KIP-74): the first
//   batch of the first partition that has data comes whole even past either limit; from then on
//   every partition gets only whole batches within min(partition_max_bytes, what is left of
//   max_bytes), possibly none. So the records never exceed max(max_bytes, that first batch):
//   librdkafka drops a connection whose answer exceeds fetch.max.bytes + 512 (issue #21).
// - With fewer than min_bytes available, the request waits up to max_wait_ms and is woken by
//   any append that raises a requested partition's high watermark (or by shutdown).
// - Fetch sessions (KIP-227) are not kept: session_id 0 in every answer means "no session", so
//   clients send full requests. v13+ name topics by ID.
// - A topic kept unopened because its topic.json is damaged → KAFKA_STORAGE_ERROR (56) by name,
//   UNKNOWN_TOPIC_ID by ID (its ID is not trusted).
import { ErrorCode } from "../../protocol/errors.ts";
import { type FetchPartitionAnswer, fetchResponseFrame, type FetchTopicAnswer } from "../../protocol/fast-responses.ts";
import { Fetch, type FetchRequest, type FetchResponse } from "../../protocol/messages/index.ts";
import type { RecordsIn } from "../../protocol/api.ts";
import type { Broker } from "../../../core/broker/broker.ts";
import type { Topic } from "../../../core/topics/topic-store.ts";
import type { PartitionLog } from "../../../core/log/partition-log.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler, EncodedResponse, type RequestContext } from "../handler.ts";
import { oldFetch } from "../old-formats.ts";

const EMPTY = new Uint8Array(0);
const READ_COMMITTED = 1;

export const fetchHandler = defineHandler<FetchRequest, FetchResponse<RecordsIn>>({
  api: Fetch,
  minVersion: 0,
  maxVersion: 16,
  async handle(req, ctx) {
    if (ctx.apiVersion < 4) return oldFetch(req, ctx);
    const replicaId = ctx.apiVersion <= 14 ? req.replicaId : req.replicaState.replicaId;
    // A follower's fetch; a single node has no followers and serves it as a consumer's.
    if (replicaId >= 0 && ctx.broker.replicas !== null) return replicaFetch(req, ctx, replicaId);
    const deadline = Date.now() + Math.max(0, req.maxWaitMs);
    for (;;) {
      // A consumer at the tail usually finds nothing: it waits without building an answer first.
      if (deadline - Date.now() > 0 && !ctx.closed.aborted && !ctx.broker.shutdown.aborted && nothingNew(req, ctx)) {
        await waitForAppend(req, deadline - Date.now(), ctx);
        continue;
      }
      const round = readOnce(req, ctx);
      const remaining = deadline - Date.now();
      if (round.bytes >= Math.max(1, req.minBytes) || round.errors || remaining <= 0 || ctx.closed.aborted || ctx.broker.shutdown.aborted) {
        // Encoded straight into the frame (net/protocol/fast-responses.ts): no response objects.
        return new EncodedResponse(fetchResponseFrame(ctx.correlationId, ctx.apiVersion, round.topics));
      }
      await waitForAppend(req, remaining, ctx);
    }
  },
});

function resolveTopic(t: FetchRequest["topics"][number], ctx: RequestContext): Topic | undefined {
  if (ctx.apiVersion >= 13) return ctx.broker.topicById(t.topicId);
  return ctx.broker.topic(t.topic);
}

/** Every requested partition exists and the request asks for its high watermark: readOnce would
 * find no bytes and no error, so the answer would be to wait. */
function nothingNew(req: FetchRequest, ctx: RequestContext): boolean {
  for (const t of req.topics) {
    const topic = resolveTopic(t, ctx);
    if (!topic) return false;
    for (const p of t.partitions) {
      const log = topic.partitions[p.partition];
      if (!log || Number(p.fetchOffset) !== (req.isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark)) return false;
    }
  }
  return true;
}

/** One pass over the requested partitions: the answer as it stands, and whether it is enough. */
export class FetchRound {
  readonly topics: FetchTopicAnswer[] = [];
  bytes = 0;
  errors = false;
  /** What is left of the request's max_bytes. */
  budget: number;
  /** No partition returned data yet: the next one to have some gets its first batch whole. */
  minOneBatch = true;

  constructor(maxBytes: number) {
    this.budget = maxBytes;
  }
}

function readOnce(req: FetchRequest, ctx: RequestContext): FetchRound {
  const round = new FetchRound(req.maxBytes);
  for (const t of req.topics) {
    const topic = resolveTopic(t, ctx);
    const partitions: FetchPartitionAnswer[] = [];
    for (const p of t.partitions) {
      partitions.push(readPartition(round, ctx.broker, ctx.apiVersion, topic, t.topic, p.partition, p.currentLeaderEpoch, Number(p.fetchOffset), p.partitionMaxBytes, req.isolationLevel === READ_COMMITTED));
    }
    round.topics.push({ topic: topic?.name ?? t.topic, topicId: t.topicId, partitions });
  }
  return round;
}

/** One partition's part of a consumer's fetch, read now (the fast path, fast-fetch.ts, reads its one partition with it too). */
export function readPartition(
  round: FetchRound,
  broker: Broker,
  apiVersion: number,
  topic: Topic | undefined,
  requestedName: string,
  partition: number,
  currentLeaderEpoch: number,
  offset: number,
  partitionMaxBytes: number,
  committed: boolean,
): FetchPartitionAnswer {
  const log = topic?.partitions[partition];
  if (!topic || !log) {
    round.errors = true;
    const errorCode = topic ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : kafkaErrorCode(broker.missingTopic(requestedName));
    return answer(partition, errorCode, -1, -1, EMPTY);
  }
  // Fetch below v10 predates zstd (KIP-110): a topic whose configured codec is zstd is refused
  // rather than sent to a client that may not decode it, as Kafka's KafkaApis does.
  if (apiVersion < 10 && topic.configs.values["compression.type"] === "zstd") {
    round.errors = true;
    return answer(partition, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, -1, -1, EMPTY);
  }
  try {
    broker.checkLeader(topic.name, partition, currentLeaderEpoch);
  } catch (err) {
    round.errors = true;
    return answer(partition, kafkaErrorCode(err), -1, -1, EMPTY);
  }
  try {
    const read = broker.read(topic, log, offset, Math.min(partitionMaxBytes, round.budget), round.minOneBatch, committed ? "read_committed" : "read_uncommitted");
    if (read.bytes > 0) round.minOneBatch = false;
    round.bytes += read.bytes;
    round.budget = Math.max(0, round.budget - read.bytes);
    const a = answer(partition, 0, read.highWatermark, read.startOffset, read.chunks, read.lastStableOffset);
    if (read.aborted.length > 0) a.aborted = read.aborted;
    return a;
  } catch (err) {
    round.errors = true;
    const errorCode = kafkaErrorCode(err);
    if (errorCode !== ErrorCode.OFFSET_OUT_OF_RANGE) broker.log.warn(`fetch ${topic.name}/${partition}@${offset}: ${errorMessage(err)}`);
    return answer(partition, errorCode, log.highWatermark, log.startOffset, EMPTY, log.lastStableOffset);
  }
}

/** A partition's answer (the last stable offset defaults to the high watermark: an error, a follower). */
function answer(partition: number, errorCode: number, highWatermark: number, logStartOffset: number, records: Uint8Array | Uint8Array[], lastStableOffset = highWatermark): FetchPartitionAnswer {
  return { partition, errorCode, highWatermark, lastStableOffset, logStartOffset, records };
}

/** Resolves on the first high-watermark move of any requested partition, on timeout, or on
 * close/shutdown. */
function waitForAppend(req: FetchRequest, timeoutMs: number, ctx: RequestContext): Promise<unknown> {
  const logs: PartitionLog[] = [];
  for (const t of req.topics) {
    const topic = resolveTopic(t, ctx);
    for (const p of t.partitions) {
      const log = topic?.partitions[p.partition];
      if (log) logs.push(log);
    }
  }
  return ctx.broker.waitForData(logs, timeoutMs, ctx.closed);
}

/**
 * A follower's fetch (cluster mode, replica_id ≥ 0): its fetch offset says what it has on disk
 * (the leader's ISR and high watermark follow it), and it reads up to the leader's durable end,
 * not the high watermark. It waits, up to max_wait_ms, for the leader's durable end to pass its
 * offset. Answers carry the leader's high watermark, which the follower adopts.
 */
async function replicaFetch(req: FetchRequest, ctx: RequestContext, replicaId: number): Promise<EncodedResponse> {
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  for (let first = true; ; first = false) {
    const topics: FetchTopicAnswer[] = [];
    const logs: PartitionLog[] = [];
    let bytes = 0;
    let errors = false;
    let budget = req.maxBytes;
    for (const t of req.topics) {
      const topic = resolveTopic(t, ctx);
      const partitions: FetchPartitionAnswer[] = [];
      for (const p of t.partitions) {
        const log = topic?.partitions[p.partition];
        if (!topic || !log) {
          errors = true;
          partitions.push(answer(p.partition, topic ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ctx.apiVersion >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, EMPTY));
          continue;
        }
        try {
          ctx.broker.checkLeader(topic.name, p.partition, p.currentLeaderEpoch);
          const offset = Number(p.fetchOffset);
          const end = first ? ctx.broker.replicas!.followerFetched(topic.name, p.partition, replicaId, offset) : log.durableEndOffset;
          if (offset > end || offset < log.startOffset) {
            errors = true;
            partitions.push(answer(p.partition, ErrorCode.OFFSET_OUT_OF_RANGE, log.highWatermark, log.startOffset, EMPTY));
            continue;
          }
          logs.push(log);
          const read = offset === end || budget <= 0 ? null : log.read(offset, Math.min(p.partitionMaxBytes, budget), true, end);
          const n = read?.bytes ?? 0;
          bytes += n;
          budget -= n;
          partitions.push(answer(p.partition, 0, log.highWatermark, log.startOffset, read?.chunks ?? EMPTY));
        } catch (err) {
          errors = true;
          partitions.push(answer(p.partition, kafkaErrorCode(err), -1, -1, EMPTY));
        }
      }
      topics.push({ topic: topic?.name ?? t.topic, topicId: t.topicId, partitions });
    }
    const remaining = deadline - Date.now();
    if (bytes > 0 || errors || remaining <= 0 || ctx.closed.aborted || ctx.broker.shutdown.aborted) {
      return new EncodedResponse(fetchResponseFrame(ctx.correlationId, ctx.apiVersion, topics));
    }
    await waitForDurable(logs, remaining, ctx);
  }
}

/** Resolves when any of `logs` grows its durable end (or its high watermark), on timeout, or on close. */
function waitForDurable(logs: PartitionLog[], timeoutMs: number, ctx: RequestContext): Promise<void> {
  return new Promise((resolve) => {
    const offs: Array<() => void> = [];
    const done = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      ctx.closed.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    for (const log of logs) {
      offs.push(log.onDurable(done));
      offs.push(log.onHighWatermark(done));
    }
    ctx.closed.addEventListener("abort", done, { once: true });
  });
}
