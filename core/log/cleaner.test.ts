// Log compaction (issue #20, item 4): core/log/cleaner.ts against memory and disk file layers.
// A model of what was appended (key, value, offset) is the oracle: after cleaning, every record
// the log serves is one that was appended at that offset, offsets only rise, and every key's
// latest record is there; in the cleaned part nothing else is. Recovery of cleaned logs (clean
// and unclean opens, the cleaner's leftover files: recovery.ts rows 9 and 10) and a crash at every
// file operation of a pass are checked the same way. Seeded parts print SEED on failure.
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, cpSync, linkSync, readdirSync, rmSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Codec } from "../batch/header.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "../batch/record-batch.ts";
import { type Env, LAYERS, MemoryLogger, openLog, testSeed, watchedFs } from "../testing/log-harness.ts";
import type { ManualClock } from "../testing/manual-time.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { seededRandom } from "../testing/seed.ts";
import { readCleanerCheckpoint, writeCleanerCheckpoint } from "./cleaner-checkpoint.ts";
import { CleanerIo } from "./cleaner-io.ts";
import { type CleanResult, cleanLog } from "./cleaner.ts";
import type { PartitionLog } from "./partition-log.ts";
import type { LogConfig } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const DAY = 24 * 3600 * 1000;

export const COMPACTED: Partial<LogConfig> = {
  segmentBytes: 4096,
  compact: true,
  deleteEnabled: false,
  deleteRetentionMs: DAY,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
};

export interface Appended {
  offset: number;
  key: string;
  value: string | null;
}

/** Appends one batch of [key, value] (value null: a tombstone); returns the records with their offsets. */
export async function appendKeyed(log: PartitionLog, clock: ManualClock, pairs: Array<[string, string | null]>, opts: { codec?: Codec; producerId?: number; epoch?: number; sequence?: number; transactional?: boolean } = {}): Promise<Appended[]> {
  const batch = encodeRecordBatch({
    records: pairs.map(([k, v]) => ({ key: enc.encode(k), value: v === null ? null : enc.encode(v), timestamp: clock.now() })),
    codec: opts.codec ?? Codec.None,
    now: clock.now(),
    producerId: opts.producerId,
    producerEpoch: opts.epoch,
    baseSequence: opts.sequence,
    transactional: opts.transactional,
  });
  const r = await log.append(batch);
  return pairs.map(([key, value], i) => ({ offset: r.baseOffset + i, key, value }));
}

/** Every record a consumer reading from the start gets, checking that offsets only rise. */
export function readAll(log: PartitionLog): Appended[] {
  const out: Appended[] = [];
  let next = log.startOffset;
  while (next < log.highWatermark) {
    const { chunks } = log.read(next, 1 << 20);
    if (chunks.length === 0) break;
    const before = next;
    for (const chunk of chunks) {
      for (const span of iterateBatches(chunk, 0, { verifyCrc: true })) {
        const { header, records } = decodeRecordBatch(span.bytes);
        if (header.attributes & 0x20) {
          next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
          continue;
        }
        for (const r of records) {
          if (r.offset < next) continue;
          out.push({ offset: r.offset, key: dec.decode(r.key!), value: r.value === null ? null : dec.decode(r.value) });
          next = r.offset + 1;
        }
        next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
      }
    }
    if (next === before) throw new Error(`no progress reading at ${next}`);
  }
  for (let i = 1; i < out.length; i++) if (out[i]!.offset <= out[i - 1]!.offset) throw new Error(`offset ${out[i]!.offset} after ${out[i - 1]!.offset}`);
  return out;
}

export function clean(log: PartitionLog, clock: ManualClock, opts: { force?: boolean; io?: CleanerIo; mapBytesMax?: number } = {}): Promise<CleanResult> {
  return cleanLog(log, { io: opts.io ?? new CleanerIo({ bytesPerSecond: 0 }), now: clock.now(), force: opts.force ?? true, mapBytesMax: opts.mapBytesMax });
}

/**
 * The oracle: what `got` may hold given everything `appended` (in offset order). Every record got
 * was appended at its offset with its value; every key's latest record is there unless it is a
 * tombstone; below `cleanedBelow` (the part a pass cleaned) no record is left that a later record
 * of its key also below it supersedes.
 */
