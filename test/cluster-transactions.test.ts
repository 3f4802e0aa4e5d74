// Transactions in cluster mode (issue #20 on issue #19's cluster): etcd and three brokers on this
// machine, kafkajs and kcat as the clients.
//
// - A kafkajs transactional producer writes to three partitions led by different brokers and
//   commits offsets (sendOffsets); a second transaction is aborted: read_committed readers (kafkajs,
//   kcat) see all of the committed one, in order, and none of the aborted one; the group's offset
//   is the committed transaction's. The coordinator writes markers to the other leaders with
//   WriteTxnMarkers, and the offsets to the group's coordinator.
// - A second producer with the same transactional id fences the first across the cluster.
// - The coordinator broker SIGKILLed while a transaction commits: after the failover it is there
//   whole or not at all, and a new producer of the id commits a new transaction; SIGKILLed after
//   it logged the decision to commit, with a marker still to write (that partition's leader
//   stopped): the new coordinator writes the markers and the transaction is there whole.
// - The group's coordinator SIGKILLed between a TxnOffsetCommit and the commit: the pending offsets
//   were replicated in __consumer_offsets; the new coordinator loads them and commits them on the
//   transaction's marker (WriteTxnMarkers for its partition).
// - The leader of a data partition SIGKILLed after a commit and an abort: the new leader (built
//   from the replicated log) serves read_committed with the committed data, no aborted data, and
//   a last stable offset that is not stuck (records produced after the failover are readable).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { etcdMissing } from "./etcd-harness.ts";
import { kcat } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";
import { TestCluster } from "./cluster-harness.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import { offsetsPartitionFor } from "../net/cluster/offsets.ts";
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  DescribeProducers,
  DescribeTransactions,
  EndTxn,
  FindCoordinator,
  InitProducerId,
  ListOffsets,
  ListTransactions,
  OffsetFetch,
  Produce,
  TxnOffsetCommit,
  defaultAddPartitionsToTxnRequest,
  defaultFindCoordinatorRequest,
  defaultInitProducerIdRequest,
  defaultListOffsetsRequest,
  defaultOffsetFetchRequest,
  defaultProduceRequest,
} from "../net/protocol/messages/index.ts";

const skip = etcdMissing();
const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

/** What kafkajs says of a fenced producer: the Kafka error's type, or its message when a wrapper dropped the type. */
const FENCED = /^(INVALID_PRODUCER_EPOCH|PRODUCER_FENCED)$|old epoch|fences the current one/;

