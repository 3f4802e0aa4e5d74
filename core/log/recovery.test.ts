// Recovery and faults: seeded damage to the last segment keeps exactly the valid prefix and
// reports the cut; simulated power loss keeps every acknowledged append; ENOSPC/EIO leave no
// partial batch. Seeded: the seed is printed on failure, replay with SEED=<n>.
import { afterEach, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { OFF_MAGIC } from "../batch/header.ts";
import { CoreError } from "../errors.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { batchesIn, buildBatch } from "../testing/batch-bytes.ts";
import { type Env, LAYERS, MemoryLogger, openLog, testSeed } from "../testing/log-harness.ts";

const SEG = { segmentBytes: 3000 };

type Damage = { kind: "truncate"; at: number } | { kind: "flip"; at: number; xor: number } | { kind: "garbage"; bytes: number[] };

async function runDamageCase(env: Env, sizes: number[], damage: Damage): Promise<void> {
  // The damage table as written for a file that ends where its data does (the runway has its own tests).
  const { log } = await openLog(env, { config: SEG, runwayBytes: 0 });
  const appended: Array<{ base: number; last: number }> = [];
  for (const [i, n] of sizes.entries()) {
    const r = await log.append(buildBatch({ records: n, valueBytes: 10 + (i % 40), fill: i & 0xff }));
    appended.push({ base: r.baseOffset, last: r.lastOffset });
  }
  // the "process" dies here (no close); now damage the last segment's file
  const last = log.segmentInfos().at(-1)!;
  const path = `${env.root}/t/0/${String(last.baseOffset).padStart(20, "0")}.log`;
  const inLast = appended.filter((b) => b.base >= last.baseOffset);
  const starts: number[] = [];
  let pos = 0;
  for (const b of batchesIn(log.read(last.baseOffset, 1 << 30).chunks)) {
    starts.push(pos);
    pos += b.size;
  }
  expect(starts.length).toBe(inLast.length);
  const size = pos;
  const file = env.fs.open(path);
  let firstBad = inLast.length; // index in inLast of the first batch that must go
  let cutAt: number | null = null;
  let sizeAfter = size;
  if (damage.kind === "truncate" && size > 0) {
    const at = damage.at % size;
    env.fs.truncate(file, at);
    sizeAfter = at;
    firstBad = starts.findLastIndex((s) => s <= at);
    if (starts[firstBad] === at) cutAt = null; // a clean boundary: nothing to cut
    else cutAt = starts[firstBad]!;
  } else if (damage.kind === "flip" && size > 0) {
    const at = damage.at % size;
    const i = starts.findLastIndex((s) => s <= at);
    const inBatch = at - starts[i]!;
    const byte = new Uint8Array(1);
    env.fs.pread(file, byte, at);
    byte[0] = byte[0]! ^ (damage.xor || 1);
    env.fs.pwrite(file, byte, at);
    // partitionLeaderEpoch (bytes 12..15) is outside the CRC and not checked: not damage we can see
    if (inBatch < 12 || inBatch >= 16) {
      firstBad = i;
      cutAt = starts[i]!;
    }
  } else if (damage.kind === "garbage" && damage.bytes.length > 0) {
    env.fs.pwrite(file, new Uint8Array(damage.bytes), size);
    sizeAfter = size + damage.bytes.length;
    // More zeros than a torn header could be are a runway (recovery.ts row 0): dropped, not reported.
    cutAt = damage.bytes.length > OFF_MAGIC && damage.bytes.every((b) => b === 0) ? null : size;
  }
  env.fs.close(file);

  const logger = new MemoryLogger();
  let reopened;
  try {
    reopened = await openLog(env, { config: SEG, logger, runwayBytes: 0 });
  } catch (e) {
    expect(e).toBeInstanceOf(CoreError); // never an untyped error
    throw e;
  }
  const kept = [...appended.filter((b) => b.base < last.baseOffset), ...inLast.slice(0, firstBad)];
  const want = kept.at(-1) ? kept.at(-1)!.last + 1 : 0;
  const got = batchesIn(reopened.log.read(0, 1 << 30).chunks).map((b) => ({ base: b.baseOffset, last: b.lastOffset }));
  expect(got).toEqual(kept);
  expect(reopened.log.endOffset).toBe(want);
  const cuts = reopened.log.recovery.cuts;
  if (cutAt === null) {
    expect(cuts).toEqual([]);
  } else {
    expect(cuts.length).toBe(1);
    expect(cuts[0]).toMatchObject({ file: path, position: cutAt, bytesCut: sizeAfter - cutAt, firstOffsetLost: want, topic: "t", partition: 0 });
    expect(logger.lines.some((l) => l.startsWith("warn recovery: t/0: cut"))).toBe(true);
  }
  // the log takes appends again at the right offset
  const r = await reopened.log.append(buildBatch());
  expect(r.baseOffset).toBe(want);
  await reopened.log.close();
}

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("garbage" as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 200 }) }),
);

describe.each(LAYERS)("recovery on %s", (name, makeEnv) => {
  let env: Env | undefined;
  afterEach(() => env?.cleanup());

  test("seeded damage to the last segment: exactly the valid prefix survives, the cut is reported", async () => {
    const seed = testSeed();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 60 }), damageArb, async (sizes, damage) => {
          env?.cleanup();
          env = makeEnv();
          await runDamageCase(env, sizes, damage);
        }),
        { seed, numRuns: name === "disk" ? 40 : 150 },
      );
    } catch (e) {
      console.error(`recovery property failed: replay with SEED=${seed}`);
      throw e;
    }
  });

  test("a corrupt batch in the middle of an unclean last segment cuts there and deletes nothing else", async () => {
    env = makeEnv();
    await runDamageCase(env, [3, 3, 3, 3, 3], { kind: "flip", at: 200, xor: 0x40 });
  });
});

