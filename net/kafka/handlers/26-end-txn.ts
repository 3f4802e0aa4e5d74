// EndTxn (key 26), v0-4: commits or aborts the producer's transaction (KIP-98). The decision is
// logged, a marker is written to every partition of the transaction and the groups' pending
// offsets are committed or dropped, then the answer goes out (core/transactions/coordinator.ts):
// a read_committed consumer sees a committed transaction once this returns. A retry of an end
// already done succeeds; an end that does not match the state → INVALID_TXN_STATE (48). v2+:
// PRODUCER_FENCED (90) for a fenced producer, v0-1 INVALID_PRODUCER_EPOCH (47). v4 may answer
// TRANSACTION_ABORTABLE; this broker never does. Cluster mode: only the id's coordinator answers,
// elsewhere NOT_COORDINATOR (16) (txn-errors.ts); markers for partitions led by other brokers go
// to them as WriteTxnMarkers (net/cluster/markers.ts).
import { EndTxn, type EndTxnRequest, type EndTxnResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";
import { txnCoordinator, txnErrorCode, txnFailureCode } from "../txn-errors.ts";

export const endTxnHandler = defineHandler<EndTxnRequest, EndTxnResponse>({
  api: EndTxn,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const coordinator = txnCoordinator(ctx, req.transactionalId);
    if (typeof coordinator === "number") return { throttleTimeMs: 0, errorCode: coordinator };
    try {
      const error = await coordinator.endTxn(req.transactionalId, Number(req.producerId), req.producerEpoch, req.committed);
      return { throttleTimeMs: 0, errorCode: txnErrorCode(error, 2, ctx.apiVersion) };
    } catch (err) {
      ctx.broker.log.warn(`EndTxn ${req.transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
      return { throttleTimeMs: 0, errorCode: txnFailureCode(ctx, err) };
    }
  },
});
