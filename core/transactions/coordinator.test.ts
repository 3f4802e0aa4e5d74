// The transaction coordinator against a log kept in memory and participants that record markers
// (issue #20): the state table of metadata.ts, fencing, the order of the end (decision logged →
// markers → complete), recovery of a decision a crash interrupted, and transaction.timeout.ms.
import { expect, test } from "bun:test";
import { decodeRecordBatch } from "../batch/record-batch.ts";
import { ManualTimers } from "../testing/manual-time.ts";
import { TXN_CHECK_MS } from "../limits.ts";
import { TransactionCoordinator, type TxnLogPort, type TxnParticipants } from "./coordinator.ts";
import { decodeRecord, txnLogPartitionFor } from "./metadata.ts";

const quiet = { info() {}, warn() {}, error() {} };

/** A transaction log in memory: batches per partition, decoded back on records(). */
class MemoryTxnLog implements TxnLogPort {
  readonly partitions = 4;
  readonly batches: Array<{ partition: number; batch: Uint8Array }> = [];
  failing = false;
  async append(partition: number, batch: Uint8Array): Promise<void> {
    if (this.failing) throw new Error("disk gone");
    this.batches.push({ partition, batch });
  }
  async records() {
    const out: Array<{ key: Uint8Array | null; value: Uint8Array | null }> = [];
    for (let p = 0; p < this.partitions; p++) {
      for (const b of this.batches.filter((x) => x.partition === p)) for (const r of decodeRecordBatch(b.batch).records) out.push({ key: r.key, value: r.value });
    }
    return out;
  }
  states(id: string): string[] {
    const out: string[] = [];
    for (const b of this.batches) {
      for (const r of decodeRecordBatch(b.batch).records) {
        const d = decodeRecord(r.key, r.value);
        if (typeof d !== "string" && d.transactionalId === id) out.push(d.metadata?.state ?? "tombstone");
      }
    }
    return out;
  }
}

class Participants implements TxnParticipants {
  readonly events: string[] = [];
  failMarkers = false;
  private pid = 1000;
  async writeMarker(topic: string, partition: number, m: { producerId: number; producerEpoch: number; commit: boolean }) {
    if (this.failMarkers) throw new Error("partition unavailable");
    this.events.push(`${m.commit ? "COMMIT" : "ABORT"} ${topic}-${partition} pid ${m.producerId} epoch ${m.producerEpoch}`);
    return "written" as const;
  }
  async endGroup(groupId: string, producerId: number, commit: boolean) {
    if (this.failMarkers) throw new Error("group unavailable");
    this.events.push(`${commit ? "COMMIT" : "ABORT"} group ${groupId} pid ${producerId}`);
  }
  partitionExists(topic: string, partition: number) {
    return topic !== "missing" && partition >= 0 && partition < 3;
  }
  async nextProducerId() {
    return this.pid++;
  }
}

async function open(log = new MemoryTxnLog(), participants = new Participants(), timers = new ManualTimers()) {
  const c = await TransactionCoordinator.open({ log, participants, timers, logger: quiet });
  await c.recover();
  return { c, log, participants, timers };
}

async function init(c: TransactionCoordinator, id: string, timeoutMs = 60_000) {
  const r = await c.initProducerId(id, timeoutMs, null);
  if (r.error !== null) throw new Error(r.error);
  return r;
}

