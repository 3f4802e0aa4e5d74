// AddOffsetsToTxn (key 25), v0-4: a consumer group's offsets (TxnOffsetCommit, key 28) will be
// committed or dropped with the producer's transaction (KIP-98), durably in the transaction log
// before the answer. v2+: PRODUCER_FENCED (90) for a fenced producer, v0-1 INVALID_PRODUCER_EPOCH
// (47). v4 may answer TRANSACTION_ABORTABLE; this broker never does. Cluster mode:
// COORDINATOR_NOT_AVAILABLE (15).
import { ErrorCode } from "../../protocol/errors.ts";
import { AddOffsetsToTxn, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";
import { transactionsUnavailable, txnErrorCode } from "../txn-errors.ts";

export const addOffsetsToTxnHandler = defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  api: AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    if (transactionsUnavailable(ctx) !== null) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    try {
      const error = await ctx.broker.transactions.addOffsets(req.transactionalId, Number(req.producerId), req.producerEpoch, req.groupId);
      return { throttleTimeMs: 0, errorCode: txnErrorCode(error, 2, ctx.apiVersion) };
    } catch (err) {
      ctx.broker.log.warn(`AddOffsetsToTxn ${req.transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
  },
});
