// ListTransactions (key 66), v0-1 (KIP-664): the transactional ids this broker coordinates, with
// their producer id and state, filtered by state names (unknown names are listed back in
// unknown_state_filters), producer ids and (v1, KIP-994) how long the transaction has been open.
// Cluster mode: the ids of every __transaction_state partition this broker leads (an admin client
// asks every broker and merges the answers, as with Kafka).
import { ListTransactions, type ListTransactionsRequest, type ListTransactionsResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";

export const listTransactionsHandler = defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  api: ListTransactions,
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const listing = ctx.broker.listTransactions(req.stateFilters, req.producerIdFilters.map(Number), ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1);
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      unknownStateFilters: listing.unknownStates,
      transactionStates: listing.transactions.map((t) => ({ transactionalId: t.transactionalId, producerId: BigInt(t.producerId), transactionState: t.state })),
    };
  },
});
