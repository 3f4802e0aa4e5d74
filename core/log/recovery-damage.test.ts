// Issue #7: damage anywhere but the torn tail is kept and reported, never cut. One test per row of
// the decision tables in recovery.ts, a test for damage found by a read (not by recovery), damaged
// index files, and a seeded property over damage kind, place, clean/unclean stop and lost
// indexes. Seeded: the seed is printed on failure, replay with SEED=<n>.
import { afterEach, describe, expect, test } from "bun:test";
import { CoreError } from "../errors.ts";
import { seededRandom } from "../testing/seed.ts";
import type { PartitionLog } from "./partition-log.ts";
import { batchesIn, buildBatch } from "../testing/batch-bytes.ts";
import { type Env, LAYERS, MemoryLogger, openLog, testSeed } from "../testing/log-harness.ts";

const SEG = { segmentBytes: 1200 };
/** Segments with index entries (one per INDEX_INTERVAL_BYTES = 4096 appended). */
const BIG = { segmentBytes: 20_000 };

interface Stored {
  base: number;
  last: number;
  segment: number; // base offset of its segment
  position: number;
  size: number;
  fill: number;
}

interface Built {
  batches: Stored[];
  segments: number[];
  end: number;
}

const pad = (n: number) => String(n).padStart(20, "0");
const logPath = (env: Env, base: number) => `${env.root}/t/0/${pad(base)}.log`;
const indexPath = (env: Env, base: number, ext: "index" | "timeindex") => `${env.root}/t/0/${pad(base)}.${ext}`;

/** Appends `count` batches (a few segments' worth) and returns where each one landed. */
async function build(env: Env, count: number, clean: boolean, sizeOf: (i: number) => number = (i) => 1 + (i % 4), config = SEG): Promise<Built> {
  const { log } = await openLog(env, { runwayBytes: 0, config });
  const appended: Array<{ base: number; last: number; fill: number }> = [];
  for (let i = 0; i < count; i++) {
    const r = await log.append(buildBatch({ records: sizeOf(i), valueBytes: 30 + (i % 7), fill: i & 0xff, timestamp: 1_700_000_000_000 + i * 10 }));
    appended.push({ base: r.baseOffset, last: r.lastOffset, fill: i & 0xff });
  }
  const batches: Stored[] = [];
  for (const seg of log.segmentInfos()) {
    let position = 0;
    for (const b of batchesIn(log.read(seg.baseOffset, 1 << 30).chunks)) {
      if (b.baseOffset >= seg.endOffset) break;
      const a = appended.find((x) => x.base === b.baseOffset)!;
      batches.push({ base: b.baseOffset, last: b.lastOffset, segment: seg.baseOffset, position, size: b.size, fill: a.fill });
      position += b.size;
    }
  }
  expect(batches.length).toBe(count);
  const built = { batches, segments: log.segmentInfos().map((s) => s.baseOffset), end: log.endOffset };
  if (clean) await log.close();
  return built;
}

function flip(env: Env, path: string, at: number, xor = 0x10): void {
  const f = env.fs.open(path);
  const b = new Uint8Array(1);
  env.fs.pread(f, b, at);
  b[0] = b[0]! ^ xor;
  env.fs.pwrite(f, b, at);
  env.fs.close(f);
}

function truncate(env: Env, path: string, size: number): void {
  const f = env.fs.open(path);
  env.fs.truncate(f, size);
  env.fs.close(f);
}

function unlinkIndexes(env: Env, base: number): void {
  env.fs.unlink(indexPath(env, base, "index"));
  env.fs.unlink(indexPath(env, base, "timeindex"));
}

type Outcome = "ok" | "storage" | "gone";

/** What a read at each stored batch gives: the very batch, a STORAGE error, or nothing (cut). */
function readEach(log: PartitionLog, batches: Stored[]): Outcome[] {
  return batches.map((b) => {
    if (b.base >= log.endOffset) return "gone";
    try {
      const got = batchesIn(log.read(b.base, 1).chunks);
      expect(got[0]).toMatchObject({ baseOffset: b.base, lastOffset: b.last });
      return "ok";
    } catch (e) {
      if (e instanceof CoreError && e.code === "STORAGE") return "storage";
      throw e;
    }
  });
}

