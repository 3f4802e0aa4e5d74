// Produce (key 0), v0-11.
// - v3+ carry exactly one magic-2 RecordBatch per partition; the broker core appends it
//   (core/broker/append.ts: every check of kafka-protocol.md §2, timestamps, idempotence) and a
//   refusal comes back as a per-partition error code (net/kafka/errors.ts).
// - v0-2 may carry the old message formats (magic 0/1): up-converted into one RecordBatch v2 and
//   appended like any other (net/kafka/old-formats.ts); a magic-2 batch in them is taken like v3.
// - zstd below v7 → UNSUPPORTED_COMPRESSION_TYPE (76), as Kafka (Sarama's bug #1252).
// - acks ∉ {-1, 0, 1} → INVALID_REQUIRED_ACKS (21) on every partition.
// - A topic kept unopened because its topic.json is damaged → KAFKA_STORAGE_ERROR (56).
// - acks=0 sends no response; if anything failed Kafka closes the connection instead, so do we.
// - acks=1 and -1 are answered only after the batch is durable under the fsync policy: the log's
//   append resolves after the fdatasync that covers it (group commit).
// - Idempotent producers (producerId ≥ 0, ids from InitProducerId): a retried batch gets its first
//   answer again instead of a second append; a sequence gap → OUT_OF_ORDER_SEQUENCE_NUMBER (45),
//   an old epoch → INVALID_PRODUCER_EPOCH (47). The log keeps the sequences and recovers them with
//   its data, so this holds across broker restarts, clean or not (core/log/producer-state.ts).
// - Transactions (issue #20): a transactional batch is appended only while its producer's
//   transaction is open and includes the partition (AddPartitionsToTxn first), else
//   INVALID_TXN_STATE (48); a fenced epoch → INVALID_PRODUCER_EPOCH (47) (core/broker/broker.ts
//   verifyTransactional). In cluster mode the coordinator may be another broker and, as Kafka
//   before KIP-890, the partition's leader does not ask it: the partition's producer state (built
//   on followers too, from the replicated log) refuses fenced epochs and bad sequences.
// - LogAppendTime topics: the log stamps the broker's time on the batch (and its CRC) as it
//   appends; CreateTime batches whose maxTimestamp disagrees with their records (Sarama writes -1)
//   get it fixed first.
//
// - Compressed batches are decompressed first, within one budget for the request and a few ms of
//   main thread per turn, the rest off the main thread (net/kafka/produce-decompress.ts); while
//   that is awaited the connection dispatches nothing more.
//
// Ordering: partitions are appended in request order, and each append's write happens before the
// handler's first await, so two requests on one connection land in arrival order; a request whose
// partitions take longer to start than the turn's share of sliced work (core/turn-clock.ts) goes
// on in later turns of the event loop, its connection dispatching nothing more until all are
// started (holdDispatch).
import { type Appended, Appending, type AppendOptions } from "../../../core/broker/append.ts";
import { CoreError } from "../../../core/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { produceResponseFrame } from "../../protocol/fast-responses.ts";
import {
  Produce,
  type ProduceRequest,
  type ProduceRequestPartitionProduceData,
  type ProduceResponse,
  type ProduceResponsePartitionProduceResponse,
  defaultProduceResponseLeaderIdAndEpoch,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { decompressAhead } from "../produce-decompress.ts";
import { CLOSE_CONNECTION, defineHandler, EncodedResponse, NO_RESPONSE, type RequestContext } from "../handler.ts";
import { producedBatch } from "../old-formats.ts";
import { chargeTurn, nextTurn, turnLeft } from "../../../core/turn-clock.ts";

/** One partition's answer before it is encoded; offsets and times as numbers (-1 = none). */
interface PartitionResult {
  errorCode: number;
  baseOffset: number;
  logAppendTime: number;
  logStartOffset: number;
  errorMessage: string | null;
}

export const produceHandler = defineHandler<ProduceRequest, ProduceResponse>({
  api: Produce,
  minVersion: 0,
  maxVersion: 11,
  async handle(req, ctx) {
    const acksValid = req.acks === -1 || req.acks === 0 || req.acks === 1;
    const topics = req.topicData;
    // Set when this request waited for its decompression: later requests of the connection wait
    // until this one's appends have started (called right after them, below).
    let release: (() => void) | undefined;
    // The decoding of a large request counts against this turn's share of sliced work.
    const decodedAt = performance.now();
    if (ctx.dispatchedAt !== undefined && decodedAt - ctx.dispatchedAt >= 1) chargeTurn(decodedAt - ctx.dispatchedAt);
    if (acksValid) {
      const ahead = decompressAhead(req);
      if (ahead !== null) {
        release = ctx.holdDispatch?.();
        await ahead;
      }
    }
    if (acksValid && req.acks !== 0 && topics.length === 1 && topics[0]!.partitionData.length === 1) {
      // The common request (one batch for one partition, answered): no response objects, the
      // answer is encoded straight into its frame.
      const name = topics[0]!.name;
      const p = topics[0]!.partitionData[0]!;
      const started = startPartition(name, p, ctx, req.acks);
      release?.();
      const { correlationId, apiVersion } = ctx;
      let r: PartitionResult;
      if (!(started instanceof Appending)) r = started;
      else {
        // appendResult's body, awaited here: one async frame less per request.
        try {
          r = appended(started, await started.result);
        } catch (err) {
          r = appendFailed(started, err, ctx, name, p.index);
        }
      }
      return new EncodedResponse(produceResponseFrame(correlationId, apiVersion, name, p.index, r.errorCode, r.baseOffset, r.logAppendTime, r.logStartOffset, r.errorMessage));
    }
    // Partitions are started within the turn's share of sliced work (core/turn-clock.ts), the
    // rest in later turns, later requests of the connection held meanwhile: 1,000 partitions in
    // one request (refused bombs, say) once held the loop ~9 ms.
    const sliced = ctx.holdDispatch !== undefined;
    let sliceStart = performance.now();
    const pending: Array<{ name: string; partitions: Promise<ProduceResponsePartitionProduceResponse>[] }> = [];
    for (const t of topics) {
      const partitions: Promise<ProduceResponsePartitionProduceResponse>[] = [];
      pending.push({ name: t.name, partitions });
      for (const p of t.partitionData) {
        if (sliced && !turnLeft(sliceStart)) {
          release ??= ctx.holdDispatch!();
          await nextTurn();
          sliceStart = performance.now();
        }
        if (!acksValid) {
          partitions.push(Promise.resolve(partitionResponse(p.index, failed(ErrorCode.INVALID_REQUIRED_ACKS))));
          continue;
        }
        const started = startPartition(t.name, p, ctx, req.acks);
        if (!(started instanceof Appending)) partitions.push(Promise.resolve(partitionResponse(p.index, started)));
        else partitions.push(appendResult(started, ctx, t.name, p.index).then((r) => partitionResponse(p.index, r)));
      }
    }
    release?.();
    const responses = [];
    for (const t of pending) responses.push({ name: t.name, partitionResponses: await Promise.all(t.partitions) });
    if (req.acks === 0) {
      const anyFailed = responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== 0));
      return anyFailed ? CLOSE_CONNECTION : NO_RESPONSE;
    }
    return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
  },
});