export function checkCompacted(got: Appended[], appended: Appended[], cleanedBelow: number, where: string): void {
  const byOffset = new Map(appended.map((a) => [a.offset, a]));
  const latest = new Map<string, Appended>();
  const latestBelow = new Map<string, Appended>();
  for (const a of appended) {
    latest.set(a.key, a);
    if (a.offset < cleanedBelow) latestBelow.set(a.key, a);
  }
  for (const g of got) {
    const a = byOffset.get(g.offset);
    if (a === undefined || a.key !== g.key || a.value !== g.value) throw new Error(`${where}: offset ${g.offset} holds ${g.key}=${g.value}, appended ${a?.key}=${a?.value}`);
    if (g.offset < cleanedBelow && latestBelow.get(g.key)!.offset !== g.offset) throw new Error(`${where}: offset ${g.offset} (${g.key}) is superseded by ${latestBelow.get(g.key)!.offset} but was kept`);
  }
  const gotAt = new Set(got.map((g) => g.offset));
  for (const l of latest.values()) {
    if (l.value !== null && !gotAt.has(l.offset)) throw new Error(`${where}: the latest record of ${l.key} (offset ${l.offset}) is missing`);
  }
}

/** Appends `n` records over `keys` keys in batches of 1–20, some tombstones; returns them. */
export async function fill(log: PartitionLog, clock: ManualClock, rand: (n: number) => number, n: number, keys: number, codec = Codec.None, tombstones = false): Promise<Appended[]> {
  const all: Appended[] = [];
  while (all.length < n) {
    const size = Math.min(n - all.length, 1 + rand(20));
    const pairs: Array<[string, string | null]> = [];
    for (let i = 0; i < size; i++) {
      const k = `k${rand(keys)}`;
      pairs.push([k, tombstones && rand(10) === 0 ? null : `${k}@${all.length + i}-${"x".repeat(rand(30))}`]);
    }
    all.push(...(await appendKeyed(log, clock, pairs, { codec })));
    clock.advance(10);
  }
  return all;
}

