// Transaction coordinator answers on the wire (issue #20): core/transactions names its errors as
// Kafka does, so the code is one lookup, except that PRODUCER_FENCED (90) exists for a client only
// from the request version that introduced it (KIP-588); older versions are told
// INVALID_PRODUCER_EPOCH (47), as Kafka's KafkaApis does.
import { CoreError } from "../../core/errors.ts";
import type { TransactionCoordinator, TxnErrorName } from "../../core/transactions/coordinator.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { RequestContext } from "./handler.ts";

export function txnErrorCode(error: TxnErrorName | null, producerFencedSince: number, version: number): number {
  if (error === null) return ErrorCode.NONE;
  if (error === "PRODUCER_FENCED" && version < producerFencedSince) return ErrorCode.INVALID_PRODUCER_EPOCH;
  return ErrorCode[error];
}

/**
 * The coordinator of `transactionalId` on this broker, or the error code to answer with: one
 * broker coordinates every id; in a cluster another broker's id is NOT_COORDINATOR (16) and one
 * whose __transaction_state partition is loading here COORDINATOR_LOAD_IN_PROGRESS (14) (the
 * client finds the coordinator again, or retries).
 */
export function txnCoordinator(ctx: RequestContext, transactionalId: string): TransactionCoordinator | number {
  const c = ctx.broker.transactionsFor(transactionalId);
  return typeof c === "string" ? ErrorCode[c] : c;
}

/**
 * The answer to a coordinator operation that threw: in a cluster NOT_COORDINATOR (16) when this
 * broker lost the id's log partition meanwhile (its coordinator stopped, or the state change could
 * not be replicated: the client finds the new coordinator), else COORDINATOR_NOT_AVAILABLE (15)
 * (the client retries).
 */
export function txnFailureCode(ctx: RequestContext, err: unknown): number {
  const moved = ctx.broker.cluster !== null && err instanceof CoreError && (err.code === "NOT_LEADER" || err.code === "CLOSED" || err.code === "NOT_ENOUGH_REPLICAS" || err.code === "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
  return moved ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
