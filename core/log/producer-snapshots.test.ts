// Idempotent producers across restarts of the log (issue #20): the producer state is rebuilt at
// open from snapshots and the log tail (producer-snapshots.ts), so a retry after a clean stop, a
// crash or a power loss gets its first answer, a gap is refused, and nothing is stored twice.
// The rows named are those of producer-snapshots.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { encodeRecordBatch } from "../batch/record-batch.ts";
import { CoreError } from "../errors.ts";
import { PRODUCER_EXPIRATION_MS } from "../limits.ts";
import { ManualClock } from "../testing/manual-time.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { type Env, LAYERS, MemoryLogger, openLog } from "../testing/log-harness.ts";
import type { PartitionLog } from "./partition-log.ts";
import { listSnapshots, snapshotPath } from "./producer-snapshots.ts";

const DIR = "/t/0";
const encoder = new TextEncoder();

/** `records` records of producer `id` from sequence `seq`. */
function idem(id: number, epoch: number, seq: number, records = 2, timestamp?: number): Uint8Array {
  return encodeRecordBatch({
    producerId: id,
    producerEpoch: epoch,
    baseSequence: seq,
    records: Array.from({ length: records }, (_, i) => ({ value: encoder.encode(`${id}/${epoch}/${seq + i}`), timestamp })),
    now: timestamp ?? 1_700_000_000_000,
  });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  return e instanceof CoreError ? e.code : `not refused: ${String(e)}`;
}

/** Appends `n` batches of 2 records of producer 7 (epoch 0) from sequence 0; returns their base offsets. */
async function appendRun(log: PartitionLog, n: number, id = 7): Promise<number[]> {
  const bases: number[] = [];
  for (let i = 0; i < n; i++) bases.push((await log.append(idem(id, 0, i * 2))).baseOffset);
  return bases;
}

