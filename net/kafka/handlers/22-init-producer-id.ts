// InitProducerId (key 22), v0-5: producer ids for idempotent producers (KIP-98), unique across
// broker restarts (core/broker/producer-ids.ts), epoch bumps for an existing id (v3+, KIP-360).
// With a transactional id the transaction coordinator answers (core/transactions/coordinator.ts):
// the id's producer id with its epoch bumped, which fences every older producer of the id (an
// open transaction of theirs is aborted first); transaction_timeout_ms above the maximum →
// INVALID_TRANSACTION_TIMEOUT (50); a transaction still being ended → CONCURRENT_TRANSACTIONS
// (51, the client retries); a producer id/epoch (v3+) that is not the id's → PRODUCER_FENCED (90)
// from v4, INVALID_PRODUCER_EPOCH (47) before (KIP-588). Cluster mode: only the id's coordinator
// answers (the leader of its __transaction_state partition); any other broker → NOT_COORDINATOR
// (16), and the coordinator while it loads the partition → COORDINATOR_LOAD_IN_PROGRESS (14).
// librdkafka enables idempotence only when InitProducerId∋0; Java clients ≥ 3.0 use it by default.
import { InitProducerId, type InitProducerIdRequest, type InitProducerIdResponse, defaultInitProducerIdResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";
import { txnCoordinator, txnErrorCode, txnFailureCode } from "../txn-errors.ts";

const EPOCH_MAX = 32767;
const PRODUCER_FENCED_SINCE = 4;

export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  api: InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const base = { ...defaultInitProducerIdResponse(), throttleTimeMs: 0 };
    const refused = (errorCode: number) => ({ ...base, errorCode, producerId: -1n, producerEpoch: -1 });
    if (req.transactionalId !== null) {
      const coordinator = txnCoordinator(ctx, req.transactionalId);
      if (typeof coordinator === "number") return refused(coordinator);
      const expected = ctx.apiVersion >= 3 && req.producerId >= 0n && req.producerEpoch >= 0 ? { producerId: Number(req.producerId), producerEpoch: req.producerEpoch } : null;
      try {
        const r = await coordinator.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected);
        if (r.error !== null) return refused(txnErrorCode(r.error, PRODUCER_FENCED_SINCE, ctx.apiVersion));
        return { ...base, errorCode: 0, producerId: BigInt(r.producerId), producerEpoch: r.producerEpoch };
      } catch (err) {
        ctx.broker.log.warn(`InitProducerId ${req.transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
        return refused(txnFailureCode(ctx, err));
      }
    }
    if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < EPOCH_MAX - 1) {
      return { ...base, errorCode: 0, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
    }
    return { ...base, errorCode: 0, producerId: BigInt(await ctx.broker.nextProducerId()), producerEpoch: 0 };
  },
});
