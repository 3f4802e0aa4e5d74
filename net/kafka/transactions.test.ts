// Transactions through the Kafka door, in-process (issue #20): FindCoordinator key_type 1,
// InitProducerId with a transactional id, AddPartitionsToTxn, transactional Produce, AddOffsetsToTxn,
// TxnOffsetCommit, EndTxn, read_committed Fetch (LSO, aborted transactions), OffsetFetch after
// commit and abort, fencing on the wire, Describe/ListTransactions, and a restart with a
// transaction open. Real clients are in test/transactions-kafkajs.test.ts.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { ErrorCode } from "../protocol/errors.ts";
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  ApiVersions,
  DescribeTransactions,
  EndTxn,
  Fetch,
  FindCoordinator,
  InitProducerId,
  ListTransactions,
  OffsetFetch,
  Produce,
  TxnOffsetCommit,
  WriteTxnMarkers,
  defaultAddPartitionsToTxnRequest,
  defaultApiVersionsRequest,
  defaultFindCoordinatorRequest,
  defaultInitProducerIdRequest,
  defaultOffsetFetchRequest,
  defaultProduceRequest,
} from "../protocol/messages/index.ts";
import { batchOf, DoorHarness, fetchRequest, valuesIn } from "../testing/kafka-door.ts";

let h: DoorHarness;
beforeEach(async () => {
  h = await DoorHarness.open({ groups: { initialRebalanceDelayMs: 0 } });
});
afterEach(async () => {
  await h.close();
});