describe("power loss (MemoryFileLayer.crash)", () => {
  test("every append that resolved survives; the log is a prefix of what was appended", async () => {
    const seed = testSeed();
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 8 }), async (crashSeed, ticks, width) => {
          const disk = new MemoryFileLayer();
          const env: Env = { fs: disk, root: "/data", cleanup() {} };
          const { log } = await openLog(env, { config: { segmentBytes: 1500 } });
          const resolved: number[] = [];
          let next = 0;
          let stop = false;
          const writers = Array.from({ length: width }, async () => {
            while (!stop && next < 200) {
              const i = next++;
              try {
                await log.append(buildBatch({ records: 1 + (i % 3), valueBytes: 40, timestamp: i }));
                if (!stop) resolved.push(i);
              } catch {
                return; // the disk went away under us
              }
            }
          });
          for (let t = 0; t < ticks; t++) await new Promise<void>((r) => setImmediate(r));
          stop = true;
          const rebooted = disk.crash(crashSeed);
          const again = await openLog({ ...env, fs: rebooted }, { config: { segmentBytes: 1500 }, fs: rebooted });
          // baseTimestamp = the append's call index: the log must hold calls 0..n-1, in order
          const got = batchesIn(again.log.read(0, 1 << 30).chunks).map((b) => b.maxTimestamp - (b.lastOffset - b.baseOffset));
          expect(got).toEqual(got.map((_, k) => k));
          for (const i of resolved) expect(i).toBeLessThan(got.length);
          await again.log.close();
        }),
        { seed, numRuns: 120 },
      );
    } catch (e) {
      console.error(`power-loss property failed: replay with SEED=${seed}`);
      throw e;
    }
  });
});

describe("disk errors", () => {
  test("ENOSPC rejects with STORAGE, leaves no partial batch, and the next append works once space is freed", async () => {
    const fs = new MemoryFileLayer();
    const env: Env = { fs, root: "/data", cleanup() {} };
    const { log } = await openLog(env, { runwayBytes: 0 }); // a runway would hold the space for it
    await log.append(buildBatch({ records: 2 }));
    fs.setCapacity(fs.disk.usedBytes() + 50);
    const err = await log.append(buildBatch({ records: 5, valueBytes: 100 })).catch((e) => e);
    expect(err).toBeInstanceOf(CoreError);
    expect(err.code).toBe("STORAGE");
    expect(err.message).toContain("ENOSPC");
    expect([log.endOffset, log.highWatermark]).toEqual([2, 2]);
    const size = fs.stat("/data/t/0/00000000000000000000.log")!.size;
    expect(size).toBe(log.sizeBytes);
    expect(batchesIn(log.read(0, 1 << 20).chunks).length).toBe(1);
    fs.setCapacity(null);
    const r = await log.append(buildBatch({ records: 5, valueBytes: 100 }));
    expect(r.baseOffset).toBe(2);
    expect(batchesIn(log.read(0, 1 << 20).chunks).map((b) => b.baseOffset)).toEqual([0, 2]);
    await log.close();
  });

  test("a runway that cannot be written (ENOSPC) never fails an append: it says so and appends without", async () => {
    const fs = new MemoryFileLayer();
    const env: Env = { fs, root: "/data", cleanup() {} };
    const logger = new MemoryLogger();
    fs.setCapacity(10_000);
    const { log, clock } = await openLog(env, { runwayBytes: 64 * 1024, logger });
    const r = await log.append(buildBatch({ records: 2 }));
    expect(r.baseOffset).toBe(0);
    expect(logger.lines.some((l) => l.startsWith("warn") && l.includes("ENOSPC"))).toBe(true);
    clock.advance(1000);
    expect((await log.append(buildBatch({ records: 2 }))).baseOffset).toBe(2);
    expect(batchesIn(log.read(0, 1 << 20).chunks).map((b) => b.baseOffset)).toEqual([0, 2]);
    await log.close();
    expect(fs.stat("/data/t/0/00000000000000000000.log")!.size).toBe(log.sizeBytes);
  });

  test("a failed fdatasync rejects every append waiting on it and rolls them back", async () => {
    const fs = new MemoryFileLayer();
    const env: Env = { fs, root: "/data", cleanup() {} };
    const { log } = await openLog(env);
    await log.append(buildBatch({ records: 2 }));
    fs.injectFault({ op: "fdatasync", code: "EIO" });
    const results = await Promise.all([log.append(buildBatch()), log.append(buildBatch())].map((p) => p.then(() => "ok", (e: CoreError) => e.code)));
    expect(results).toEqual(["STORAGE", "STORAGE"]);
    expect([log.endOffset, log.highWatermark, log.sizeBytes]).toEqual([2, 2, fs.stat("/data/t/0/00000000000000000000.log")!.size]);
    const r = await log.append(buildBatch());
    expect(r.baseOffset).toBe(2);
    await log.close();
  });

  test("a failed roll rejects the append and the log keeps working", async () => {
    const fs = new MemoryFileLayer();
    const env: Env = { fs, root: "/data", cleanup() {} };
    const { log } = await openLog(env, { config: { segmentBytes: 200 } });
    await log.append(buildBatch({ records: 1, valueBytes: 100 }));
    fs.injectFault({ op: "open", code: "ENOSPC", pathIncludes: ".timeindex" });
    const err = await log.append(buildBatch({ records: 1, valueBytes: 100 })).catch((e) => e);
    expect(err.code).toBe("STORAGE");
    expect(log.endOffset).toBe(1);
    const r = await log.append(buildBatch({ records: 1, valueBytes: 100 }));
    expect(r.baseOffset).toBe(1);
    expect(log.segmentCount).toBe(2);
    await log.close();
  });
});