function partitionResponse(index: number, r: PartitionResult): ProduceResponsePartitionProduceResponse {
  return {
    index,
    errorCode: r.errorCode,
    baseOffset: BigInt(r.baseOffset),
    logAppendTimeMs: BigInt(r.logAppendTime),
    logStartOffset: BigInt(r.logStartOffset),
    recordErrors: [],
    errorMessage: r.errorMessage,
    currentLeader: defaultProduceResponseLeaderIdAndEpoch(),
  };
}

function failed(errorCode: number, errorMessage: string | null = null): PartitionResult {
  return { errorCode, baseOffset: -1, logAppendTime: -1, logStartOffset: -1, errorMessage };
}

/** Waits for an append's durability (or a duplicate's first append) and gives the answer. */
async function appendResult(a: Appending, ctx: RequestContext, topicName: string, partition: number): Promise<PartitionResult> {
  try {
    return appended(a, await a.result);
  } catch (err) {
    return appendFailed(a, err, ctx, topicName, partition);
  }
}

function appended(a: Appending, r: Appended): PartitionResult {
  const logAppendTime = r.duplicate ? -1 : r.logAppendTime;
  return { errorCode: 0, baseOffset: r.baseOffset, logAppendTime, logStartOffset: a.log.startOffset, errorMessage: null };
}

function appendFailed(a: Appending, err: unknown, ctx: RequestContext, topicName: string, partition: number): PartitionResult {
  // A sequence or epoch refusal is the producer's to handle, not the broker's to warn about.
  const refused = err instanceof CoreError && (err.code === "OUT_OF_ORDER_SEQUENCE" || err.code === "PRODUCER_FENCED" || err.code === "INVALID_TXN_STATE");
  if (!refused) ctx.broker.log.warn(`append to ${topicName}/${partition} failed: ${errorMessage(err)}`);
  return failed(kafkaErrorCode(err), errorMessage(err));
}

/**
 * Checks and starts appending one partition's batch, synchronously: the append's write happens
 * during this call, in request order; only its durability is awaited (appendResult).
 */
function startPartition(topicName: string, p: ProduceRequestPartitionProduceData, ctx: RequestContext, acks: number): PartitionResult | Appending {
  const records = p.records ?? NO_RECORDS;
  try {
    const batch = ctx.apiVersion < 3 ? producedBatch(records, topicName, p.index, ctx) : records;
    return ctx.broker.append(topicName, p.index, batch, APPEND_OPTIONS[(ctx.apiVersion >= 7 ? 1 : 0) + (acks === -1 ? 2 : 0)]!);
  } catch (err) {
    return failed(kafkaErrorCode(err), errorMessage(err));
  }
}

const NO_RECORDS = new Uint8Array(0);
/** By [zstd allowed (v7+)] + 2 × [acks=-1]: made once, not per request. */
const APPEND_OPTIONS: readonly AppendOptions[] = [
  { allowZstd: false, acks: "leader" },
  { allowZstd: true, acks: "leader" },
  { allowZstd: false, acks: "all" },
  { allowZstd: true, acks: "all" },
];