test("a transaction: partitions and a group join, commit writes a marker to each and then logs it complete", async () => {
  const { c, log, participants } = await open();
  const p = await init(c, "t1");
  expect([p.producerId, p.producerEpoch]).toEqual([1000, 0]);
  expect(await c.addPartitions("t1", p.producerId, 0, [{ topic: "a", partitions: [0, 2] }])).toEqual([
    { topic: "a", partition: 0, error: null },
    { topic: "a", partition: 2, error: null },
  ]);
  expect(await c.addOffsets("t1", p.producerId, 0, "g")).toBeNull();
  expect(c.verifyAppend(p.producerId, 0, "a", 2)).toBeNull();
  expect(c.verifyAppend(p.producerId, 0, "a", 1)).toBe("INVALID_TXN_STATE");
  expect(await c.endTxn("t1", p.producerId, 0, true)).toBeNull();
  expect(participants.events.sort()).toEqual(["COMMIT a-0 pid 1000 epoch 0", "COMMIT a-2 pid 1000 epoch 0", "COMMIT group g pid 1000"]);
  await until(() => c.metadata("t1")!.state === "CompleteCommit"); // logged just after the answer
  expect(log.states("t1")).toEqual(["Empty", "Ongoing", "Ongoing", "PrepareCommit", "CompleteCommit"]);
  // A retried commit is answered as done; an abort now is refused; the next transaction opens.
  expect(await c.endTxn("t1", p.producerId, 0, true)).toBeNull();
  expect(await c.endTxn("t1", p.producerId, 0, false)).toBe("INVALID_TXN_STATE");
  expect(c.verifyAppend(p.producerId, 0, "a", 0)).toBe("INVALID_TXN_STATE");
  expect((await c.addPartitions("t1", p.producerId, 0, [{ topic: "a", partitions: [1] }]))[0]!.error).toBeNull();
  expect(c.describe(["t1"])[0]!.topics).toEqual([{ topic: "a", partitions: [1] }]);
  expect(log.batches.every((b) => b.partition === txnLogPartitionFor("t1", 4))).toBe(true);
});

test("an unknown partition fails the whole AddPartitionsToTxn; wrong ids and epochs are told so", async () => {
  const { c } = await open();
  const p = await init(c, "t2");
  expect(await c.addPartitions("t2", p.producerId, 0, [{ topic: "a", partitions: [0] }, { topic: "missing", partitions: [0] }])).toEqual([
    { topic: "a", partition: 0, error: "OPERATION_NOT_ATTEMPTED" },
    { topic: "missing", partition: 0, error: "UNKNOWN_TOPIC_OR_PARTITION" },
  ]);
  expect(c.metadata("t2")!.state).toBe("Empty");
  expect((await c.addPartitions("t2", p.producerId + 1, 0, [{ topic: "a", partitions: [0] }]))[0]!.error).toBe("INVALID_PRODUCER_ID_MAPPING");
  expect((await c.addPartitions("t2", p.producerId, 1, [{ topic: "a", partitions: [0] }]))[0]!.error).toBe("PRODUCER_FENCED");
  expect(await c.endTxn("t2", p.producerId, 0, true)).toBe("INVALID_TXN_STATE");
  expect(await c.endTxn("nobody", 5, 0, true)).toBe("INVALID_PRODUCER_ID_MAPPING");
  expect((await c.initProducerId("t2", 0, null)).error).toBe("INVALID_TRANSACTION_TIMEOUT");
});

test("a second InitProducerId fences the first producer: its open transaction is aborted under a newer epoch", async () => {
  const { c, participants } = await open();
  const zombie = await init(c, "t3");
  await c.addPartitions("t3", zombie.producerId, 0, [{ topic: "a", partitions: [0] }]);
  const fresh = await init(c, "t3");
  expect([fresh.producerId, fresh.producerEpoch]).toEqual([zombie.producerId, 2]); // epoch 1 went to the abort's markers
  expect(participants.events).toEqual(["ABORT a-0 pid 1000 epoch 1"]);
  expect(await c.endTxn("t3", zombie.producerId, 0, true)).toBe("PRODUCER_FENCED");
  expect((await c.addPartitions("t3", zombie.producerId, 0, [{ topic: "a", partitions: [0] }]))[0]!.error).toBe("PRODUCER_FENCED");
  expect(c.verifyAppend(zombie.producerId, 0, "a", 0)).toBe("PRODUCER_FENCED");
  // The zombie asking to bump its own (old) epoch is fenced too.
  expect((await c.initProducerId("t3", 60_000, { producerId: zombie.producerId, producerEpoch: 0 })).error).toBe("PRODUCER_FENCED");
  // A KIP-360 bump by the current producer, and its retry, get the same epoch.
  const bumped = await c.initProducerId("t3", 60_000, { producerId: fresh.producerId, producerEpoch: 2 });
  expect(bumped).toEqual({ error: null, producerId: fresh.producerId, producerEpoch: 3 });
  expect(await c.initProducerId("t3", 60_000, { producerId: fresh.producerId, producerEpoch: 2 })).toEqual(bumped);
});