describe.each(LAYERS)("cleaner on %s", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  test.each([
    ["none", Codec.None],
    ["zstd", Codec.Zstd],
    ["gzip", Codec.Gzip],
  ] as const)("keeps exactly the latest record per key at its original offset (%s)", async (_c, codec) => {
    env = makeEnv();
    const seed = testSeed();
    const rand = seededRandom(seed);
    const where = `SEED=${seed}`;
    const { log, clock } = await openLog(env, { config: COMPACTED });
    const appended = await fill(log, clock, rand, 3000, 60, codec);
    const before = log.sizeBytes;
    const segmentsBefore = log.segmentCount;
    const r = await clean(log, clock);
    expect(r.cleaned).toBe(true);
    const cleanedBelow = log.segmentInfos().at(-1)!.baseOffset;
    expect(r.firstDirtyOffset).toBe(cleanedBelow);
    const got = readAll(log);
    checkCompacted(got, appended, cleanedBelow, where);
    expect(got.filter((g) => g.offset < cleanedBelow)).toHaveLength(new Set(appended.filter((a) => a.offset < cleanedBelow).map((a) => a.key)).size);
    expect(log.sizeBytes).toBeLessThan(before / 3);
    // Groups are made by the sizes before cleaning (as Kafka's): full segments merge at the next pass.
    expect(log.segmentCount).toBeLessThanOrEqual(segmentsBefore);
    expect(r.recordsBefore - r.recordsAfter).toBe(appended.filter((a) => a.offset < cleanedBelow).length - got.filter((g) => g.offset < cleanedBelow).length);
    // Appends go on; a second pass over a clean log changes nothing it served.
    const more = await fill(log, clock, rand, 500, 60, codec);
    const r2 = await clean(log, clock);
    expect(r2.cleaned).toBe(true);
    const got2 = readAll(log);
    checkCompacted(got2, [...appended, ...more], log.segmentInfos().at(-1)!.baseOffset, where);
    expect(log.segmentCount).toBeLessThan(segmentsBefore / 2);
    // A clean close and open, and an open that recovers (no marker): the same records, nothing reported.
    await log.close();
    const again = await openLog(env, { config: COMPACTED, clean: true, clock });
    expect(readAll(again.log)).toEqual(got2);
    expect(again.log.recovery.damaged).toEqual([]);
    expect(again.log.recovery.cuts).toEqual([]);
    await again.log.close();
    for (const name of env.fs.readdir(`${env.root}/t/0`)) if (name.endsWith(".index") || name.endsWith(".timeindex")) env.fs.unlink(`${env.root}/t/0/${name}`);
    const rebuilt = await openLog(env, { config: COMPACTED, clean: false, clock });
    expect(readAll(rebuilt.log)).toEqual(got2);
    expect(rebuilt.log.recovery.damaged).toEqual([]);
    expect(rebuilt.log.recovery.cuts).toEqual([]);
    await rebuilt.log.close();
  }, 60_000);

  test("tombstones stay delete.retention.ms after their first cleaning, then go with the records they deleted", async () => {
    env = makeEnv();
    const { log, clock } = await openLog(env, { config: { ...COMPACTED, segmentBytes: 300, deleteRetentionMs: 60_000 } });
    const appended: Appended[] = [];
    for (let i = 0; i < 30; i++) appended.push(...(await appendKeyed(log, clock, [[`k${i % 5}`, `v${i}`]])));
    appended.push(...(await appendKeyed(log, clock, [["k1", null]])));
    appended.push(...(await appendKeyed(log, clock, [["k2", null]])));
    for (let i = 0; i < 10; i++) appended.push(...(await appendKeyed(log, clock, [[`z${i}`, `w${i}`]])));
    const r1 = await clean(log, clock);
    expect(r1.tombstonesRemoved).toBe(0);
    const horizon = r1.nextHorizonMs!;
    expect(horizon).toBe(clock.now() + 60_000);
    let got = readAll(log);
    expect(got.filter((g) => g.value === null).map((g) => g.key)).toEqual(["k1", "k2"]);
    expect(got.some((g) => (g.key === "k1" || g.key === "k2") && g.value !== null)).toBe(false);
    // Before the horizon: still there, whatever a pass does.
    clock.advance(59_000);
    await clean(log, clock);
    expect(readAll(log).filter((g) => g.value === null)).toHaveLength(2);
    clock.advance(1_001);
    const r3 = await clean(log, clock);
    expect(r3.tombstonesRemoved).toBe(2);
    got = readAll(log);
    expect(got.some((g) => g.key === "k1" || g.key === "k2")).toBe(false);
    expect(got.filter((g) => g.key === "k0").map((g) => g.value)).toEqual(["v25"]);
    checkCompacted(got, appended, log.segmentInfos().at(-1)!.baseOffset, "tombstones");
    // Record timestamps survive the horizon being written into baseTimestamp.
    await log.close();
  });

  test("min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms decide when a pass runs", async () => {
    env = makeEnv();
    const { log, clock } = await openLog(env, { config: { ...COMPACTED, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 3_600_000 } });
    const rand = seededRandom(7);
    await fill(log, clock, rand, 1500, 1000);
    // Everything is within min.compaction.lag.ms: nothing is cleanable, even when asked.
    expect((await clean(log, clock)).cleaned).toBe(false);
    clock.advance(3_600_001);
    const first = await clean(log, clock, { force: false });
    expect(first.cleaned).toBe(true);
    expect(first.reason).toContain("dirty ratio 1.00");
    // A little more: below the ratio, no pass unless forced.
    await fill(log, clock, rand, 150, 1000);
    clock.advance(3_600_001);
    const low = await clean(log, clock, { force: false });
    expect(low.cleaned).toBe(false);
    expect(low.reason).toContain("below min.cleanable.dirty.ratio");
    // max.compaction.lag.ms forces it once the first dirty segment is that old.
    log.setConfig({ ...log.config, maxCompactionLagMs: 3_600_000 });
    const lag = await clean(log, clock, { force: false });
    expect(lag.cleaned).toBe(true);
    expect(lag.reason).toBe("max.compaction.lag.ms passed");
    await log.close();
  }, 60_000);

  test("a small offset map cleans the dirty part in steps, each correct", async () => {
    env = makeEnv();
    const rand = seededRandom(11);
    const { log, clock } = await openLog(env, { config: COMPACTED });
    const appended = await fill(log, clock, rand, 1500, 300);
    const r = await clean(log, clock, { mapBytesMax: 4000 });
    expect(r.cleaned).toBe(true);
    const end = log.segmentInfos().at(-1)!.baseOffset;
    expect(r.firstDirtyOffset).toBeLessThan(end);
    checkCompacted(readAll(log), appended, 0, "partial");
    for (let i = 0; i < 50 && log.cleanerView().checkpoint.firstDirtyOffset < end; i++) await clean(log, clock, { mapBytesMax: 4000 });
    expect(log.cleanerView().checkpoint.firstDirtyOffset).toBe(end);
    await clean(log, clock);
    checkCompacted(readAll(log), appended, end, "full");
    await log.close();
  }, 60_000);

  test("a reader going through the log while a slow pass swaps segments sees rising offsets and every key's latest record", async () => {
    env = makeEnv();
    const rand = seededRandom(3);
    const { log, clock } = await openLog(env, { config: COMPACTED });
    const appended = await fill(log, clock, rand, 4000, 50);
    const io = new CleanerIo({ bytesPerSecond: 2 * 1024 * 1024 });
    let done = false;
    const pass = clean(log, clock, { io }).finally(() => {
      done = true;
    });
    let reads = 0;
    while (!done) {
      // One consumer from the start, a fetch at a time, each between the pass's steps.
      const got: Appended[] = [];
      let next = 0;
      while (next < log.highWatermark) {
        const { chunks } = log.read(next, 2048);
        for (const chunk of chunks) {
          for (const span of iterateBatches(chunk, 0, { verifyCrc: true })) {
            const { header, records } = decodeRecordBatch(span.bytes);
            for (const r of records) {
              if (r.offset < next) continue;
              got.push({ offset: r.offset, key: dec.decode(r.key!), value: dec.decode(r.value!) });
              next = r.offset + 1;
            }
            next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      checkCompacted(got, appended, 0, `read ${reads}`);
      for (let i = 1; i < got.length; i++) expect(got[i]!.offset).toBeGreaterThan(got[i - 1]!.offset);
      reads++;
    }
    expect((await pass).cleaned).toBe(true);
    expect(reads).toBeGreaterThan(0);
    await log.close();
  }, 60_000);
});

describe("transactions", () => {
  test("aborted data goes, committed data is compacted, markers stay until their transaction is empty and their horizon passed", async () => {
    const env = LAYERS[0]![1]();
    const { log, clock } = await openLog(env, { config: { ...COMPACTED, segmentBytes: 400, deleteRetentionMs: 1000 } });
    // Markers as the transaction coordinator writes them (no sequence): appended as a follower
    // appends, which checks no sequence.
    const marker = async (producerId: number, type: 0 | 1) => {
      const key = new Uint8Array([0, 0, 0, type]);
      const batch = encodeRecordBatch({ records: [{ key, value: new Uint8Array([0, 0, 0, 0, 0, 0]), timestamp: clock.now() }], producerId, producerEpoch: 0, baseSequence: -1, transactional: true, control: true, now: clock.now(), baseOffset: log.endOffset, partitionLeaderEpoch: 0 });
      await log.appendReplica(batch);
    };
    const appended: Appended[] = [];
    appended.push(...(await appendKeyed(log, clock, [["a", "a0"], ["b", "b0"]])));
    const aborted = await appendKeyed(log, clock, [["a", "a-aborted"], ["c", "c-aborted"]], { producerId: 7, epoch: 0, sequence: 0, transactional: true });
    await marker(7, 0);
    const committed = await appendKeyed(log, clock, [["b", "b1"], ["d", "d1"]], { producerId: 8, epoch: 0, sequence: 0, transactional: true });
    await marker(8, 1);
    appended.push(...committed);
    for (let i = 0; i < 20; i++) appended.push(...(await appendKeyed(log, clock, [[`z${i}`, `z${i}`]])));
    // An open transaction: nothing from its first batch on is cleaned.
    const open = await appendKeyed(log, clock, [["e", "e-open"]], { producerId: 9, epoch: 0, sequence: 0, transactional: true });
    for (let i = 0; i < 20; i++) await appendKeyed(log, clock, [[`y${i}`, `y${i}`]]);
    const r = await clean(log, clock);
    expect(r.abortedRemoved).toBe(2);
    expect(r.firstDirtyOffset).toBeLessThanOrEqual(open[0]!.offset);
    const got = readAll(log);
    expect(got.some((g) => g.value?.includes("aborted"))).toBe(false);
    expect(got.find((g) => g.key === "b")!.value).toBe("b1");
    expect(got.find((g) => g.key === "a")!.value).toBe("a0");
    expect(got.find((g) => g.key === "e")!.value).toBe("e-open");
    const markers = () => {
      let n = 0;
      for (let next = log.startOffset; next < log.highWatermark; ) {
        const { chunks } = log.read(next, 1 << 20);
        if (chunks.length === 0) break;
        for (const c of chunks) for (const s of iterateBatches(c)) {
          const h = decodeRecordBatch(s.bytes).header;
          if (h.attributes & 0x20) n++;
          next = h.baseOffset + h.lastOffsetDelta + 1;
        }
      }
      return n;
    };
    // The abort marker stays this pass (its data was just removed), the commit marker too (its data is there).
    expect(markers()).toBe(2);
    await clean(log, clock); // abort marker: its transaction is empty now, horizon set
    clock.advance(1001);
    await clean(log, clock);
    // Both stay: the commit marker while b1 and d1 are in the log, and the abort marker because
    // producer 7's last data batch is kept (emptied) for its producer state, as Kafka keeps it
    // (a marker is not a producer's last data batch, so the log's producer state, which knows
    // markers since issue #20's transactions, keeps pointing at the aborted batch), and Kafka
    // keeps an abort marker while a batch of its transaction is observed (lastObservedBatchOffset).
    expect(markers()).toBe(2);
    checkCompacted(readAll(log).filter((g) => !["e"].includes(g.key) && !g.key.startsWith("y")), appended, 0, "txn");
    await log.close();
  });
});

describe("the cleaner's I/O bound and thread share (cleaner-io.ts)", () => {
  test("bytes beyond the burst wait at the stated rate; each slice of work is followed by its share of rest", async () => {
    let t = 0;
    let slept = 0;
    const io = new CleanerIo({
      bytesPerSecond: 1024 * 1024,
      threadShare: 0.5,
      now: () => t,
      sleep: async (ms) => {
        slept += ms;
        t += ms;
      },
    });
    // 10 MiB at 1 MiB/s with a burst of 2 MiB (CLEANER_READ_BYTES): 8 s of waiting, in 64 KiB takes.
    for (let i = 0; i < 160; i++) await io.take(64 * 1024);
    expect(slept).toBeGreaterThan(7_900);
    expect(slept).toBeLessThan(8_100);
    // A slice of work (4 ms) then as long at rest; a shorter one does not rest.
    slept = 0;
    t += 1;
    await io.maybeYield();
    expect(slept).toBe(0);
    t += 5;
    await io.maybeYield();
    expect(slept).toBeGreaterThanOrEqual(5);
    io.stopped = true;
    await expect(io.take(1)).rejects.toThrow("the log cleaner stopped");
  });
});

describe("replication", () => {
  test("a follower copies a cleaned leader's batches, gaps and all, and opens them again without damage", async () => {
    const env = LAYERS[0]![1]();
    const rand = seededRandom(5);
    const leader = await openLog({ ...env, root: "/leader" }, { config: COMPACTED });
    const appended = await fill(leader.log, leader.clock, rand, 2000, 40);
    await clean(leader.log, leader.clock);
    const follower = await openLog({ ...env, root: "/follower" }, { config: COMPACTED, clock: leader.clock });
    // As the replica fetcher does: whole stored batches from the follower's end, appended as they are.
    let next = 0;
    while (next < leader.log.highWatermark) {
      const { chunks } = leader.log.read(next, 64 * 1024);
      expect(chunks.length).toBeGreaterThan(0);
      for (const chunk of chunks) {
        for (const span of iterateBatches(chunk, 0, { verifyCrc: true })) {
          const header = decodeRecordBatch(span.bytes).header;
          if (header.baseOffset + header.lastOffsetDelta < next) continue;
          await follower.log.appendReplica(span.bytes.slice());
          next = header.baseOffset + header.lastOffsetDelta + 1;
        }
      }
    }
    const want = readAll(leader.log);
    expect(readAll(follower.log)).toEqual(want);
    checkCompacted(want, appended, 0, "leader");
    await follower.log.close();
    const again = await openLog({ ...env, root: "/follower" }, { config: COMPACTED, clean: false, clock: leader.clock });
    expect(again.log.recovery.damaged).toEqual([]);
    expect(again.log.recovery.cuts).toEqual([]);
    expect(readAll(again.log)).toEqual(want);
    await again.log.close();
    await leader.log.close();
  });
});

describe("a log's own transaction view", () => {
  test("replaces the walk of the batches: its aborted ranges are removed, its last stable offset bounds the pass", async () => {
    const env = LAYERS[0]![1]();
    const { log, clock } = await openLog(env, { config: { ...COMPACTED, segmentBytes: 400 } });
    await appendKeyed(log, clock, [["a", "a0"], ["b", "b0"]]);
    // Producer 7's transaction has no marker in this log: the walk alone would call it open.
    const txn = await appendKeyed(log, clock, [["a", "a-txn"], ["c", "c-txn"]], { producerId: 7, epoch: 0, sequence: 0, transactional: true });
    const filler: Appended[] = [];
    for (let i = 0; i < 30; i++) filler.push(...(await appendKeyed(log, clock, [[`z${i}`, `z${i}`]])));
    const io = new CleanerIo({ bytesPerSecond: 0 });
    // An LSO at filler[10]: nothing from there on is cleaned.
    const lso = filler[10]!.offset;
    const bounded = await cleanLog(log, { io, now: clock.now(), force: true, transactions: () => ({ any: true, firstOpenOffset: lso, isAborted: (pid) => pid === 7 }) });
    expect(bounded.abortedRemoved).toBe(2);
    expect(bounded.firstDirtyOffset).toBeLessThanOrEqual(lso);
    expect(readAll(log).some((g) => g.value?.endsWith("-txn"))).toBe(false);
    expect(readAll(log).find((g) => g.key === "a")!.value).toBe("a0");
    // Without the view, the walk finds producer 7's transaction open and cleans nothing past it.
    const { log: other, clock: c2 } = await openLog({ ...env, root: "/other" }, { config: { ...COMPACTED, segmentBytes: 400 } });
    await appendKeyed(other, c2, [["a", "a0"]]);
    const open = await appendKeyed(other, c2, [["a", "a-txn"]], { producerId: 7, epoch: 0, sequence: 0, transactional: true });
    for (let i = 0; i < 30; i++) await appendKeyed(other, c2, [[`z${i}`, `z${i}`]]);
    const walked = await cleanLog(other, { io, now: c2.now(), force: true });
    expect(walked.abortedRemoved).toBe(0);
    expect(walked.firstDirtyOffset).toBeLessThanOrEqual(open[0]!.offset);
    expect(readAll(other).filter((g) => g.key === "a").map((g) => g.value)).toEqual(["a0", "a-txn"]);
    expect(txn).toHaveLength(2);
    await log.close();
    await other.close();
  });
});

describe("recovery of a pass's files, each state built by hand (recovery.ts rows 9 and 10, on disk)", () => {
  // old: the log before the pass (4 KiB segments: A, B, C, … and the active one); cleaned: the same
  // after one pass that grouped every sealed segment into one (segment.bytes raised for it), so the
  // cleaned X.log replaces A and every later sealed segment. Each state is old's files plus what a
  // pass cut short leaves, with the cleaner checkpoint as the pass had written it before any swap.
  const states: Array<[string, "old" | "cleaned", (dir: string, cleanedLog: string, x: string, replaced: string[]) => void]> = [
    ["row 9: X.log.cleaned whole, not committed", "old", (dir, cleanedLog, x) => copyFileSync(cleanedLog, join(dir, `${x}.log.cleaned`))],
    ["row 9: X.log.cleaned cut short", "old", (dir, cleanedLog, x) => {
      copyFileSync(cleanedLog, join(dir, `${x}.log.cleaned`));
      truncateSync(join(dir, `${x}.log.cleaned`), 100);
    }],
    ["row 10: X.log.swap committed, nothing replaced yet", "cleaned", (dir, cleanedLog, x) => copyFileSync(cleanedLog, join(dir, `${x}.log.swap`))],
    ["row 10: X's indexes and some replaced segments deleted", "cleaned", (dir, cleanedLog, x, replaced) => {
      copyFileSync(cleanedLog, join(dir, `${x}.log.swap`));
      for (const f of [`${x}.index`, `${x}.timeindex`, ...replaced.slice(0, 1).map((r) => `${r}.log`)]) rmSync(join(dir, f), { force: true });
    }],
    ["row 10: every replaced segment and X.log deleted", "cleaned", (dir, cleanedLog, x, replaced) => {
      copyFileSync(cleanedLog, join(dir, `${x}.log.swap`));
      for (const f of [`${x}.log`, ...replaced.map((r) => `${r}.log`)]) unlinkSync(join(dir, f));
    }],
    ["row 10: the last rename cut short, X.log a second name of X.log.swap", "cleaned", (dir, cleanedLog, x, replaced) => {
      for (const f of [`${x}.log`, ...replaced.map((r) => `${r}.log`)]) unlinkSync(join(dir, f));
      copyFileSync(cleanedLog, join(dir, `${x}.log.swap`));
      linkSync(join(dir, `${x}.log.swap`), join(dir, `${x}.log`));
    }],
  ];

  test.each(states)("%s: the %s segments are what opens", async (_name, expected, make) => {
    const env = LAYERS[1]![1]();
    try {
      const rand = seededRandom(21);
      const { log, clock } = await openLog(env, { config: COMPACTED });
      const appended = await fill(log, clock, rand, 1200, 30, Codec.None, true);
      const oldRead = readAll(log);
      await log.close();
      const dir = join(env.root, "t", "0");
      const cleanedRoot = `${env.root}-cleaned`;
      cpSync(env.root, cleanedRoot, { recursive: true });
      const cleanedEnv: Env = { fs: env.fs, root: cleanedRoot, cleanup() {} };
      const c = await openLog(cleanedEnv, { config: { ...COMPACTED, segmentBytes: 1 << 20 }, clean: true, clock });
      const before = c.log.segmentInfos().map((i) => i.baseOffset);
      const r = await clean(c.log, clock);
      expect(r.segmentsAfter).toBe(1);
      const cleanedRead = readAll(c.log);
      await c.log.close();
      const cdir = join(cleanedRoot, "t", "0");
      const stem = (b: number) => String(b).padStart(20, "0");
      const x = stem(before[0]!);
      const replaced = before.slice(1, r.segmentsBefore).map(stem);
      expect(replaced.length).toBeGreaterThan(1);
      // The state: old's files, the checkpoint as the pass wrote it first (gaps accepted up to the
      // group's end, nothing clean yet: firstDirtyOffset is raised after the last swap), and the pass's leftovers.
      const written = readCleanerCheckpoint(env.fs, cdir, () => {});
      await writeCleanerCheckpoint(env.fs, dir, { firstDirtyOffset: 0, gapsUpTo: written.gapsUpTo });
      make(dir, join(cdir, `${x}.log`), x, replaced);
      const logger = new MemoryLogger();
      const again = await openLog(env, { config: COMPACTED, clean: false, clock, logger });
      expect(again.log.recovery.damaged).toEqual([]);
      expect(again.log.recovery.cuts).toEqual([]);
      const got = readAll(again.log);
      expect(got).toEqual(expected === "old" ? oldRead : cleanedRead);
      checkCompacted(got, appended, 0, _name);
      expect(readdirSync(dir).filter((f) => f.endsWith(".cleaned") || f.endsWith(".swap"))).toEqual([]);
      expect(expected === "old" ? again.log.recovery.cleanerFilesRemoved : again.log.recovery.cleanerSwapsCompleted).toHaveLength(1);
      // And a pass over what opened works.
      await clean(again.log, clock);
      checkCompacted(readAll(again.log), appended, again.log.segmentInfos().at(-1)!.baseOffset, `${_name}, then cleaned`);
      await again.log.close();
      rmSync(cleanedRoot, { recursive: true, force: true });
    } finally {
      env.cleanup();
    }
  }, 60_000);
});

describe("the cleaner checkpoint (cleaner-checkpoint.ts rows 1–3)", () => {
  test.each([
    ["missing", null],
    ["damaged", "{\"version\":1,\"firstDirtyOffset\":"],
    ["of the wrong shape", "{\"version\":1}"],
  ] as const)("%s after a pass: the log opens whole, gaps accepted in its sealed segments, and the next pass cleans it again", async (_name, content) => {
    const env = LAYERS[0]![1]();
    const rand = seededRandom(31);
    const { log, clock } = await openLog(env, { config: COMPACTED });
    const appended = await fill(log, clock, rand, 1500, 40);
    await clean(log, clock);
    const want = readAll(log);
    await log.close();
    const path = `${env.root}/t/0/cleaner-checkpoint`;
    if (content === null) env.fs.unlink(path);
    else {
      const f = env.fs.open(path, { create: true, truncate: true });
      env.fs.pwrite(f, new TextEncoder().encode(content), 0);
      env.fs.close(f);
    }
    const logger = new MemoryLogger();
    const again = await openLog(env, { config: COMPACTED, clean: false, clock, logger });
    // Damaged (row 3) warns; missing on a compacted topic (row 1) accepts the gaps quietly.
    expect(logger.lines.some((l) => l.includes("cleaner-checkpoint is damaged"))).toBe(content !== null);
    expect(again.log.recovery.damaged).toEqual([]);
    expect(again.log.recovery.cuts).toEqual([]);
    expect(readAll(again.log)).toEqual(want);
    const r = await clean(again.log, clock);
    expect(r.cleaned).toBe(true);
    checkCompacted(readAll(again.log), appended, again.log.segmentInfos().at(-1)!.baseOffset, _name);
    await again.log.close();
  });
});

describe("crash safety", () => {
  /** The file operations of one pass, in order, on a fresh log built from `seed`. */
  async function build(seed: number, fs: MemoryFileLayer) {
    const rand = seededRandom(seed);
    const env: Env = { fs, root: "/data", cleanup() {} };
    const { log, clock } = await openLog(env, { config: { ...COMPACTED, segmentBytes: 1024 }, runwayBytes: 0 });
    const appended = await fill(log, clock, rand, 250, 15, rand(2) === 0 ? Codec.Zstd : Codec.None, true);
    return { log, clock, appended };
  }

  test("a power loss at any file operation of a pass leaves the old segments or the new ones (recovery rows 9 and 10)", async () => {
    const seed = testSeed();
    // How many operations a whole pass makes.
    const kinds: string[] = [];
    {
      const fs = new MemoryFileLayer();
      const { log, clock } = await build(seed, fs);
      const watched = watchedFs(fs, ["pwrite", "fdatasync", "fsyncDir", "rename", "unlink", "open"], (name) => kinds.push(name));
      (log as unknown as { deps: { fs: unknown } }).deps.fs = watched;
      await clean(log, clock);
    }
    const ops = kinds.length;
    expect(ops).toBeGreaterThan(10);
    // Every operation that changes what is durable or named (syncs, renames, unlinks); of the
    // writes and opens, which only add unsynced bytes or files, one in four (seeded).
    const pick = seededRandom(seed ^ 0x5eed);
    const points = kinds.map((k, i) => (k === "pwrite" || k === "open" ? (pick(4) === 0 ? i + 1 : 0) : i + 1)).filter((at) => at > 0);
    let swapsCompleted = 0;
    let cleanedRemoved = 0;
    for (const at of points) {
      const fs = new MemoryFileLayer();
      const { log, clock, appended } = await build(seed, fs);
      let n = 0;
      let rebooted: MemoryFileLayer | null = null;
      // A sync in flight when the power goes never completes: the pass is left behind at the crash.
      let crashed!: () => void;
      const power = new Promise<void>((resolve) => (crashed = resolve));
      const watched = watchedFs(fs, ["pwrite", "fdatasync", "fsyncDir", "rename", "unlink", "open"], () => {
        if (++n === at) {
          rebooted = fs.crash(seed + at);
          crashed();
        }
      });
      (log as unknown as { deps: { fs: unknown } }).deps.fs = watched;
      await Promise.race([clean(log, clock).catch(() => {}), power]);
      expect(rebooted).not.toBeNull();
      const env: Env = { fs: rebooted!, root: "/data", cleanup() {} };
      const logger = new MemoryLogger();
      const again = await openLog(env, { config: { ...COMPACTED, segmentBytes: 1024 }, clean: false, logger, clock });
      const where = `SEED=${seed}, crash at operation ${at} of ${ops}`;
      expect(again.log.recovery.damaged, where).toEqual([]);
      expect(again.log.recovery.cuts, where).toEqual([]);
      checkCompacted(readAll(again.log), appended, 0, where);
      swapsCompleted += again.log.recovery.cleanerSwapsCompleted?.length ?? 0;
      cleanedRemoved += again.log.recovery.cleanerFilesRemoved?.length ?? 0;
      expect(rebooted!.readdir("/data/t/0").filter((f) => f.includes(".cleaned") || f.includes(".swap")), where).toEqual([]);
      // The next pass over what recovery left works and is right.
      await clean(again.log, clock);
      checkCompacted(readAll(again.log), appended, again.log.segmentInfos().at(-1)!.baseOffset, `${where}, then cleaned`);
      await again.log.close();
    }
    // The interesting rows were met.
    expect(swapsCompleted).toBeGreaterThan(0);
    expect(cleanedRemoved).toBeGreaterThan(0);
  }, 120_000);
});