describe.each(LAYERS)("producer state across restarts on %s", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  test("after a clean close (snapshot at the end, nothing walked): a retry gets its first offsets; a gap and an old epoch are refused", async () => {
    env = makeEnv();
    const first = await openLog(env, { clean: true });
    await first.log.append(idem(9, 3, 0)); // another producer, newer epoch
    const bases = await appendRun(first.log, 6);
    await first.log.close();
    expect(listSnapshots(env.fs, `${env.root}${DIR}`)).toEqual([14]);
    const { log } = await openLog(env, { clean: true });
    const end = log.endOffset;
    // The last five batches are remembered: each retry is answered with its offsets, stored once.
    for (let i = 1; i < 6; i++) expect(await log.append(idem(7, 0, i * 2))).toMatchObject({ baseOffset: bases[i], duplicate: true });
    // Older than five batches back: not a duplicate it can answer, but never appended either.
    expect(await refusal(log.append(idem(7, 0, 0)))).toBe("OUT_OF_ORDER_SEQUENCE");
    expect(await refusal(log.append(idem(7, 0, 13)))).toBe("OUT_OF_ORDER_SEQUENCE");
    expect(await refusal(log.append(idem(9, 2, 2)))).toBe("PRODUCER_FENCED");
    expect(log.endOffset).toBe(end);
    expect(await log.append(idem(7, 0, 12))).toMatchObject({ baseOffset: end, duplicate: false });
    expect(log.producers().sort((a, b) => a.producerId - b.producerId)).toEqual([
      { producerId: 7, epoch: 0, lastSequence: 13, lastTimestamp: 1_700_000_000_000, coordinatorEpoch: -1, currentTxnStartOffset: -1 },
      { producerId: 9, epoch: 3, lastSequence: 1, lastTimestamp: 1_700_000_000_000, coordinatorEpoch: -1, currentTxnStartOffset: -1 },
    ]);
    await log.close();
  });

  test("after an unclean stop: the state is the newest snapshot (a roll) plus the batches after it", async () => {
    env = makeEnv();
    const first = await openLog(env, { config: { segmentBytes: 400 } });
    const bases = await appendRun(first.log, 12);
    expect(first.log.segmentCount).toBeGreaterThan(2);
    const snapshots = listSnapshots(env.fs, `${env.root}${DIR}`);
    expect(snapshots.length).toBe(2); // the newest two of the rolls
    expect(snapshots.at(-1)!).toBeLessThan(first.log.endOffset);
    // No close: the process dies, the files stay as they are.
    const { log } = await openLog(env, { config: { segmentBytes: 400 } });
    expect(log.recovery.segmentsScanned).toBeGreaterThan(0);
    for (let i = 7; i < 12; i++) expect(await log.append(idem(7, 0, i * 2))).toMatchObject({ baseOffset: bases[i], duplicate: true });
    expect(await refusal(log.append(idem(7, 0, 30)))).toBe("OUT_OF_ORDER_SEQUENCE");
    expect(await log.append(idem(7, 0, 24))).toMatchObject({ baseOffset: 24, duplicate: false });
    await log.close();
  });

  test("the walk reads headers only, batches larger than its buffer too", async () => {
    env = makeEnv();
    const big = (seq: number) => encodeRecordBatch({ producerId: 7, producerEpoch: 0, baseSequence: seq, records: [{ value: new Uint8Array(100_000).fill(seq) }], now: 1_700_000_000_000 });
    const first = await openLog(env);
    for (let seq = 0; seq < 4; seq++) await first.log.append(big(seq));
    await first.log.append(idem(7, 0, 4));
    const { log } = await openLog(env); // unclean: no snapshot, the whole segment walked
    for (let seq = 1; seq < 4; seq++) expect(await log.append(big(seq))).toMatchObject({ baseOffset: seq, duplicate: true });
    expect(await log.append(idem(7, 0, 4))).toMatchObject({ baseOffset: 4, duplicate: true });
    expect(await log.append(idem(7, 0, 6))).toMatchObject({ baseOffset: 6, duplicate: false });
    await log.close();
  });

  test("row 4: without any snapshot the state is rebuilt from the log; a segment older than the expiration is skipped", async () => {
    env = makeEnv();
    const clock = new ManualClock();
    const old = clock.now() - PRODUCER_EXPIRATION_MS - 1000;
    const first = await openLog(env, { config: { segmentBytes: 300 }, clock });
    await first.log.append(idem(1, 0, 0, 16, old)); // a producer whose last batch expired, in a segment of its own
    const bases = await appendRun(first.log, 3);
    await first.log.close();
    expect(first.log.segmentCount).toBe(2);
    const dir = `${env.root}${DIR}`;
    for (const o of listSnapshots(env.fs, dir)) env.fs.unlink(snapshotPath(dir, o));
    const { log } = await openLog(env, { config: { segmentBytes: 300 }, clock, clean: true });
    expect(await log.append(idem(7, 0, 4))).toMatchObject({ baseOffset: bases[2], duplicate: true });
    expect(log.producers().map((p) => p.producerId)).toEqual([7]);
    // The expired producer is unknown: its next batch is taken whatever its sequence (row 1 of producer-state.ts).
    expect(await log.append(idem(1, 0, 99))).toMatchObject({ duplicate: false });
    await log.close();
  });

  test("row 4: without any snapshot only the last two segments are read (a data dir from before snapshots)", async () => {
    env = makeEnv();
    const first = await openLog(env, { config: { segmentBytes: 300 } });
    await first.log.append(idem(8, 0, 0, 16)); // in the first segment, then many more
    const bases = await appendRun(first.log, 12);
    await first.log.close();
    expect(first.log.segmentCount).toBeGreaterThan(3);
    const dir = `${env.root}${DIR}`;
    for (const o of listSnapshots(env.fs, dir)) env.fs.unlink(snapshotPath(dir, o));
    const { log } = await openLog(env, { config: { segmentBytes: 300 }, clean: true });
    expect(log.producers().map((p) => p.producerId)).toEqual([7]);
    expect(await log.append(idem(7, 0, 22))).toMatchObject({ baseOffset: bases[11], duplicate: true });
    await log.close();
  });

  test("row 2: a damaged snapshot is warned about, deleted, and the state rebuilt from an older one and the log", async () => {
    env = makeEnv();
    const first = await openLog(env, { clean: true });
    const bases = await appendRun(first.log, 3);
    await first.log.close();
    const again = await openLog(env, { clean: true });
    bases.push(...(await appendRun(again.log, 0)));
    for (let i = 3; i < 5; i++) bases.push((await again.log.append(idem(7, 0, i * 2))).baseOffset);
    await again.log.close();
    const dir = `${env.root}${DIR}`;
    expect(listSnapshots(env.fs, dir)).toEqual([6, 10]);
    const file = env.fs.open(snapshotPath(dir, 10));
    env.fs.pwrite(file, encoder.encode("{"), 3);
    env.fs.close(file);
    const logger = new MemoryLogger();
    const { log } = await openLog(env, { clean: true, logger });
    expect(logger.lines.some((l) => l.startsWith("warn") && l.includes("00000000000000000010.snapshot is damaged"))).toBe(true);
    expect(listSnapshots(env.fs, dir)).toEqual([6]);
    for (let i = 0; i < 5; i++) expect(await log.append(idem(7, 0, i * 2))).toMatchObject({ baseOffset: bases[i], duplicate: true });
    await log.close();
  });
});

