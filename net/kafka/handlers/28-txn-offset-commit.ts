// TxnOffsetCommit (key 28), v0-4: a consumer group's offsets committed inside the producer's
// transaction (KIP-98): stored durably as pending and visible to OffsetFetch only once the
// transaction commits (core/groups/pending-offsets.ts). The producer must have the transaction
// open with the group added (AddOffsetsToTxn), else INVALID_TXN_STATE (48); another producer id →
// INVALID_PRODUCER_ID_MAPPING (49); an old epoch → INVALID_PRODUCER_EPOCH (47) (Kafka's answer to
// a fenced producer here, every version). v2: committed leader epoch. v3 (KIP-447): generation,
// member and instance id, checked as Kafka's doTxnCommitOffsets (UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION, FENCED_INSTANCE_ID).
// Cluster mode: the group's coordinator answers (the leader of its __consumer_offsets partition;
// elsewhere NOT_COORDINATOR (16), COORDINATOR_LOAD_IN_PROGRESS (14) while it loads), and it may not
// be the transaction's: as Kafka's group coordinator before KIP-890, it stores the offsets pending
// (replicated, net/cluster/offsets.ts) without asking the transaction coordinator whether the
// transaction is open with the group; the transaction's marker commits or drops them.
import { ErrorCode } from "../../protocol/errors.ts";
import { TxnOffsetCommit, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from "../../protocol/messages/index.ts";
import { groupErrorCode } from "../group-errors.ts";
import { defineHandler } from "../handler.ts";
import { txnErrorCode } from "../txn-errors.ts";

export const txnOffsetCommitHandler = defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  api: TxnOffsetCommit,
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const all = (code: number) => req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) }));
    const offsets = req.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset), leaderEpoch: ctx.apiVersion >= 2 ? p.committedLeaderEpoch : -1, metadata: p.committedMetadata })),
    );
    const producerId = Number(req.producerId);
    const commit = () =>
      ctx.broker.groups.commitTxnOffsets({
        groupId: req.groupId,
        producerId,
        generationId: ctx.apiVersion >= 3 ? req.generationId : -1,
        memberId: ctx.apiVersion >= 3 ? req.memberId : "",
        groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
        offsets,
      });
    try {
      let results;
      if (ctx.broker.cluster === null) results = await ctx.broker.transactions.commitOffsets(req.transactionalId, producerId, req.producerEpoch, req.groupId, commit);
      else {
        const owner = ctx.broker.groupOwnership(req.groupId);
        if (owner !== null) return { throttleTimeMs: 0, topics: all(ErrorCode[owner]) };
        results = await commit();
      }
      if (typeof results === "string") return { throttleTimeMs: 0, topics: all(txnErrorCode(results, Number.MAX_SAFE_INTEGER, ctx.apiVersion)) };
      const byTopic = new Map<string, Array<{ partitionIndex: number; errorCode: number }>>();
      for (const r of results) {
        let list = byTopic.get(r.topic);
        if (list === undefined) byTopic.set(r.topic, (list = []));
        list.push({ partitionIndex: r.partition, errorCode: groupErrorCode(r.error) });
      }
      return { throttleTimeMs: 0, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    } catch (err) {
      ctx.broker.log.warn(`TxnOffsetCommit ${req.transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
      return { throttleTimeMs: 0, topics: all(ErrorCode.COORDINATOR_NOT_AVAILABLE) };
    }
  },
});
