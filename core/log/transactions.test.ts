// Transactions in one partition log (issue #20): a transactional batch opens its producer's
// transaction, the coordinator's marker closes it; the last stable offset stays at the first
// offset of the oldest open transaction; aborted transactions are listed for read_committed
// fetches, kept in .txnindex files by roll and close, and rebuilt from the markers after a crash.
// The rows named are those of producer-state.ts (markers) and transaction-index.ts (files).
import { afterEach, describe, expect, test } from "bun:test";
import { encodeMarkerBatch, readMarker } from "../batch/control.ts";
import { encodeRecordBatch } from "../batch/record-batch.ts";
import { CoreError } from "../errors.ts";
import { type Env, LAYERS, openLog } from "../testing/log-harness.ts";
import type { PartitionLog } from "./partition-log.ts";
import { ProducerState } from "./producer-state.ts";

const DIR = "/t/0";
const NOW = 1_700_000_000_000;
const encoder = new TextEncoder();

function txn(id: number, epoch: number, seq: number, records = 2): Uint8Array {
  return encodeRecordBatch({
    producerId: id,
    producerEpoch: epoch,
    baseSequence: seq,
    transactional: true,
    records: Array.from({ length: records }, (_, i) => ({ value: encoder.encode(`${id}/${seq + i}`) })),
    now: NOW,
  });
}

function plain(records = 1): Uint8Array {
  return encodeRecordBatch({ records: Array.from({ length: records }, () => ({ value: encoder.encode("p") })), now: NOW });
}

function marker(id: number, epoch: number, commit: boolean, coordinatorEpoch = 0): Uint8Array {
  return encodeMarkerBatch({ producerId: id, producerEpoch: epoch, commit, coordinatorEpoch, timestamp: NOW });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  return e instanceof CoreError ? e.code : `not refused: ${String(e)}`;
}

describe("control batches", () => {
  test("a marker round-trips its type and coordinator epoch", () => {
    expect(readMarker(marker(5, 1, true, 7))).toEqual({ commit: true, coordinatorEpoch: 7 });
    expect(readMarker(marker(5, 1, false, 0))).toEqual({ commit: false, coordinatorEpoch: 0 });
    expect(readMarker(plain())).toBeNull();
  });
});

describe("ProducerState with transactions", () => {
  test("a transactional batch opens the transaction, a marker closes it, a plain batch meanwhile is refused", () => {
    const s = new ProducerState();
    s.apply(3, 0, 0, 1, 10, 11, NOW, NOW, true);
    expect(s.firstOpenOffset()).toBe(10);
    s.apply(3, 0, 2, 3, 14, 15, NOW, NOW, true);
    expect(s.entry(3)!.txnFirstOffset).toBe(10);
    expect(s.check(3, 0, 4, 1, false)).toEqual({ kind: "not-transactional", txnFirstOffset: 10 });
    expect(s.check(3, 0, 4, 1, true)).toEqual({ kind: "append" });
    expect(s.applyMarker(3, 0, 0, 16, NOW, NOW)).toBe(10);
    expect(s.firstOpenOffset()).toBe(-1);
    // The same epoch keeps the sequences going across transactions.
    expect(s.check(3, 0, 4, 1, true)).toEqual({ kind: "append" });
    expect(s.check(3, 0, 0, 1, true)).toEqual({ kind: "out-of-order", expected: 4 });
  });

  test("marker rows: an older epoch is fenced, an older coordinator epoch too; a newer epoch starts the producer over at sequence 0", () => {
    const s = new ProducerState();
    s.apply(3, 2, 0, 1, 10, 11, NOW, NOW, true);
    expect(s.checkMarker(3, 1, 0)).toEqual({ kind: "fenced", currentEpoch: 2 }); // row 1
    expect(s.checkMarker(3, 3, 0)).toEqual({ kind: "append" }); // row 3
    expect(s.applyMarker(3, 3, 4, 12, NOW, NOW)).toBe(10);
    expect(s.checkMarker(3, 3, 2)).toEqual({ kind: "coordinator-fenced", coordinatorEpoch: 4 }); // row 2
    expect(s.checkMarker(99, 0, 0)).toEqual({ kind: "append" }); // row 3: unknown
    expect(s.check(3, 2, 2, 1, true)).toEqual({ kind: "fenced", currentEpoch: 3 });
    expect(s.check(3, 3, 2, 1, true)).toEqual({ kind: "out-of-order", expected: 0 });
    expect(s.check(3, 3, 0, 1, true)).toEqual({ kind: "append" });
    expect(s.describe()).toEqual([{ producerId: 3, epoch: 3, lastSequence: -1, lastTimestamp: NOW, coordinatorEpoch: 4, currentTxnStartOffset: -1 }]);
  });

  test("a producer with an open transaction never expires", () => {
    const s = new ProducerState();
    s.apply(3, 0, 0, 1, 10, 11, NOW, NOW, true);
    s.apply(4, 0, 0, 1, 12, 13, NOW, NOW, false);
    expect(s.expire(NOW + 10 * 86_400_000, 86_400_000)).toBe(1);
    expect(s.entry(3)).toBeDefined();
  });
});

