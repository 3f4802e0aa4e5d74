// The tail cache (tail-cache.ts) inside PartitionLog, on both file layers: tail reads answered
// from memory with no pread, byte for byte what the files hold, under PartitionLog.read's rules;
// the budget held; forgotten batches never served (issue #23).
import { afterEach, describe, expect, test } from "bun:test";
import type { CoreError } from "../errors.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { buildBatch } from "../testing/batch-bytes.ts";
import { type Env, LAYERS, openLog, testSeed, watchedFs } from "../testing/log-harness.ts";
import { seededRandom } from "../testing/seed.ts";
import { TailCacheBudget } from "./tail-cache.ts";

const concat = (chunks: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks));

/** What PartitionLog.read must give, from the batches as appended (offsets patched in place). */
function expectedRead(batches: Array<{ base: number; last: number; bytes: Uint8Array }>, offset: number, maxBytes: number, minOneBatch: boolean, limit: number): Uint8Array {
  const i = batches.findIndex((b) => b.last >= offset);
  if (i < 0 || batches[i]!.base >= limit) return new Uint8Array(0);
  const first = batches[i]!.bytes.length;
  if (!minOneBatch && first > maxBytes) return new Uint8Array(0);
  const cap = Math.max(maxBytes, first);
  const out: Uint8Array[] = [];
  let n = 0;
  for (let k = i; k < batches.length && batches[k]!.last < limit && n + batches[k]!.bytes.length <= cap; k++) {
    out.push(batches[k]!.bytes);
    n += batches[k]!.bytes.length;
  }
  return concat(out);
}

describe.each(LAYERS)("tail cache on %s", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  test("random appends and tail reads: the files' bytes under read's rules, and reads of cached batches take no pread", async () => {
    env = makeEnv();
    const seed = testSeed();
    const rand = seededRandom(seed);
    let preads = 0;
    const counting = watchedFs(env.fs, ["pread"], () => preads++);
    const budget = new TailCacheBudget(1 << 20, 256 * 1024, 16 * 1024);
    const { log } = await openLog(env, { fs: counting, tailCache: budget, runwayBytes: 0 });
    const batches: Array<{ base: number; last: number; bytes: Uint8Array }> = [];
    const pending: Promise<unknown>[] = [];
    let cachedReads = 0;
    try {
      for (let round = 0; round < 600; round++) {
        // Mostly small batches; now and then one larger than a chunk (not cached: the cache restarts after it).
        const big = rand(40) === 0;
        const bytes = buildBatch({ records: 1 + rand(5), valueBytes: big ? 20_000 : 10 + rand(400) });
        const p = log.append(bytes).then((r) => batches.push({ base: r.baseOffset, last: r.lastOffset, bytes }));
        pending.push(p);
        if (pending.length > 1 + rand(4)) await pending.shift();
        const limit = log.highWatermark;
        if (batches.length === 0 || limit === log.startOffset) continue;
        const known = batches.filter((b) => b.last < limit);
        const from = Math.max(0, known.length - 1 - rand(8));
        const offset = known[from]!.base + rand(known[from]!.last - known[from]!.base + 1);
        const maxBytes = rand(3) === 0 ? 1 + rand(200) : 1 + rand(8000);
        const minOneBatch = rand(4) !== 0;
        preads = 0;
        const got = log.read(offset, maxBytes, minOneBatch, limit);
        const want = expectedRead(known, offset, maxBytes, minOneBatch, limit);
        expect({ seed, round, bytes: concat(got.chunks) }).toEqual({ seed, round, bytes: want });
        expect(got.bytes).toBe(want.length);
        if (preads === 0) cachedReads++;
        expect(budget.heldBytes).toBeLessThanOrEqual(256 * 1024);
      }
      await Promise.all(pending);
    } catch (e) {
      console.error(`tail cache seed ${seed} (replay with SEED=${seed})`);
      throw e;
    }
    // Most reads are a few batches from the end: answered from memory.
    expect(cachedReads).toBeGreaterThan(400);
    await log.close();
    expect(budget.heldBytes).toBe(0); // closed: its chunks went back
  });

  test("a tail read of the batch just synced takes no pread; without a budget it takes one", async () => {
    for (const withCache of [true, false]) {
      const e = makeEnv();
      let preads = 0;
      const counting = watchedFs(e.fs, ["pread"], () => preads++);
      const { log } = await openLog(e, { fs: counting, tailCache: withCache ? new TailCacheBudget() : undefined });
      for (let i = 0; i < 50; i++) {
        const r = await log.append(buildBatch({ records: 2, valueBytes: 100 }));
        preads = 0;
        const read = log.read(r.baseOffset, 1 << 20);
        expect(read.bytes).toBeGreaterThan(0);
        expect({ withCache, preads }).toEqual({ withCache, preads: withCache ? 0 : 1 });
      }
      await log.close();
      e.cleanup();
    }
    env = makeEnv();
  });

  test("the budget is shared: logs past it read from their files, and every byte is still right", async () => {
    env = makeEnv();
    // Room for three chunks in all: two logs of two chunks each cannot both have theirs.
    const budget = new TailCacheBudget(3 * 8192, 2 * 8192, 8192);
    const a = await openLog(env, { tailCache: budget });
    const other: Env = { ...env, root: `${env.root}/b` };
    const b = await openLog(other, { tailCache: budget });
    const written: Array<[typeof a.log, Uint8Array]> = [];
    for (let i = 0; i < 200; i++) {
      const log = i % 2 === 0 ? a.log : b.log;
      const bytes = buildBatch({ records: 1, valueBytes: 300 });
      await log.append(bytes);
      written.push([log, bytes]);
      expect(budget.heldBytes).toBeLessThanOrEqual(3 * 8192);
    }
    for (const log of [a.log, b.log]) {
      const mine = written.filter(([l]) => l === log).map(([, bytes]) => bytes);
      expect(concat(log.read(0, 1 << 20).chunks)).toEqual(concat(mine));
      expect(concat(log.read(log.highWatermark - 1, 1 << 20).chunks)).toEqual(mine.at(-1)!);
    }
    await a.log.close();
    await b.log.close();
    expect(budget.heldBytes).toBe(0);
  });
});

