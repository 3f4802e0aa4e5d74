// DescribeTransactions (key 65), v0 (KIP-664): each transactional id's state as the coordinator
// has it: producer id and epoch, state name, timeout, start time (-1 when none is open) and the
// partitions of its open transaction. An unknown id → TRANSACTIONAL_ID_NOT_FOUND (105). Cluster
// mode: COORDINATOR_NOT_AVAILABLE (15) for every id.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeTransactions, type DescribeTransactionsRequest, type DescribeTransactionsResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";
import { transactionsUnavailable, txnErrorCode } from "../txn-errors.ts";

export const describeTransactionsHandler = defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  api: DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    if (transactionsUnavailable(ctx) !== null) {
      return {
        throttleTimeMs: 0,
        transactionStates: req.transactionalIds.map((transactionalId) => ({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, transactionalId, transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] })),
      };
    }
    return {
      throttleTimeMs: 0,
      transactionStates: ctx.broker.transactions.describe(req.transactionalIds).map((d) => ({
        errorCode: txnErrorCode(d.error, 0, ctx.apiVersion),
        transactionalId: d.transactionalId,
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: BigInt(d.startMs),
        producerId: BigInt(d.producerId),
        producerEpoch: d.producerEpoch,
        topics: d.topics,
      })),
    };
  },
});