describe.each(LAYERS)("transactions in a partition log on %s", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  /** Producer 1 commits [0,1], producer 2 aborts [2,3] around producer 1's second transaction [4,5]. */
  async function interleaved(log: PartitionLog): Promise<void> {
    await log.append(txn(1, 0, 0)); // 0-1
    expect(log.lastStableOffset).toBe(0);
    await log.append(txn(2, 0, 0)); // 2-3
    await log.appendMarker(marker(1, 0, true)); // 4
    expect(log.lastStableOffset).toBe(2);
    await log.append(plain()); // 5
    await log.append(txn(1, 0, 2)); // 6-7
    await log.appendMarker(marker(2, 0, false)); // 8
    expect(log.lastStableOffset).toBe(6);
    await log.appendMarker(marker(1, 0, true)); // 9
    expect(log.lastStableOffset).toBe(log.highWatermark);
  }

  test("the last stable offset follows the oldest open transaction; aborted ones are listed for a range", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { clean: true });
    await interleaved(log);
    expect(log.highWatermark).toBe(10);
    const aborted = [{ producerId: 2, firstOffset: 2, lastOffset: 8, lastStableOffset: 6 }]; // producer 1 had [6,7] open
    expect(log.abortedTransactions(0, 10)).toEqual(aborted);
    expect(log.abortedTransactions(8, 10)).toEqual(aborted);
    expect(log.abortedTransactions(9, 10)).toEqual([]);
    expect(log.abortedTransactions(0, 2)).toEqual([]);
    expect(log.producers().find((p) => p.producerId === 2)!.currentTxnStartOffset).toBe(-1);
    await log.close();
  });

  test("a plain batch inside an open transaction is refused; an old epoch's marker is fenced; nothing is written", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { clean: true });
    await log.append(encodeRecordBatch({ producerId: 1, producerEpoch: 3, baseSequence: 0, transactional: true, records: [{ value: encoder.encode("x") }], now: NOW }));
    expect(log.producers()[0]!.currentTxnStartOffset).toBe(0);
    const end = log.endOffset;
    expect(await refusal(log.append(encodeRecordBatch({ producerId: 1, producerEpoch: 3, baseSequence: 1, records: [{ value: encoder.encode("y") }], now: NOW })))).toBe("INVALID_TXN_STATE");
    expect(await refusal(log.appendMarker(marker(1, 2, false)))).toBe("PRODUCER_FENCED");
    expect(log.endOffset).toBe(end);
    // The coordinator fences the producer with a newer epoch when it aborts: its old epoch is refused afterwards.
    await log.appendMarker(marker(1, 4, false));
    expect(await refusal(log.append(txn(1, 3, 1)))).toBe("PRODUCER_FENCED");
    await log.close();
  });

  test("a follower builds the leader's transactions from the replicated batches: the same LSO, aborted list and producers; once it leads it fences the old epoch (cluster failover)", async () => {
    env = makeEnv();
    const other = makeEnv();
    try {
      const { log: leader } = await openLog(env, { clean: true });
      const { log: follower } = await openLog(other, { clean: true });
      follower.useExternalHighWatermark();
      await interleaved(leader);
      await leader.append(txn(3, 0, 0)); // 10-11, open
      await leader.append(txn(4, 0, 0)); // 12-13, fenced below by the coordinator's abort under epoch 1
      await leader.appendMarker(marker(4, 1, false)); // 14
      const { chunks } = leader.read(0, 1 << 20);
      for (const chunk of chunks) {
        for (let pos = 0; pos < chunk.length; ) {
          const size = new DataView(chunk.buffer, chunk.byteOffset + pos + 8, 4).getInt32(0) + 12;
          await follower.appendReplica(chunk.slice(pos, pos + size));
          pos += size;
        }
      }
      follower.advanceHighWatermark(leader.highWatermark);
      expect([follower.highWatermark, follower.lastStableOffset]).toEqual([15, 10]);
      expect(follower.lastStableOffset).toBe(leader.lastStableOffset);
      expect(follower.abortedTransactions(0, 15)).toEqual(leader.abortedTransactions(0, 15));
      expect(follower.abortedTransactions(0, 15).map((a) => a.producerId)).toEqual([2, 4]);
      const byId = (l: PartitionLog) => l.producers().sort((a, b) => a.producerId - b.producerId).map((p) => [p.producerId, p.epoch, p.currentTxnStartOffset]);
      expect(byId(follower)).toEqual(byId(leader));
      // The follower becomes the leader: the old epoch stays fenced, the open transaction ends.
      await follower.beginEpoch(1);
      expect(await refusal(follower.append(txn(4, 0, 2)))).toBe("PRODUCER_FENCED");
      await follower.appendMarker(marker(3, 0, true, 1));
      await follower.append(plain());
      follower.advanceHighWatermark(follower.endOffset);
      expect([follower.highWatermark, follower.lastStableOffset]).toEqual([17, 17]);
      await leader.close();
      await follower.close();
    } finally {
      other.cleanup();
    }
  });

  test("after a clean close the aborted transactions come from the .txnindex files, open transactions from the snapshot", async () => {
    env = makeEnv();
    const first = await openLog(env, { clean: true, config: { segmentBytes: 300 } });
    await interleaved(first.log);
    await first.log.append(txn(3, 0, 0)); // open across the restart
    const lso = first.log.lastStableOffset;
    const aborted = first.log.abortedTransactions(0, 100);
    expect(first.log.segmentCount).toBeGreaterThan(1);
    await first.log.close();
    const names = env.fs.readdir(`${env.root}${DIR}`).filter((n) => n.endsWith(".txnindex"));
    expect(names.length).toBe(1);
    const { log } = await openLog(env, { clean: true, config: { segmentBytes: 300 } });
    expect(log.abortedTransactions(0, 100)).toEqual(aborted);
    expect(log.lastStableOffset).toBe(lso);
    await log.appendMarker(marker(3, 0, false));
    expect(log.lastStableOffset).toBe(log.highWatermark);
    expect(log.abortedTransactions(0, 100).length).toBe(2);
    await log.close();
  });

  test("after an unclean stop the active segment's markers are walked again: the same aborted list, the same open transactions", async () => {
    env = makeEnv();
    const first = await openLog(env, { config: { segmentBytes: 300 } });
    await interleaved(first.log);
    await first.log.append(txn(2, 0, 2)); // producer 2 opens another transaction
    await first.log.appendMarker(marker(2, 0, false));
    await first.log.append(txn(1, 0, 4));
    const lso = first.log.lastStableOffset;
    const aborted = first.log.abortedTransactions(0, 1000);
    expect(aborted.length).toBe(2);
    // No close: the process dies with the files as they are.
    const { log } = await openLog(env, { config: { segmentBytes: 300 } });
    expect(log.abortedTransactions(0, 1000)).toEqual(aborted);
    expect(log.lastStableOffset).toBe(lso);
    await log.close();
  });

  test("retention drops the aborted transactions of deleted segments", async () => {
    env = makeEnv();
    const { log, clock } = await openLog(env, { clean: true, config: { segmentBytes: 200, retentionMs: 1000 } });
    await log.append(txn(1, 0, 0));
    await log.appendMarker(marker(1, 0, false));
    for (let i = 0; i < 6; i++) await log.append(plain(3));
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(log.abortedTransactions(0, 100).length).toBe(1);
    clock.advance(10 * 86_400_000);
    log.enforceRetention(NOW + 10 * 86_400_000);
    expect(log.abortedTransactions(0, 100)).toEqual([]);
    await log.close();
  });
});
