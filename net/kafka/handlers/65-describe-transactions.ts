// DescribeTransactions (key 65), v0 (KIP-664): each transactional id's state as the coordinator
// has it: producer id and epoch, state name, timeout, start time (-1 when none is open) and the
// partitions of its open transaction. An unknown id → TRANSACTIONAL_ID_NOT_FOUND (105). Cluster
// mode: each id is described by its coordinator; elsewhere NOT_COORDINATOR (16) for it,
// COORDINATOR_LOAD_IN_PROGRESS (14) while its log partition loads here.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeTransactions, type DescribeTransactionsRequest, type DescribeTransactionsResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";
import { txnCoordinator, txnErrorCode } from "../txn-errors.ts";

export const describeTransactionsHandler = defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  api: DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId) => {
        const coordinator = transactionalId === "" ? ErrorCode.INVALID_REQUEST : txnCoordinator(ctx, transactionalId);
        if (typeof coordinator === "number") {
          return { errorCode: coordinator, transactionalId, transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
        }
        const d = coordinator.describe([transactionalId])[0]!;
        return {
          errorCode: txnErrorCode(d.error, 0, ctx.apiVersion),
          transactionalId: d.transactionalId,
          transactionState: d.state,
          transactionTimeoutMs: d.timeoutMs,
          transactionStartTimeMs: BigInt(d.startMs),
          producerId: BigInt(d.producerId),
          producerEpoch: d.producerEpoch,
          topics: d.topics,
        };
      }),
    };
  },
});