test("a failed sync forgets its batches in the cache too: the offsets appended again are served with their new bytes", async () => {
  const fs = new MemoryFileLayer();
  const env: Env = { fs, root: "/data", cleanup() {} };
  const { log } = await openLog(env, { tailCache: new TailCacheBudget() });
  await log.append(buildBatch({ records: 2, fill: 0x61 }));
  fs.injectFault({ op: "fdatasync", code: "EIO" });
  const failed = await log.append(buildBatch({ records: 1, fill: 0x62 })).then(() => "ok", (e: CoreError) => e.code);
  expect(failed).toBe("STORAGE");
  const again = buildBatch({ records: 1, fill: 0x63 });
  expect((await log.append(again)).baseOffset).toBe(2);
  expect(concat(log.read(2, 1 << 20).chunks)).toEqual(again);
  await log.close();
});

test("a roll empties the cache: sealed segments are read from their files", async () => {
  const fs = new MemoryFileLayer();
  const env: Env = { fs, root: "/data", cleanup() {} };
  let preads = 0;
  const counting = watchedFs(fs, ["pread"], () => preads++);
  const { log } = await openLog(env, { fs: counting, tailCache: new TailCacheBudget(), config: { segmentBytes: 1000 } });
  const all: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    const bytes = buildBatch({ records: 1, valueBytes: 200 });
    await log.append(bytes);
    all.push(bytes);
  }
  expect(log.segmentCount).toBeGreaterThan(2);
  expect(concat(log.read(0, 1 << 20).chunks)).toEqual(concat(all));
  preads = 0;
  expect(concat(log.read(log.highWatermark - 1, 1 << 20).chunks)).toEqual(all.at(-1)!);
  expect(preads).toBe(0);
  await log.close();
});
