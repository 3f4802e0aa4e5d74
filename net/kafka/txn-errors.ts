// Transaction coordinator answers on the wire (issue #20): core/transactions names its errors as
// Kafka does, so the code is one lookup, except that PRODUCER_FENCED (90) exists for a client only
// from the request version that introduced it (KIP-588); older versions are told
// INVALID_PRODUCER_EPOCH (47), as Kafka's KafkaApis does.
import type { TxnErrorName } from "../../core/transactions/coordinator.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { RequestContext } from "./handler.ts";

export function txnErrorCode(error: TxnErrorName | null, producerFencedSince: number, version: number): number {
  if (error === null) return ErrorCode.NONE;
  if (error === "PRODUCER_FENCED" && version < producerFencedSince) return ErrorCode.INVALID_PRODUCER_EPOCH;
  return ErrorCode[error];
}

/** Why this broker cannot coordinate transactions now, or null when it can (one broker: always). */
export function transactionsUnavailable(ctx: RequestContext): string | null {
  return ctx.broker.cluster === null ? null : "transactions are not supported in cluster mode yet";
}