/** Reads the whole log from its start as a consumer would: offsets served never jump a hole. */
function consumeAll(log: PartitionLog): { served: number[]; refused: number[] } {
  const served: number[] = [];
  const refused: number[] = [];
  let offset = log.startOffset;
  while (offset < log.highWatermark) {
    try {
      const got = batchesIn(log.read(offset, 700).chunks);
      expect(got.length).toBeGreaterThan(0);
      for (const b of got) {
        expect(b.baseOffset).toBe(offset); // contiguous: nothing skipped silently
        served.push(b.baseOffset);
        offset = b.lastOffset + 1;
      }
    } catch (e) {
      if (!(e instanceof CoreError) || e.code !== "STORAGE") throw e;
      refused.push(offset);
      const d = log.damagedRanges().find((r) => offset >= r.firstOffset && offset < r.endOffset);
      expect(d).toBeDefined();
      offset = d!.endOffset; // a consumer told of the damage may skip it on purpose
    }
  }
  return { served, refused };
}

const expectOutcomes = (outcomes: Outcome[], want: (i: number) => Outcome) => expect(outcomes).toEqual(outcomes.map((_, i) => want(i)));

describe.each(LAYERS)("recovery decision table on %s (issue #7)", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  test("row 1: last segment, unclean stop, bad batch → torn tail cut there, reported", async () => {
    env = makeEnv();
    const built = await build(env, 30, false);
    const last = built.segments.at(-1)!;
    const inLast = built.batches.filter((b) => b.segment === last);
    const victim = inLast[Math.floor(inLast.length / 2)]!;
    flip(env, logPath(env, last), victim.position + 40);
    const logger = new MemoryLogger();
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG, logger });
    expect(log.recovery.damaged).toEqual([]);
    expect(log.recovery.cuts).toMatchObject([{ position: victim.position, firstOffsetLost: victim.base, segmentsDeleted: [] }]);
    expect(log.endOffset).toBe(victim.base);
    expectOutcomes(readEach(log, built.batches), (i) => (built.batches[i]!.base < victim.base ? "ok" : "gone"));
    expect(logger.lines.some((l) => l.startsWith("warn recovery: t/0: cut"))).toBe(true);
    await log.close();
  });

  test("row 2: last segment, clean stop, bad batch with nothing valid after → cut, reported", async () => {
    env = makeEnv();
    const built = await build(env, 30, true);
    const lastBatch = built.batches.at(-1)!;
    truncate(env, logPath(env, lastBatch.segment), lastBatch.position + 30);
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG, clean: true });
    expect(log.recovery.damaged).toEqual([]);
    expect(log.recovery.cuts).toMatchObject([{ position: lastBatch.position, firstOffsetLost: lastBatch.base }]);
    expectOutcomes(readEach(log, built.batches), (i) => (i === built.batches.length - 1 ? "gone" : "ok"));
    expect((await log.append(buildBatch())).baseOffset).toBe(lastBatch.base);
    await log.close();
  });

  test("row 3: last segment, clean stop, bad batch with valid batches after → kept, reported, rest readable", async () => {
    env = makeEnv();
    const built = await build(env, 30, true);
    const last = built.segments.at(-1)!;
    const inLast = built.batches.filter((b) => b.segment === last);
    expect(inLast.length).toBeGreaterThanOrEqual(2);
    const victim = inLast[inLast.length - 2]!;
    flip(env, logPath(env, last), victim.position + 61);
    unlinkIndexes(env, last); // so recovery checks it whole
    const logger = new MemoryLogger();
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG, clean: true, logger });
    expect(log.recovery.cuts).toEqual([]);
    expect(log.recovery.damaged).toMatchObject([{ position: victim.position, end: victim.position + victim.size, firstOffset: victim.base, endOffset: victim.last + 1 }]);
    expect(logger.lines.some((l) => l.includes("damaged range kept") && l.includes(`offsets ${victim.base} to ${victim.last}`))).toBe(true);
    expect(log.endOffset).toBe(built.end);
    expectOutcomes(readEach(log, built.batches), (i) => (built.batches[i] === victim ? "storage" : "ok"));
    expect((await log.append(buildBatch())).baseOffset).toBe(built.end);
    await log.close();
    // Reported again at the next open: the damaged segment keeps no index files.
    const again = await openLog(env, { runwayBytes: 0, config: SEG, clean: true });
    expect(again.log.recovery.damaged).toMatchObject([{ firstOffset: victim.base, endOffset: victim.last + 1 }]);
    await again.log.close();
  });

  test("row 4: sealed middle segment, bad batch with valid batches after → kept, later segments intact", async () => {
    env = makeEnv();
    const built = await build(env, 40, false);
    expect(built.segments.length).toBeGreaterThanOrEqual(3);
    const mid = built.segments[1]!;
    const inMid = built.batches.filter((b) => b.segment === mid);
    const victim = inMid[1]!;
    flip(env, logPath(env, mid), victim.position + 8); // the batch length field
    unlinkIndexes(env, mid);
    const logger = new MemoryLogger();
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG, logger });
    expect(log.recovery.cuts).toEqual([]);
    expect(log.recovery.damaged).toMatchObject([{ position: victim.position, end: victim.position + victim.size, firstOffset: victim.base, endOffset: victim.last + 1 }]);
    expect(log.endOffset).toBe(built.end);
    expect(log.segmentCount).toBe(built.segments.length);
    expectOutcomes(readEach(log, built.batches), (i) => (built.batches[i] === victim ? "storage" : "ok"));
    const { refused } = consumeAll(log);
    expect(refused).toEqual([victim.base]);
    await log.close();
  });

  test("row 5: sealed middle segment, nothing valid after the bad batch → kept up to the next segment's base", async () => {
    env = makeEnv();
    const built = await build(env, 40, false);
    const mid = built.segments[1]!;
    const next = built.segments[2]!;
    const inMid = built.batches.filter((b) => b.segment === mid);
    const victim = inMid[inMid.length - 2]!;
    truncate(env, logPath(env, mid), victim.position + 20);
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG });
    expect(log.recovery.cuts).toEqual([]);
    expect(log.recovery.damaged).toMatchObject([{ position: victim.position, end: victim.position + 20, firstOffset: victim.base, endOffset: next }]);
    expectOutcomes(readEach(log, built.batches), (i) => {
      const b = built.batches[i]!;
      return b.segment === mid && b.base >= victim.base ? "storage" : "ok";
    });
    expect(log.endOffset).toBe(built.end);
    await log.close();
  });

  test("row 6: segments that continue each other, clean or not → nothing reported", async () => {
    env = makeEnv();
    const built = await build(env, 40, false);
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG });
    expect([log.recovery.cuts, log.recovery.damaged]).toEqual([[], []]);
    expectOutcomes(readEach(log, built.batches), () => "ok");
    await log.close();
    const again = await openLog(env, { runwayBytes: 0, config: SEG, clean: true });
    expect([again.log.recovery.cuts, again.log.recovery.damaged, again.log.recovery.indexesRebuilt]).toEqual([[], [], []]);
    await again.log.close();
  });

  test("row 7: a whole middle segment lost → its offsets reported missing, the rest readable", async () => {
    env = makeEnv();
    const built = await build(env, 40, true);
    const [first, mid, next] = built.segments as [number, number, number];
    env.fs.unlink(logPath(env, mid));
    unlinkIndexes(env, mid);
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG, clean: true });
    expect(log.recovery.cuts).toEqual([]);
    expect(log.recovery.damaged).toMatchObject([{ firstOffset: mid, endOffset: next, file: logPath(env, first) }]);
    expectOutcomes(readEach(log, built.batches), (i) => (built.batches[i]!.segment === mid ? "storage" : "ok"));
    // A read that ends the first segment stops there rather than jump over the lost offsets.
    const { refused } = consumeAll(log);
    expect(refused).toEqual([mid]);
    await log.close();
  });

  test("row 8: a segment overlapping the previous one → it and every later one cut, reported", async () => {
    env = makeEnv();
    const built = await build(env, 40, true);
    const first = built.segments[0]!;
    // A stray copy of the first segment named as if it started at offset 1.
    const bytes = env.fs.readFile(logPath(env, first));
    const f = env.fs.open(logPath(env, 1), { create: true });
    env.fs.pwrite(f, bytes, 0);
    env.fs.close(f);
    const { log } = await openLog(env, { runwayBytes: 0, config: SEG, clean: true });
    expect(log.recovery.damaged).toEqual([]);
    expect(log.recovery.cuts).toMatchObject([{ firstOffsetLost: 1, position: 0 }]);
    expect(log.recovery.cuts[0]!.segmentsDeleted.length).toBe(built.segments.length); // the stray one + every later one
    await log.close();
  });

  test("damage recovery did not look at (indexes trusted) is found by the first read: STORAGE, logged, reported at next open", async () => {
    env = makeEnv();
    const built = await build(env, 200, true, () => 10, BIG);
    const mid = built.segments[1]!;
    const inMid = built.batches.filter((b) => b.segment === mid);
    const victim = inMid[1]!; // before the segment's first index entry (at 4096 bytes)
    expect(env.fs.stat(indexPath(env, mid, "index"))!.size).toBeGreaterThan(0);
    flip(env, logPath(env, mid), victim.position + 70, 0x01);
    const logger = new MemoryLogger();
    const { log } = await openLog(env, { runwayBytes: 0, config: BIG, clean: true, logger });
    expect(log.recovery.damaged).toEqual([]); // clean stop, valid indexes: not checked at open
    expectOutcomes(readEach(log, built.batches), (i) => (built.batches[i] === victim ? "storage" : "ok"));
    expect(log.damagedRanges()).toMatchObject([{ position: victim.position, firstOffset: victim.base, endOffset: victim.last + 1 }]);
    expect(logger.lines.filter((l) => l.startsWith("error read: t/0: damaged range kept")).length).toBe(1);
    await log.close();
    await new Promise<void>((r) => setImmediate(r));
    expect(env.fs.stat(indexPath(env, mid, "index"))).toBeNull();
    const again = await openLog(env, { runwayBytes: 0, config: BIG, clean: true });
    expect(again.log.recovery.damaged).toMatchObject([{ firstOffset: victim.base, endOffset: victim.last + 1 }]);
    await again.log.close();
  });

  // The first 21 bytes of a batch (baseOffset, length, leader epoch, magic, CRC) are outside its
  // CRC. Damage from the end of the first batch of the log into the next one's header (zeros, say)
  // leaves that one valid by its CRC but claiming baseOffset 0: the offset of the bad batch before it.
  test.each(["recovery", "read"] as const)("damage reaching into the next batch's baseOffset (found by %s) → never served at the bad batch's offsets", async (by) => {
    env = makeEnv();
    const config = by === "read" ? BIG : SEG;
    const built = await build(env, by === "read" ? 200 : 40, true, by === "read" ? () => 10 : undefined, config);
    const [bad, zeroed, after] = built.batches as [Stored, Stored, Stored];
    expect([bad.base, zeroed.segment, after.segment]).toEqual([0, 0, 0]);
    const f = env.fs.open(logPath(env, 0));
    env.fs.pwrite(f, new Uint8Array(10).fill(0xee), bad.size - 10); // `bad` fails its CRC...
    env.fs.pwrite(f, new Uint8Array(8), bad.size); // ...and `zeroed` passes its own, saying baseOffset 0
    env.fs.close(f);
    if (by === "recovery") unlinkIndexes(env, 0); // checked whole at open
    const { log } = await openLog(env, { runwayBytes: 0, config, clean: true });
    if (by === "read") expect(log.recovery.damaged).toEqual([]); // valid indexes: not checked at open
    const outcomes = readEach(log, built.batches);
    expectOutcomes(outcomes, (i) => (i < 2 ? "storage" : "ok"));
    expect(log.damagedRanges()).toMatchObject([{ position: 0, end: after.position, firstOffset: 0, endOffset: after.base }]);
    expect(consumeAll(log).refused).toEqual([0]);
    await log.close();
  });

  test.each(["flip", "truncate", "garbage"] as const)("a damaged .index/.timeindex (%s) is rebuilt or outvoted: every batch still reads back", async (kind) => {
    env = makeEnv();
    const built = await build(env, 200, true, () => 8, BIG);
    for (const base of built.segments.slice(0, -1)) {
      for (const ext of ["index", "timeindex"] as const) {
        const path = indexPath(env, base, ext);
        const size = env.fs.stat(path)!.size;
        expect(size).toBeGreaterThan(0);
        if (kind === "flip" && size > 0) flip(env, path, Math.floor(size / 2), 0x04);
        if (kind === "truncate") truncate(env, path, Math.max(0, size - 3));
        if (kind === "garbage") {
          const f = env.fs.open(path);
          env.fs.pwrite(f, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]), size);
          env.fs.close(f);
        }
      }
    }
    const { log } = await openLog(env, { runwayBytes: 0, config: BIG, clean: true });
    expect([log.recovery.cuts, log.recovery.damaged]).toEqual([[], []]);
    expectOutcomes(readEach(log, built.batches), () => "ok");
    for (const b of built.batches) for (const o of [b.base, b.last]) expect(batchesIn(log.read(o, 1).chunks)[0]!.baseOffset).toBe(b.base);
    if (kind !== "flip") expect(log.recovery.indexesRebuilt.length).toBeGreaterThan(0);
    await log.close();
  });
});

