// AddOffsetsToTxn (key 25), v0-4: a consumer group's offsets (TxnOffsetCommit, key 28) will be
// committed or dropped with the producer's transaction (KIP-98), durably in the transaction log
// before the answer. v2+: PRODUCER_FENCED (90) for a fenced producer, v0-1 INVALID_PRODUCER_EPOCH
// (47). v4 may answer TRANSACTION_ABORTABLE; this broker never does. Cluster mode: only the id's
// coordinator answers, elsewhere NOT_COORDINATOR (16) (txn-errors.ts).
import { AddOffsetsToTxn, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";
import { txnCoordinator, txnErrorCode, txnFailureCode } from "../txn-errors.ts";

export const addOffsetsToTxnHandler = defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  api: AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const coordinator = txnCoordinator(ctx, req.transactionalId);
    if (typeof coordinator === "number") return { throttleTimeMs: 0, errorCode: coordinator };
    try {
      const error = await coordinator.addOffsets(req.transactionalId, Number(req.producerId), req.producerEpoch, req.groupId);
      return { throttleTimeMs: 0, errorCode: txnErrorCode(error, 2, ctx.apiVersion) };
    } catch (err) {
      ctx.broker.log.warn(`AddOffsetsToTxn ${req.transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
      return { throttleTimeMs: 0, errorCode: txnFailureCode(ctx, err) };
    }
  },
});