describe("producer state and a lost tail", () => {
  test("row 1: a snapshot past the recovered end is deleted before any append; a retry of a lost batch is appended again", async () => {
    const fs = new MemoryFileLayer();
    const env: Env = { fs, root: "/data", cleanup() {} };
    const first = await openLog(env, { clean: true });
    await appendRun(first.log, 4);
    await first.log.close(); // snapshot at 8
    // The tail is lost after the snapshot was written (a disk that lied about a sync, or a file
    // restored from an older copy): the log ends at 4, the snapshot says 8.
    const logPath = "/data/t/0/00000000000000000000.log";
    const bytes = fs.readFile(logPath);
    const second = encodeRecordBatch({ producerId: 7, producerEpoch: 0, baseSequence: 2, records: [{ value: encoder.encode("7/0/2") }, { value: encoder.encode("7/0/3") }], now: 1_700_000_000_000 });
    const keep = 2 * second.length;
    const file = fs.open(logPath);
    fs.truncate(file, keep);
    fs.close(file);
    expect(bytes.length).toBeGreaterThan(keep);
    fs.unlink("/data/t/0/00000000000000000000.index");
    const logger = new MemoryLogger();
    const { log } = await openLog(env, { logger });
    expect(log.endOffset).toBe(4);
    expect(listSnapshots(fs, "/data/t/0")).toEqual([]);
    expect(fs.durableBytes(snapshotPath("/data/t/0", 8))).toBeNull(); // deleted durably
    expect(logger.lines.some((l) => l.includes("00000000000000000008.snapshot is past the end offset 4: deleted"))).toBe(true);
    // Batches 0 and 1 are in the log: duplicates. Batch 2 (sequence 4) was lost: appended, at 4.
    expect(await log.append(idem(7, 0, 2))).toMatchObject({ baseOffset: 2, duplicate: true });
    expect(await log.append(idem(7, 0, 4))).toMatchObject({ baseOffset: 4, duplicate: false });
    await log.close();
  });

  test("power loss at any moment of an idempotent run: after the boot every acknowledged batch retried is answered, never stored twice", async () => {
    for (let seed = 1; seed <= 60; seed++) {
      let fs = new MemoryFileLayer();
      const env: Env = { fs, root: "/data", cleanup() {} };
      const { log } = await openLog(env, { config: { segmentBytes: 250 + seed * 7 } });
      const acked = new Map<number, number>(); // batch index → base offset
      let stop = false;
      const writing = (async () => {
        // Five in flight at a time, as a producer with max.in.flight 5.
        for (let i = 0; i < 200 && !stop; i += 5) {
          const round = Array.from({ length: 5 }, (_, k) => log.append(idem(7, 0, (i + k) * 2)).then((r) => !stop && acked.set(i + k, r.baseOffset)));
          await Promise.all(round).catch(() => {});
        }
      })();
      for (let t = 0; t < seed * 3; t++) await new Promise<void>((r) => setImmediate(r));
      stop = true;
      fs = fs.crash(seed);
      void writing; // its syncs never finish on the dead disk
      const again = await openLog({ ...env, fs }, { config: { segmentBytes: 250 + seed * 7 }, fs });
      const end = again.log.endOffset;
      expect(end % 2).toBe(0);
      const inLog = end / 2; // batches 0 .. inLog-1 are in the log, at offset 2i
      for (const [i, base] of acked) {
        expect(i).toBeLessThan(inLog);
        expect(base).toBe(2 * i);
        const retry = await again.log.append(idem(7, 0, i * 2)).catch((e: CoreError) => e.code);
        if (i >= inLog - 5) expect(retry).toMatchObject({ baseOffset: base, duplicate: true });
        else expect(retry).toBe("OUT_OF_ORDER_SEQUENCE");
      }
      expect(again.log.endOffset).toBe(end);
      // The producer goes on where the log ends.
      expect(await again.log.append(idem(7, 0, inLog * 2))).toMatchObject({ baseOffset: end, duplicate: false });
      await again.log.close();
    }
  });

  test("a failed sync forgets the batches it did not make durable, in the producer state too: their retry is appended", async () => {
    const fs = new MemoryFileLayer();
    const env: Env = { fs, root: "/data", cleanup() {} };
    const { log } = await openLog(env, { config: { segmentBytes: 300 } });
    await appendRun(log, 5); // rolls: the anchor is a roll's snapshot
    fs.injectFault({ op: "fdatasync", code: "EIO", pathIncludes: ".log" });
    const failed = log.append(idem(7, 0, 10));
    expect(await refusal(failed)).toBe("STORAGE");
    expect(log.endOffset).toBe(10);
    expect(await log.append(idem(7, 0, 10))).toMatchObject({ baseOffset: 10, duplicate: false });
    expect(await log.append(idem(7, 0, 8))).toMatchObject({ baseOffset: 8, duplicate: true });
    await log.close();
  });

  test("a retry of a batch still waiting for its sync is answered only once that sync is done", async () => {
    const fs = new MemoryFileLayer();
    fs.disk.syncTurns = () => 5;
    const env: Env = { fs, root: "/data", cleanup() {} };
    const { log } = await openLog(env);
    const order: string[] = [];
    const original = log.append(idem(7, 0, 0)).then((r) => order.push(`original ${r.baseOffset}`));
    const retry = log.append(idem(7, 0, 0)).then((r) => order.push(`retry ${r.baseOffset} ${r.duplicate}`));
    await Promise.all([original, retry]);
    expect(order).toEqual(["original 0", "retry 0 true"]);
    expect(fs.durableBytes("/data/t/0/00000000000000000000.log")!.length).toBeGreaterThan(0);
    expect(log.endOffset).toBe(2);
    await log.close();
  });
});