async function init(id: string, version = 4) {
  const r = await h.call(InitProducerId, version, { ...defaultInitProducerIdRequest(), transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  expect(r.errorCode).toBe(0);
  return { id, pid: r.producerId, epoch: r.producerEpoch };
}
type P = Awaited<ReturnType<typeof init>>;

async function addPartitions(p: P, topic: string, partitions: number[], version = 3) {
  const r = await h.call(AddPartitionsToTxn, version, {
    ...defaultAddPartitionsToTxnRequest(),
    v3AndBelowTransactionalId: p.id,
    v3AndBelowProducerId: p.pid,
    v3AndBelowProducerEpoch: p.epoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
  });
  return r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((x) => x.partitionErrorCode));
}

let sequences = new Map<string, number>();
async function produceTxn(p: P, topic: string, partition: number, values: string[], epoch = p.epoch) {
  const key = `${p.pid}/${topic}/${partition}`;
  const baseSequence = sequences.get(key) ?? 0;
  const records = batchOf(values, { producerId: Number(p.pid), producerEpoch: epoch, baseSequence, transactional: true });
  const res = await h.call(Produce, 9, { ...defaultProduceRequest(), transactionalId: p.id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  const r = res.responses[0]!.partitionResponses[0]!;
  if (r.errorCode === 0) sequences.set(key, baseSequence + values.length);
  return r.errorCode;
}

async function endTxn(p: P, committed: boolean, version = 3, epoch = p.epoch) {
  return (await h.call(EndTxn, version, { transactionalId: p.id, producerId: p.pid, producerEpoch: epoch, committed })).errorCode;
}

async function fetchCommitted(topic: string, isolationLevel: number) {
  const res = await h.call(Fetch, 11, { ...fetchRequest({ [topic]: [{ partition: 0, offset: 0 }] }), isolationLevel });
  return res.responses[0]!.partitions[0]!;
}

test("FindCoordinator key_type 1 names this broker; ApiVersions advertises the transaction APIs", async () => {
  const fc = await h.call(FindCoordinator, 4, { ...defaultFindCoordinatorRequest(), keyType: 1, coordinatorKeys: ["tx-a"] });
  expect(fc.coordinators[0]).toMatchObject({ key: "tx-a", nodeId: 0, errorCode: 0, port: 9092 });
  const v1 = await h.call(FindCoordinator, 1, { ...defaultFindCoordinatorRequest(), keyType: 1, key: "tx-a" });
  expect([v1.errorCode, v1.nodeId]).toEqual([0, 0]);
  expect((await h.call(FindCoordinator, 4, { ...defaultFindCoordinatorRequest(), keyType: 7, coordinatorKeys: ["x"] })).coordinators[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  const versions = await h.call(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });
  const keys = new Map(versions.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  expect([24, 25, 26, 28, 65, 66].map((k) => keys.get(k))).toEqual([[0, 5], [0, 4], [0, 4], [0, 4], [0, 0], [0, 1]]);
});

test("commit and abort: read_committed sees the committed records and stops at the LSO of an open transaction; group offsets follow the transaction", async () => {
  sequences = new Map();
  await h.createTopic("txn-out", 1);
  await h.createTopic("in", 1);
  const p = await init("tx-1");
  expect(await addPartitions(p, "txn-out", [0])).toEqual([0]);
  expect(await produceTxn(p, "txn-out", 0, ["a1", "a2"])).toBe(0);
  // Open: read_committed sees nothing yet; read_uncommitted sees the records.
  let rc = await fetchCommitted("txn-out", 1);
  expect([rc.highWatermark, rc.lastStableOffset, valuesIn(rc.records)]).toEqual([2n, 0n, []]);
  expect(valuesIn((await fetchCommitted("txn-out", 0)).records)).toEqual(["a1", "a2"]);
  // Offsets of group g go with the transaction.
  expect((await h.call(AddOffsetsToTxn, 3, { transactionalId: p.id, producerId: p.pid, producerEpoch: p.epoch, groupId: "g" })).errorCode).toBe(0);
  const toc = await h.call(TxnOffsetCommit, 3, {
    transactionalId: p.id, groupId: "g", producerId: p.pid, producerEpoch: p.epoch, generationId: -1, memberId: "", groupInstanceId: null,
    topics: [{ name: "in", partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
  expect(toc.topics[0]!.partitions[0]!.errorCode).toBe(0);
  const committedOffset = async () => {
    const r = await h.call(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId: "g", topics: [{ name: "in", partitionIndexes: [0] }], requireStable: false });
    return r.topics[0]!.partitions[0]!.committedOffset;
  };
  expect(await committedOffset()).toBe(-1n);
  expect(await endTxn(p, true)).toBe(0);
  expect(await committedOffset()).toBe(7n);
  rc = await fetchCommitted("txn-out", 1);
  expect(rc.lastStableOffset).toBe(3n); // two records and the commit marker
  expect(valuesIn(rc.records).slice(0, 2)).toEqual(["a1", "a2"]);

  // Second transaction, aborted with its offsets.
  expect(await addPartitions(p, "txn-out", [0])).toEqual([0]);
  expect(await produceTxn(p, "txn-out", 0, ["b1"])).toBe(0);
  expect((await h.call(AddOffsetsToTxn, 3, { transactionalId: p.id, producerId: p.pid, producerEpoch: p.epoch, groupId: "g" })).errorCode).toBe(0);
  await h.call(TxnOffsetCommit, 3, {
    transactionalId: p.id, groupId: "g", producerId: p.pid, producerEpoch: p.epoch, generationId: -1, memberId: "", groupInstanceId: null,
    topics: [{ name: "in", partitions: [{ partitionIndex: 0, committedOffset: 9n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
  expect(await endTxn(p, false)).toBe(0);
  expect(await committedOffset()).toBe(7n);
  rc = await fetchCommitted("txn-out", 1);
  expect([rc.highWatermark, rc.lastStableOffset]).toEqual([5n, 5n]);
  expect(rc.abortedTransactions).toEqual([{ producerId: p.pid, firstOffset: 3n }]);
  // A transactional batch outside an open transaction is refused.
  expect(await produceTxn(p, "txn-out", 0, ["late"])).toBe(ErrorCode.INVALID_TXN_STATE);
  expect(await endTxn(p, true)).toBe(ErrorCode.INVALID_TXN_STATE);
});

test("a second producer of the id fences the first: its open transaction is aborted, its writes and end are refused", async () => {
  sequences = new Map();
  await h.createTopic("fence", 1);
  const zombie = await init("tx-z");
  await addPartitions(zombie, "fence", [0]);
  expect(await produceTxn(zombie, "fence", 0, ["z1"])).toBe(0);
  const fresh = await init("tx-z");
  expect(fresh.pid).toBe(zombie.pid);
  expect(fresh.epoch).toBeGreaterThan(zombie.epoch);
  expect(await produceTxn(zombie, "fence", 0, ["z2"])).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  expect(await endTxn(zombie, true, 3)).toBe(ErrorCode.PRODUCER_FENCED);
  expect(await endTxn(zombie, true, 1)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH); // before KIP-588
  expect(await addPartitions(zombie, "fence", [0], 3)).toEqual([ErrorCode.PRODUCER_FENCED]);
  const rc = await fetchCommitted("fence", 1);
  expect(rc.abortedTransactions).toEqual([{ producerId: zombie.pid, firstOffset: 0n }]);
  expect(rc.lastStableOffset).toBe(rc.highWatermark);
  const fencedInit = await h.call(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: "tx-z", transactionTimeoutMs: 60_000, producerId: zombie.pid, producerEpoch: zombie.epoch });
  expect(fencedInit.errorCode).toBe(ErrorCode.PRODUCER_FENCED);
});

test("Describe/ListTransactions; a transaction open across a restart can still be committed", async () => {
  sequences = new Map();
  await h.createTopic("restart", 2);
  const p = await init("tx-r");
  await addPartitions(p, "restart", [0, 1]);
  expect(await produceTxn(p, "restart", 1, ["r1"])).toBe(0);
  const described = async () => (await h.call(DescribeTransactions, 0, { transactionalIds: ["tx-r", "nope"] })).transactionStates;
  let d = await described();
  expect(d[0]).toMatchObject({ errorCode: 0, transactionState: "Ongoing", producerId: p.pid, producerEpoch: p.epoch, topics: [{ topic: "restart", partitions: [0, 1] }] });
  expect(d[1]!.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  await h.reopen({ groups: { initialRebalanceDelayMs: 0 } });
  d = await described();
  expect(d[0]).toMatchObject({ transactionState: "Ongoing", topics: [{ topic: "restart", partitions: [0, 1] }] });
  const listed = await h.call(ListTransactions, 1, { stateFilters: ["Ongoing"], producerIdFilters: [], durationFilter: -1n });
  expect(listed.transactionStates.map((t) => t.transactionalId)).toEqual(["tx-r"]);
  expect(await endTxn(p, true)).toBe(0);
  const res = await h.call(Fetch, 11, { ...fetchRequest({ restart: [{ partition: 0, offset: 0 }, { partition: 1, offset: 0 }] }), isolationLevel: 1 });
  expect(res.responses[0]!.partitions.map((x) => x.lastStableOffset)).toEqual([1n, 2n]); // a marker in each partition
  expect(valuesIn(res.responses[0]!.partitions[1]!.records)[0]).toBe("r1");
});

test("WriteTxnMarkers (broker to broker): a marker ends the producer's transaction on the partition; an old producer epoch, an old coordinator epoch and an unknown partition are refused", async () => {
  sequences = new Map();
  await h.createTopic("marked", 1);
  await init("tx-m");
  const p = await init("tx-m"); // epoch 1: a marker of epoch 0 is an old producer's
  expect(p.epoch).toBe(1);
  await addPartitions(p, "marked", [0]);
  expect(await produceTxn(p, "marked", 0, ["m1", "m2"])).toBe(0);
  expect((await fetchCommitted("marked", 1)).lastStableOffset).toBe(0n);
  const mark = async (topic: string, partition: number, producerEpoch: number, coordinatorEpoch: number) => {
    const res = await h.call(WriteTxnMarkers, 1, { markers: [{ producerId: p.pid, producerEpoch, transactionResult: true, topics: [{ name: topic, partitionIndexes: [partition] }], coordinatorEpoch }] });
    expect(res.markers.map((m) => [m.producerId, m.topics.map((t) => t.name)])).toEqual([[p.pid, [topic]]]);
    return res.markers[0]!.topics[0]!.partitions.map((x) => [x.partitionIndex, x.errorCode]);
  };
  expect(await mark("marked", 0, p.epoch, 3)).toEqual([[0, 0]]);
  const rc = await fetchCommitted("marked", 1);
  expect([rc.highWatermark, rc.lastStableOffset, valuesIn(rc.records).slice(0, 2)]).toEqual([3n, 3n, ["m1", "m2"]]);
  expect(await mark("marked", 0, p.epoch - 1, 3)).toEqual([[0, ErrorCode.INVALID_PRODUCER_EPOCH]]);
  expect(await mark("marked", 0, p.epoch, 2)).toEqual([[0, ErrorCode.TRANSACTION_COORDINATOR_FENCED]]);
  expect(await mark("marked", 7, p.epoch, 3)).toEqual([[7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  expect(await mark("no-such-topic", 0, p.epoch, 3)).toEqual([[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
});