test("a crash after the decision: the reopened coordinator writes the markers and completes it; one before stays open until its timeout", async () => {
  const log = new MemoryTxnLog();
  const first = await open(log);
  const decided = await init(first.c, "decided");
  await first.c.addPartitions("decided", decided.producerId, 0, [{ topic: "a", partitions: [0, 1] }]);
  const open_ = await init(first.c, "open", 5000);
  await first.c.addPartitions("open", open_.producerId, 0, [{ topic: "b", partitions: [0] }]);
  first.participants.failMarkers = true; // the markers cannot be written: the "crash" comes after the decision
  expect(await first.c.endTxn("decided", decided.producerId, 0, true)).toBeNull();
  expect(first.c.metadata("decided")!.state).toBe("PrepareCommit");
  first.c.stop();

  const timers = new ManualTimers();
  const second = await open(log, new Participants(), timers);
  expect(second.c.metadata("decided")!.state).toBe("CompleteCommit");
  expect(second.participants.events.sort()).toEqual(["COMMIT a-0 pid 1000 epoch 0", "COMMIT a-1 pid 1000 epoch 0"]);
  expect(second.c.metadata("open")!.state).toBe("Ongoing");
  // Time passes the open one's timeout: the timer aborts it and fences its producer.
  timers.advance(5000 + TXN_CHECK_MS);
  await until(() => second.c.metadata("open")!.state === "CompleteAbort");
  expect(second.participants.events).toContain(`ABORT b-0 pid ${open_.producerId} epoch 1`);
  expect(await second.c.endTxn("open", open_.producerId, 0, true)).toBe("PRODUCER_FENCED");
  expect(second.c.list(["CompleteAbort"], []).transactions.map((t) => t.transactionalId)).toEqual(["open"]);
  expect(second.c.list(["Bogus"], []).unknownStates).toEqual(["Bogus"]);
});

test("markers that fail are retried by the timer; the id answers CONCURRENT_TRANSACTIONS meanwhile", async () => {
  const { c, participants, timers } = await open();
  const p = await init(c, "retry");
  await c.addPartitions("retry", p.producerId, 0, [{ topic: "a", partitions: [0] }]);
  participants.failMarkers = true;
  expect(await c.endTxn("retry", p.producerId, 0, false)).toBeNull();
  expect(c.metadata("retry")!.state).toBe("PrepareAbort");
  expect((await c.addPartitions("retry", p.producerId, 0, [{ topic: "a", partitions: [0] }]))[0]!.error).toBe("CONCURRENT_TRANSACTIONS");
  participants.failMarkers = false;
  timers.advance(TXN_CHECK_MS);
  await until(() => c.metadata("retry")!.state === "CompleteAbort");
  expect(participants.events).toEqual(["ABORT a-0 pid 1000 epoch 0"]);
});

test("a state that cannot be logged is not installed", async () => {
  const { c, log } = await open();
  const p = await init(c, "nolog");
  log.failing = true;
  await expect(c.addPartitions("nolog", p.producerId, 0, [{ topic: "a", partitions: [0] }])).rejects.toThrow("disk gone");
  expect(c.metadata("nolog")!.state).toBe("Empty");
  expect(c.verifyAppend(p.producerId, 0, "a", 0)).toBe("INVALID_TXN_STATE");
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await Promise.resolve().then(() => new Promise((r) => setImmediate(r)));
  expect(cond()).toBe(true);
}

test("a timer tick that saw the decision does not end the next transaction (the state is read in the id's turn)", async () => {
  const { c, log, participants, timers } = await open();
  const p = await init(c, "race");
  await c.addPartitions("race", p.producerId, 0, [{ topic: "a", partitions: [0] }]);
  // The Complete record's write takes a while: EndTxn is answered (markers written) before it.
  let release: (() => void) | null = null;
  const append = log.append.bind(log);
  log.append = async (partition, batch) => {
    if (log.batches.length === 4) await new Promise<void>((r) => (release = r));
    return append(partition, batch);
  };
  expect(await c.endTxn("race", p.producerId, 0, true)).toBeNull();
  expect(c.metadata("race")!.state).toBe("PrepareCommit");
  const adding = c.addPartitions("race", p.producerId, 0, [{ topic: "a", partitions: [1] }]); // the next transaction, queued
  timers.advance(TXN_CHECK_MS); // the check sees PrepareCommit and queues a finish behind it
  await until(() => release !== null);
  release!();
  expect((await adding)[0]!.error).toBeNull();
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  expect(c.metadata("race")!.state).toBe("Ongoing");
  expect(participants.events).toEqual(["COMMIT a-0 pid 1000 epoch 0"]);
});