describe("seeded damage anywhere (issue #7)", () => {
  test("only the damaged batches become unreadable; only the unclean tail is ever cut; reads never skip offsets", async () => {
    const seed = testSeed();
    const runs = Number(process.env.DAMAGE_RUNS ?? 200);
    const rand = seededRandom(seed);
    try {
      for (let run = 0; run < runs; run++) {
        const [, makeEnv] = LAYERS[run % 5 === 0 ? 1 : 0]!;
        const env = makeEnv();
        try {
          await oneDamageRun(env, rand);
        } finally {
          env.cleanup();
        }
      }
    } catch (e) {
      console.error(`seeded damage failed: replay with SEED=${seed}`);
      throw e;
    }
  }, 60_000);
});

async function oneDamageRun(env: Env, rand: (n: number) => number): Promise<void> {
  const clean = rand(2) === 0;
  const built = await build(env, 20 + rand(40), clean, () => 1 + rand(6));
  const segIdx = rand(built.segments.length);
  const seg = built.segments[segIdx]!;
  const isLast = segIdx === built.segments.length - 1;
  const path = logPath(env, seg);
  const inSeg = built.batches.filter((b) => b.segment === seg);
  const size = inSeg.reduce((n, b) => n + b.size, 0);
  if (size === 0) return;
  if (rand(3) === 0 && !isLast) unlinkIndexes(env, seg);
  const kind = rand(3);
  const at = rand(size);
  const hit = inSeg.find((b) => at >= b.position && at < b.position + b.size)!;
  if (kind === 0) flip(env, path, at, 1 << rand(8));
  else if (kind === 1) truncate(env, path, at);
  else {
    const f = env.fs.open(path);
    env.fs.pwrite(f, new Uint8Array(1 + rand(100)), at); // zeros over a range
    env.fs.close(f);
  }
  // Zeros from the damaged batch's start to the end of the last segment (its first bytes, the high
  // bytes of a small baseOffset, were zeros already) read as a runway or a batch that never reached
  // the disk (recovery.ts row 0): the log ends there, nothing to report.
  const zeroTail = isLast && kind === 2 && env.fs.readFile(path).subarray(hit.position).every((x) => x === 0);
  const logger = new MemoryLogger();
  let opened;
  try {
    opened = await openLog(env, { runwayBytes: 0, config: SEG, clean, logger });
  } catch (e) {
    expect(e).toBeInstanceOf(CoreError);
    throw e;
  }
  const { log } = opened;
  const outcomes = readEach(log, built.batches);
  consumeAll(log);
  for (const [i, b] of built.batches.entries()) {
    const o = outcomes[i]!;
    if (b.segment !== seg) {
      // Damage never spreads to another segment, except that a cut tail is the last segment.
      expect(o).toBe("ok");
    } else if (b.position + b.size <= at) {
      expect(o).toBe("ok"); // before the damage
    } else if (o === "gone") {
      expect(isLast).toBe(true); // only the tail is cut, and the cut is reported...
      if ((kind === 1 && at === hit.position) || zeroTail) {
        // ...except that a truncation exactly between two batches leaves a file that ends with a
        // whole batch, byte for byte what a log whose later batches were never written holds (a
        // power loss before their sync): no bad batch to cut or report. The log ends there.
        expect([log.recovery.cuts, log.recovery.damaged]).toEqual([[], []]);
        expect(log.endOffset).toBe(hit.base);
      } else {
        expect(log.recovery.cuts.length).toBe(1);
      }
    } else if (o === "storage") {
      // ...and only batches the damage touched (or followed, within a sealed segment) are refused
      expect(kind === 0 ? b === hit : b.position >= hit.position).toBe(true);
    }
  }
  if (!isLast) {
    expect(log.recovery.cuts).toEqual([]);
    expect(log.endOffset).toBe(built.end);
  }
  if (kind === 0 && outcomes.every((o) => o === "ok")) {
    // A flip nobody noticed can only be in partitionLeaderEpoch (bytes 12..15, outside the CRC).
    expect(at - hit.position >= 12 && at - hit.position < 16).toBe(true);
  }
  await log.close();
}
