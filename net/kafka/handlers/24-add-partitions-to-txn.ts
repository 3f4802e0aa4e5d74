// AddPartitionsToTxn (key 24), v0-5: partitions join the producer's transaction (KIP-98), durably
// in the transaction log before the answer (core/transactions/coordinator.ts).
// - v0-3 (clients): one transaction, results by topic. An unknown partition fails the request:
//   it gets UNKNOWN_TOPIC_OR_PARTITION (3), the others OPERATION_NOT_ATTEMPTED (55).
// - v2+: a fenced producer gets PRODUCER_FENCED (90); v0-1 INVALID_PRODUCER_EPOCH (47) (KIP-588).
// - v4-5 (KIP-890, broker to broker): several transactions per request, each with verify_only
//   (check that the partitions are in the transaction; INVALID_TXN_STATE where not) and a
//   top-level error_code. v5 may answer TRANSACTION_ABORTABLE; this broker never does.
// - Cluster mode: only the id's coordinator answers; elsewhere NOT_COORDINATOR (16) on every
//   partition, COORDINATOR_LOAD_IN_PROGRESS (14) while it loads (txn-errors.ts).
import {
  AddPartitionsToTxn,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
  defaultAddPartitionsToTxnResponse,
} from "../../protocol/messages/index.ts";
import type { PartitionResult } from "../../../core/transactions/coordinator.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { txnCoordinator, txnErrorCode, txnFailureCode } from "../txn-errors.ts";

const PRODUCER_FENCED_SINCE = 2;

export const addPartitionsToTxnHandler = defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  api: AddPartitionsToTxn,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const base = { ...defaultAddPartitionsToTxnResponse(), throttleTimeMs: 0 };
    if (ctx.apiVersion <= 3) {
      const topics = req.v3AndBelowTopics.map((t) => ({ topic: t.name, partitions: t.partitions }));
      const results = await add(ctx, req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, topics, false);
      return { ...base, resultsByTopicV3AndBelow: byTopic(results, ctx.apiVersion) };
    }
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (t) => {
        const results = await add(ctx, t.transactionalId, t.producerId, t.producerEpoch, t.topics.map((x) => ({ topic: x.name, partitions: x.partitions })), t.verifyOnly);
        return { transactionalId: t.transactionalId, topicResults: byTopic(results, ctx.apiVersion) };
      }),
    );
    return { ...base, errorCode: 0, resultsByTransaction };
  },
});

async function add(ctx: RequestContext, transactionalId: string, producerId: bigint, producerEpoch: number, topics: Array<{ topic: string; partitions: number[] }>, verifyOnly: boolean): Promise<Array<PartitionResult | { topic: string; partition: number; code: number }>> {
  const all = (code: number) => topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition, code })));
  const coordinator = txnCoordinator(ctx, transactionalId);
  if (typeof coordinator === "number") return all(coordinator);
  try {
    return await coordinator.addPartitions(transactionalId, Number(producerId), producerEpoch, topics, verifyOnly);
  } catch (err) {
    ctx.broker.log.warn(`AddPartitionsToTxn ${transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
    return all(txnFailureCode(ctx, err));
  }
}

function byTopic(results: Array<PartitionResult | { topic: string; partition: number; code: number }>, version: number): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[] {
  const out = new Map<string, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>();
  for (const r of results) {
    let t = out.get(r.topic);
    if (t === undefined) out.set(r.topic, (t = { name: r.topic, resultsByPartition: [] }));
    const code = "code" in r ? r.code : txnErrorCode(r.error, PRODUCER_FENCED_SINCE, version);
    t.resultsByPartition.push({ partitionIndex: r.partition, partitionErrorCode: code });
  }
  return [...out.values()];
}