/** The Kafka error type a kafkajs call fails with (through a retry wrapper too); throws if it succeeds. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { type?: string; cause?: { type?: string }; message?: string };
    return err.type ?? err.cause?.type ?? String(err.message);
  }
  throw new Error("expected a failure");
}

describe.skipIf(skip !== null)("transactions in cluster mode (etcd + 3 brokers)", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ brokers: 3, replicaLagMs: 3000, extraArgs: ["--group-initial-rebalance-delay-ms", "0"] });
  });

  afterAll(async () => {
    // CLUSTER_TXN_LOGS=1: the live brokers' stderr, to see what the coordinators did.
    if (process.env.CLUSTER_TXN_LOGS) for (const [id, b] of cluster?.brokers ?? []) if (b !== null) console.error(`--- broker ${id}\n${b.stderr()}`);
    await cluster?.stop();
  });

  function kafkajs() {
    const brokers = cluster.live().map((id) => cluster.address(id));
    return new Kafka({ clientId: "cluster-txn-test", brokers, logLevel: logLevel.NOTHING, retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 2000 } });
  }

  async function createTopic(name: string, numPartitions: number): Promise<void> {
    const admin = kafkajs().admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: name, numPartitions, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    await cluster.waitFor(name, (m) => m.length === numPartitions && m.every((p) => p.leader >= 0 && p.isr.length === 3), `${name}: leaders and 3 in-sync replicas`);
  }

  /** Values of one partition to its end with kcat (read_committed unless told otherwise). */
  async function kcatValues(topic: string, partition: number, isolation = "read_committed"): Promise<string[]> {
    const bootstrap = cluster.live().map((id) => cluster.address(id)).join(",");
    const out = await kcat(bootstrap, ["-C", "-t", topic, "-p", String(partition), "-o", "beginning", "-e", "-q", "-X", `isolation.level=${isolation}`, "-f", "%s\n"]);
    expect([out.code, out.stderr]).toEqual([0, ""]);
    return out.stdout.split("\n").filter((l) => l !== "");
  }

  /** The broker a live broker names as the transactional id's coordinator (raw FindCoordinator, key_type 1). */
  function txnCoordinator(transactionalId: string): Promise<number> {
    return coordinatorOf(transactionalId, 1);
  }

  /** The coordinator a live broker names for a key (raw FindCoordinator: key_type 0 a group, 1 a transactional id). */
  async function coordinatorOf(transactionalId: string, keyType: number): Promise<number> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      for (const id of cluster.live()) {
        const c = await RawConnection.open(cluster.address(id)).catch(() => null);
        if (c === null) continue;
        try {
          const res = await c.request(FindCoordinator, 3, { ...defaultFindCoordinatorRequest(), key: transactionalId, keyType });
          if (res.errorCode === 0 && cluster.live().includes(res.nodeId)) return res.nodeId;
        } catch {
          // a broker going away: ask another
        } finally {
          c.close();
        }
      }
      if (Date.now() > deadline) throw new Error(`no coordinator for ${transactionalId}`);
      await Bun.sleep(100);
    }
  }

  test("kafkajs: a transaction over partitions led by three brokers, with sendOffsets, commits; another aborts; kafkajs and kcat read_committed see the committed one only, in order", async () => {
    await createTopic("ctx", 3);
    await createTopic("ctx-in", 1);
    const leaders = new Set((await cluster.metadata("ctx")).map((p) => p.leader));
    expect(leaders.size).toBeGreaterThan(1); // markers must go to other brokers than the coordinator
    const kafka = kafkajs();
    const producer = kafka.producer({ transactionalId: "ctx-tx", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const send = async (t: Awaited<ReturnType<typeof producer.transaction>>, prefix: string, from: number, to: number) => {
      for (let p = 0; p < 3; p++) await t.send({ topic: "ctx", messages: range(`${prefix}${p}-`, from, to).map((value) => ({ value, partition: p })) });
    };
    const t1 = await producer.transaction();
    await send(t1, "c", 0, 5);
    await t1.sendOffsets({ consumerGroupId: "ctx-group", topics: [{ topic: "ctx-in", partitions: [{ partition: 0, offset: "5" }] }] });
    await t1.commit();
    const t2 = await producer.transaction();
    await send(t2, "a", 0, 5);
    await t2.sendOffsets({ consumerGroupId: "ctx-group", topics: [{ topic: "ctx-in", partitions: [{ partition: 0, offset: "10" }] }] });
    await t2.abort();
    const t3 = await producer.transaction();
    await send(t3, "c", 5, 10);
    await t3.commit();
    await producer.disconnect();
    const plain = kafka.producer();
    await plain.connect();
    for (let p = 0; p < 3; p++) await plain.send({ topic: "ctx", messages: [{ value: `end${p}`, partition: p }], acks: -1 });
    await plain.disconnect();

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: "ctx-group", topics: ["ctx-in"] });
    await admin.disconnect();
    expect(offsets[0]!.partitions[0]!.offset).toBe("5");

    const expected = (p: number) => [...range(`c${p}-`, 0, 10), `end${p}`];
    for (let p = 0; p < 3; p++) {
      expect(await kcatValues("ctx", p)).toEqual(expected(p));
      expect(await kcatValues("ctx", p, "read_uncommitted")).toEqual([...range(`c${p}-`, 0, 5), ...range(`a${p}-`, 0, 5), ...range(`c${p}-`, 5, 10), `end${p}`]);
    }

    const consumer = kafka.consumer({ groupId: "ctx-reader", readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: "ctx", fromBeginning: true });
    const seen = new Map<number, string[]>();
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.set(partition, [...(seen.get(partition) ?? []), message.value!.toString()]);
            if ([0, 1, 2].every((p) => seen.get(p)?.at(-1) === `end${p}`)) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    for (let p = 0; p < 3; p++) expect(seen.get(p)).toEqual(expected(p));

    // Describe/ListTransactions answer at the id's coordinator only; DescribeProducers at the leader.
    const coordinator = await txnCoordinator("ctx-tx");
    const leader0 = (await cluster.metadata("ctx"))[0]!.leader;
    const ask = async <T>(id: number, f: (c: RawConnection) => Promise<T>): Promise<T> => {
      const c = await RawConnection.open(cluster.address(id));
      try {
        return await f(c);
      } finally {
        c.close();
      }
    };
    const described = await ask(coordinator, (c) => c.request(DescribeTransactions, 0, { transactionalIds: ["ctx-tx"] }));
    const state = described.transactionStates[0]!;
    expect([state.errorCode, state.transactionState]).toEqual([0, "CompleteCommit"]);
    for (const id of cluster.live()) {
      const listed = await ask(id, (c) => c.request(ListTransactions, 0, { stateFilters: [], producerIdFilters: [], durationFilter: -1n }));
      expect(listed.transactionStates.some((t) => t.transactionalId === "ctx-tx")).toBe(id === coordinator);
      if (id !== coordinator) {
        const elsewhere = await ask(id, (c) => c.request(DescribeTransactions, 0, { transactionalIds: ["ctx-tx"] }));
        expect(elsewhere.transactionStates[0]!.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
        const init = await ask(id, (c) => c.request(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: "ctx-tx", transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }));
        expect(init.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      }
      const producers = (await ask(id, (c) => c.request(DescribeProducers, 0, { topics: [{ name: "ctx", partitionIndexes: [0] }] }))).topics[0]!.partitions[0]!;
      if (id === leader0) expect([producers.errorCode, producers.activeProducers.map((x) => [x.producerId, x.currentTxnStartOffset])]).toEqual([0, [[state.producerId, -1n]]]);
      else expect(producers.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
  }, 90_000);

  test("kafkajs: a second producer with the same transactional id fences the first across the cluster", async () => {
    await createTopic("czombie", 3);
    const kafka = kafkajs();
    const zombie = kafka.producer({ transactionalId: "czombie-tx", maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
    await zombie.connect();
    const zt = await zombie.transaction();
    await zt.send({ topic: "czombie", messages: [0, 1, 2].map((p) => ({ value: `z${p}`, partition: p })) });
    const fresh = kafka.producer({ transactionalId: "czombie-tx", maxInFlightRequests: 1, idempotent: true });
    await fresh.connect(); // InitProducerId: the epoch goes up, the zombie's transaction is aborted
    const ft = await fresh.transaction();
    expect(await failure(zt.send({ topic: "czombie", messages: [{ value: "z-late", partition: 1 }] }))).toMatch(FENCED);
    expect(await failure(zt.commit())).toMatch(FENCED);
    await ft.send({ topic: "czombie", messages: [0, 1, 2].map((p) => ({ value: `f${p}`, partition: p })) });
    await ft.commit();
    await fresh.disconnect();
    await zombie.disconnect().catch(() => {});
    for (let p = 0; p < 3; p++) {
      expect(await kcatValues("czombie", p)).toEqual([`f${p}`]);
      expect(await kcatValues("czombie", p, "read_uncommitted")).toEqual([`z${p}`, `f${p}`]);
    }
  }, 60_000);

  test("SIGKILL of the group's coordinator between TxnOffsetCommit and the commit: the new one loads the pending offsets from __consumer_offsets and commits them on the marker", async () => {
    const id = "cgroup-tx";
    const txnAt = await txnCoordinator(id);
    await createTopic("cgroup-in", 1);
    // A group whose coordinator is another broker than the transaction's.
    await coordinatorOf("cgroup-warmup", 0); // creates __consumer_offsets when it is not there yet
    const offsetsMeta = await cluster.waitFor("__consumer_offsets", (m) => m.length > 0 && m.every((p) => p.leader >= 0), "__consumer_offsets leaders");
    let group = "";
    for (let i = 0; group === "" && i < 1000; i++) if (offsetsMeta[offsetsPartitionFor(`cgroup-${i}`, offsetsMeta.length)]!.leader !== txnAt) group = `cgroup-${i}`;
    if (group === "") throw new Error(`broker ${txnAt} leads every partition of __consumer_offsets: ${JSON.stringify(offsetsMeta)}`);
    const groupAt = await coordinatorOf(group, 0);
    expect(groupAt).not.toBe(txnAt);
    const ask = async <T>(broker: number, f: (c: RawConnection) => Promise<T>): Promise<T> => {
      const c = await RawConnection.open(cluster.address(broker));
      try {
        return await f(c);
      } finally {
        c.close();
      }
    };
    const committed = async (at: number, requireStable: boolean) => {
      const r = await ask(at, (c) => c.request(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId: group, topics: [{ name: "cgroup-in", partitionIndexes: [0] }], requireStable }));
      return [r.errorCode, r.topics[0]?.partitions[0]?.errorCode, r.topics[0]?.partitions[0]?.committedOffset];
    };
    const init = await ask(txnAt, (c) => c.request(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }));
    expect(init.errorCode).toBe(0);
    const { producerId, producerEpoch } = init;
    expect((await ask(txnAt, (c) => c.request(AddOffsetsToTxn, 3, { transactionalId: id, producerId, producerEpoch, groupId: group }))).errorCode).toBe(0);
    const toc = await ask(groupAt, (c) =>
      c.request(TxnOffsetCommit, 3, {
        transactionalId: id, groupId: group, producerId, producerEpoch, generationId: -1, memberId: "", groupInstanceId: null,
        topics: [{ name: "cgroup-in", partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      }),
    );
    expect(toc.topics[0]!.partitions[0]!.errorCode).toBe(0);
    // Pending: invisible, and unstable for a reader that asks for stable offsets (KIP-447).
    expect(await committed(groupAt, false)).toEqual([0, 0, -1n]);
    expect(await committed(groupAt, true)).toEqual([0, ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]);
    await cluster.kill9(groupAt);
    // The commit's marker for the group's partition reaches its new coordinator (retried until one leads it).
    expect((await ask(txnAt, (c) => c.request(EndTxn, 3, { transactionalId: id, producerId, producerEpoch, committed: true }))).errorCode).toBe(0);
    const deadline = Date.now() + 30_000;
    let last: unknown[] = [];
    for (;;) {
      const at = await coordinatorOf(group, 0).catch(() => -1);
      if (at >= 0) {
        last = await committed(at, true).catch((e) => [String(e)]);
        if (last[0] === 0 && last[2] === 42n) break;
      }
      if (Date.now() > deadline) throw new Error(`the offsets were not committed on the new coordinator: ${JSON.stringify(last, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
      await Bun.sleep(100);
    }
    expect(last).toEqual([0, 0, 42n]);
    await cluster.startBroker(groupAt);
    await cluster.waitFor("cgroup-in", (m) => m.every((p) => p.isr.length === 3), "the restarted broker back in every ISR", 30_000);
  }, 120_000);

  test("SIGKILL of the coordinator broker while a transaction commits: after the failover it is there whole or not at all; a new producer of the id commits", async () => {
    await createTopic("ckill", 3);
    const id = "ckill-tx";
    const coordinator = await txnCoordinator(id);
    const kafka = kafkajs();
    const producer = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const t = await producer.transaction();
    for (let p = 0; p < 3; p++) await t.send({ topic: "ckill", messages: range(`k${p}-`, 0, 20).map((value) => ({ value, partition: p })) });
    let outcome: "committed" | "failed" | null = null;
    const commit = t.commit().then(
      () => void (outcome = "committed"),
      () => void (outcome = "failed"),
    );
    await cluster.kill9(coordinator);
    await commit;
    await producer.disconnect().catch(() => {});
    expect(await txnCoordinator(id)).not.toBe(coordinator);

    // A new producer of the id: its InitProducerId ends whatever is left (a decided transaction is
    // completed, an open one aborted), then it commits a transaction of its own.
    const next = kafkajs().producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true }); // bootstrapped from the live brokers
    await next.connect();
    const nt = await next.transaction();
    await nt.send({ topic: "ckill", messages: [0, 1, 2].map((p) => ({ value: `after${p}`, partition: p })) });
    await nt.commit();
    await next.disconnect();

    const counts: number[] = [];
    for (let p = 0; p < 3; p++) {
      const values = await kcatValues("ckill", p);
      expect(values.at(-1)).toBe(`after${p}`);
      counts.push(values.filter((v) => v.startsWith(`k${p}-`)).length);
      if (counts[p] === 20) expect(values).toEqual([...range(`k${p}-`, 0, 20), `after${p}`]);
    }
    const whole = counts.every((n) => n === 20);
    const none = counts.every((n) => n === 0);
    expect({ counts, whole: whole || none }).toEqual({ counts, whole: true });
    if (outcome === "committed") expect(whole).toBe(true);

    await cluster.startBroker(coordinator);
    await cluster.waitFor("ckill", (m) => m.every((p) => p.isr.length === 3), "the restarted broker back in every ISR", 30_000);
  }, 120_000);

  test("SIGKILL of the coordinator after it decided to commit, with a marker still to write: the new coordinator completes the commit", async () => {
    // Raw requests, so the test controls when the EndTxn is sent and knows when it was decided.
    await createTopic("cdecided", 3);
    const id = "cdecided-tx";
    const coordinator = await txnCoordinator(id);
    const meta = await cluster.metadata("cdecided");
    const ask = async <T>(broker: number, f: (c: RawConnection) => Promise<T>): Promise<T> => {
      const c = await RawConnection.open(cluster.address(broker));
      try {
        return await f(c);
      } finally {
        c.close();
      }
    };
    /** InitProducerId at the id's coordinator, retried while it loads or ends the last transaction. */
    const init = async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const at = await txnCoordinator(id);
        const r = await ask(at, (c) => c.request(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).catch(() => null);
        if (r !== null && r.errorCode === 0) return { producerId: r.producerId, producerEpoch: r.producerEpoch };
        if (Date.now() > deadline) throw new Error(`InitProducerId ${id}: ${r?.errorCode ?? "no answer"}`);
        await Bun.sleep(100);
      }
    };
    const { producerId, producerEpoch } = await init();
    const added = await ask(coordinator, (c) =>
      c.request(AddPartitionsToTxn, 3, { ...defaultAddPartitionsToTxnRequest(), v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: "cdecided", partitions: [0, 1, 2] }] }),
    );
    expect(added.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((x) => x.partitionErrorCode))).toEqual([0, 0, 0]);
    for (const p of meta) {
      const records = encodeRecordBatch({ records: range(`d${p.partition}-`, 0, 10).map((v) => ({ value: new TextEncoder().encode(v) })), producerId: Number(producerId), producerEpoch, baseSequence: 0, transactional: true });
      const res = await ask(p.leader, (c) => c.request(Produce, 9, { ...defaultProduceRequest(), transactionalId: id, acks: -1, timeoutMs: 10_000, topicData: [{ name: "cdecided", partitionData: [{ index: p.partition, records }] }] }));
      expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
    }
    // A partition led by another broker, whose marker cannot be written while that broker is stopped.
    const stalled = meta.find((p) => p.leader !== coordinator)!.leader;
    cluster.pause(stalled);
    const c = await RawConnection.open(cluster.address(coordinator));
    try {
      const ended = c.request(EndTxn, 3, { transactionalId: id, producerId, producerEpoch, committed: true }, 60_000).catch(() => null);
      // The decision is logged (on every in-sync replica of the id's log partition) before any marker.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const state = (await ask(coordinator, (q) => q.request(DescribeTransactions, 0, { transactionalIds: [id] }))).transactionStates[0]!.transactionState;
        if (state === "PrepareCommit") break;
        if (Date.now() > deadline) throw new Error(`the coordinator did not decide: ${state}`);
        await Bun.sleep(50);
      }
      await cluster.kill9(coordinator);
      cluster.resume(stalled);
      await ended;
    } finally {
      c.close();
      if (cluster.brokers.get(stalled) !== null) cluster.resume(stalled);
    }
    // The new coordinator loaded PrepareCommit: it writes the markers and completes it. A new
    // InitProducerId of the id waits for that (CONCURRENT_TRANSACTIONS meanwhile).
    await init();
    for (let p = 0; p < 3; p++) expect(await kcatValues("cdecided", p)).toEqual(range(`d${p}-`, 0, 10));
    await cluster.startBroker(coordinator);
    await cluster.waitFor("cdecided", (m) => m.every((p) => p.isr.length === 3), "the restarted broker back in every ISR", 30_000);
  }, 120_000);

  test("SIGKILL of a data partition's leader after a commit and an abort: the new leader serves read_committed with the right data and a last stable offset that moves on", async () => {
    await createTopic("clso", 1);
    const kafka = kafkajs();
    const producer = kafka.producer({ transactionalId: "clso-tx", maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const t1 = await producer.transaction();
    await t1.send({ topic: "clso", messages: range("c", 0, 10).map((value) => ({ value, partition: 0 })) });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic: "clso", messages: range("a", 0, 10).map((value) => ({ value, partition: 0 })) });
    await t2.abort();
    await producer.disconnect();
    // Every replica has the markers before the leader dies (acks=all on markers).
    const before = await cluster.metadata("clso");
    const leader = before[0]!.leader;
    await cluster.kill9(leader);
    const after = await cluster.waitFor("clso", (m) => m[0]!.leader >= 0 && m[0]!.leader !== leader, "a new leader for clso/0");
    const newLeader = after[0]!.leader;

    const plain = kafkajs().producer();
    await plain.connect();
    await plain.send({ topic: "clso", messages: [{ value: "after", partition: 0 }], acks: -1 });
    await plain.disconnect();

    expect(await kcatValues("clso", 0)).toEqual([...range("c", 0, 10), "after"]);
    // ListOffsets read_committed on the new leader: the last stable offset is its high watermark.
    const c = await RawConnection.open(cluster.address(newLeader));
    try {
      const ask = (isolationLevel: number) =>
        c.request(ListOffsets, 4, { ...defaultListOffsetsRequest(), replicaId: -1, isolationLevel, topics: [{ name: "clso", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] });
      const hw = (await ask(0)).topics[0]!.partitions[0]!;
      const lso = (await ask(1)).topics[0]!.partitions[0]!;
      expect([hw.errorCode, lso.errorCode]).toEqual([0, 0]);
      // 10 committed + marker + 10 aborted + marker + "after"
      expect(Number(hw.offset)).toBe(23);
      expect(Number(lso.offset)).toBe(23);
    } finally {
      c.close();
    }
    await cluster.startBroker(leader);
  }, 90_000);
});
