// Issue #7: a damaged committed-offsets snapshot loses nothing. The previous snapshot is kept and
// the log reaches back to it, so every row of the open table in offset-store.ts rebuilds the whole
// table: truncations and bit flips of snapshot.json and snapshot.prev.json at seeded positions, in
// the checksummed format and the one before; damage after a crash at any point of a compaction;
// and the real disk. Seeded: the seed is printed on failure, replay with SEED=<n>;
// METADATA_DAMAGE_RUNS sets how many damaged files per kind (test/soak.ts raises it).
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { ManualClock } from "../testing/manual-time.ts";
import type { FileLayer } from "../fs.ts";
import { seededRandom } from "../testing/seed.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { SyncScheduler } from "../log/durability.ts";
import { LAYERS, MemoryLogger, testSeed } from "../testing/log-harness.ts";
import { OffsetStore } from "./offset-store.ts";

const RUNS = Number(process.env.METADATA_DAMAGE_RUNS ?? 200);
const DISK_RUNS = 12;

function open(fs: FileLayer, root: string, logger = new MemoryLogger()) {
  return OffsetStore.open({
    dataDir: root,
    fs,
    clock: new ManualClock(),
    scheduler: new SyncScheduler({ mode: "always" }),
    logger,
    compactRecordsMin: 40,
    segmentBytes: 2048,
  });
}

type Model = Map<string, string>; // "group/topic/partition" → JSON of the committed offset

function tableOf(store: OffsetStore): Model {
  const out: Model = new Map();
  for (const g of store.groups()) for (const [t, byPart] of store.groupOffsets(g)) for (const [p, c] of byPart) out.set(`${g}/${t}/${p}`, JSON.stringify(c));
  return out;
}

/** Commits (and a few deletes) until at least `compactions` snapshots were written; returns the model. */
async function fill(store: OffsetStore, rand: (n: number) => number, model: Model, ops: number): Promise<void> {
  for (let i = 0; i < ops; i++) {
    const group = `g${rand(4)}`;
    if (rand(40) === 0) {
      await store.deleteGroup(group);
      for (const k of [...model.keys()]) if (k.startsWith(`${group}/`)) model.delete(k);
      continue;
    }
    const entries = Array.from({ length: 1 + rand(3) }, () => ({
      topic: ["a", "b", "c"][rand(3)]!,
      partition: rand(4),
      offset: rand(1e6),
      leaderEpoch: rand(5) - 1,
      metadata: rand(3) === 0 ? null : `m${rand(100)} ✓`,
      commitTimestamp: 1_700_000_000_000 + i,
    }));
    await store.commit(group, entries);
    for (const e of entries) {
      model.set(`${group}/${e.topic}/${e.partition}`, JSON.stringify({ offset: e.offset, leaderEpoch: e.leaderEpoch, metadata: e.metadata, commitTimestamp: e.commitTimestamp }));
    }
  }
}

const snap = (root: string) => `${root}/groups/snapshot.json`;
const prev = (root: string) => `${root}/groups/snapshot.prev.json`;

function writeFile(fs: FileLayer, path: string, bytes: Uint8Array): void {
  const f = fs.open(path, { create: true, truncate: true });
  fs.pwrite(f, bytes, 0);
  fs.close(f);
}

/** The same snapshot without its checksum: as written before issue #7. */
function oldFormat(bytes: Uint8Array): Uint8Array {
  const parsed = JSON.parse(new TextDecoder().decode(bytes));
  delete parsed.crc32c;
  return new TextEncoder().encode(JSON.stringify(parsed));
}

function damage(bytes: Uint8Array, rand: (n: number) => number): Uint8Array {
  if (rand(2) === 0) return bytes.slice(0, rand(bytes.length));
  const b = bytes.slice();
  b[rand(b.length)]! ^= 1 << rand(8);
  return b;
}

/** Whether a damaged copy still reads as the same snapshot (a cut of nothing that matters). */
function sameSnapshot(a: Uint8Array, b: Uint8Array): boolean {
  try {
    return JSON.stringify(JSON.parse(new TextDecoder().decode(a))) === JSON.stringify(JSON.parse(new TextDecoder().decode(b)));
  } catch {
    return false;
  }
}

describe.each(LAYERS)("damaged offsets snapshots on %s (issue #7)", (_name, makeEnv) => {
  test("compaction keeps the previous snapshot; the log reaches back to it", async () => {
    const env = makeEnv();
    try {
      const store = await open(env.fs, env.root);
      const model: Model = new Map();
      await fill(store, seededRandom(1), model, 400);
      await store.close();
      const previous = JSON.parse(new TextDecoder().decode(env.fs.readFile(prev(env.root))));
      const newest = JSON.parse(new TextDecoder().decode(env.fs.readFile(snap(env.root))));
      expect(newest.crc32c).toMatch(/^[0-9a-f]{8}$/);
      expect(previous.offset).toBeLessThan(newest.offset);
      const again = await open(env.fs, env.root);
      expect(again.stats.logStart).toBe(previous.offset);
      expect(tableOf(again)).toEqual(model);
      await again.close();
    } finally {
      env.cleanup();
    }
  });

  test.each([
    ["good", "damaged", "", false],
    ["missing", "good", "", false],
    ["damaged", "good", "snapshot.json is damaged", false],
    ["damaged", "missing", "snapshot.json is damaged", true],
    ["damaged", "damaged", "snapshot.prev.json is damaged", true],
    ["missing", "missing", "", true],
  ] as Array<[string, string, string, boolean]>)("snapshot.json %s, snapshot.prev.json %s: open says so and never throws", async (newest, previous, said, lossPossible) => {
    const env = makeEnv();
    try {
      const store = await open(env.fs, env.root);
      const model: Model = new Map();
      await fill(store, seededRandom(2), model, 400);
      await store.close();
      for (const [state, path] of [[newest, snap(env.root)], [previous, prev(env.root)]] as const) {
        if (state === "missing") env.fs.unlink(path);
        if (state === "damaged") writeFile(env.fs, path, env.fs.readFile(path).subarray(0, 10));
      }
      const logger = new MemoryLogger();
      const again = await open(env.fs, env.root, logger);
      const damagedLines = logger.lines.filter((l) => l.includes("is damaged"));
      expect(damagedLines.length).toBe([newest, previous].filter((s) => s === "damaged").length);
      if (said) expect(damagedLines.join("\n")).toContain(said);
      const lost = logger.lines.some((l) => l.includes("records between are lost"));
      expect(lost).toBe(lossPossible && again.stats.logStart > 0);
      if (!lost) expect(tableOf(again)).toEqual(model);
      await again.close();
    } finally {
      env.cleanup();
    }
  });

  test("snapshots from before checksums load; the next compaction keeps the old one as the previous", async () => {
    const env = makeEnv();
    try {
      const store = await open(env.fs, env.root);
      const model: Model = new Map();
      const rand = seededRandom(3);
      await fill(store, rand, model, 400);
      await store.close();
      // A data dir of the version before: one snapshot, no checksum, the log starting at it.
      const before = JSON.parse(new TextDecoder().decode(env.fs.readFile(snap(env.root))));
      writeFile(env.fs, snap(env.root), oldFormat(env.fs.readFile(snap(env.root))));
      env.fs.unlink(prev(env.root));
      const logger = new MemoryLogger();
      const again = await open(env.fs, env.root, logger);
      expect(logger.lines.filter((l) => !l.startsWith("info"))).toEqual([]);
      expect(tableOf(again)).toEqual(model);
      await fill(again, rand, model, 200);
      await again.close();
      const kept = JSON.parse(new TextDecoder().decode(env.fs.readFile(prev(env.root))));
      expect(kept.offset).toBeGreaterThanOrEqual(before.offset);
      expect(JSON.parse(new TextDecoder().decode(env.fs.readFile(snap(env.root)))).crc32c).toBeDefined();
      const third = await open(env.fs, env.root);
      expect(tableOf(third)).toEqual(model);
      await third.close();
    } finally {
      env.cleanup();
    }
  });
});

describe("seeded damage to offsets snapshots (issue #7)", () => {
  for (const [layer, makeEnv] of LAYERS) {
    test(`${layer}: truncations and bit flips of either snapshot, both formats: every committed offset recovered`, async () => {
      const seed = testSeed();
      const rand = seededRandom(seed);
      const env = makeEnv();
      let cases = 0;
      try {
        const store = await open(env.fs, env.root);
        const model: Model = new Map();
        await fill(store, rand, model, 300 + rand(200));
        await store.close();
        const files = { newest: env.fs.readFile(snap(env.root)), previous: env.fs.readFile(prev(env.root)) };
        const runs = layer === "memory" ? RUNS : DISK_RUNS;
        for (let i = 0; i < runs; i++) {
          const checked = i % 2 === 0;
          const which = rand(3) === 0 ? "previous" : "newest";
          const restore = {
            newest: checked ? files.newest : oldFormat(files.newest),
            previous: checked ? files.previous : oldFormat(files.previous),
          };
          const damaged = damage(restore[which], rand);
          writeFile(env.fs, snap(env.root), which === "newest" ? damaged : restore.newest);
          writeFile(env.fs, prev(env.root), which === "previous" ? damaged : restore.previous);
          const logger = new MemoryLogger();
          let again: OffsetStore;
          try {
            again = await open(env.fs, env.root, logger);
          } catch (e) {
            throw new Error(`open threw on case ${i} (${which}, ${checked ? "checksummed" : "old format"}): ${String(e)}`);
          }
          const detected = logger.lines.some((l) => l.includes("is damaged"));
          if (checked || detected || which === "previous") {
            // Checksummed damage is always detected (or harmless); then the other snapshot and the
            // log give everything back. Damage to the previous one never matters.
            if (checked && !sameSnapshot(damaged, restore[which])) expect(detected).toBe(true);
            expect(tableOf(again)).toEqual(model);
          }
          // (Before checksums a flip may pass for another offset: then nothing can be promised.)
          if (checked) expect(logger.lines.some((l) => l.includes("lost"))).toBe(false);
          // Without compacting: closing writes nothing, so the next case starts from the same files.
          await again.close();
          cases++;
        }
        figure(layer, cases);
      } catch (e) {
        console.error(`seeded snapshot damage failed: replay with SEED=${seed}`);
        throw e;
      } finally {
        env.cleanup();
      }
    }, 120_000);
  }

  test("memory: a crash at any point of compaction, then the newest snapshot damaged: nothing acknowledged is lost", async () => {
    const seed = testSeed();
    const rand = seededRandom(seed);
    try {
      for (let round = 0; round < 30; round++) {
        let fs = new MemoryFileLayer();
        let store = await open(fs, "/data");
        const model: Model = new Map();
        await fill(store, rand, model, 100 + rand(300));
        fs = fs.crash(rand(2 ** 31));
        if (fs.stat(snap("/data")) !== null) writeFile(fs, snap("/data"), damage(fs.readFile(snap("/data")), rand));
        const logger = new MemoryLogger();
        store = await open(fs, "/data", logger);
        expect(logger.lines.some((l) => l.includes("lost"))).toBe(false);
        expect(tableOf(store)).toEqual(model);
        await store.close();
      }
    } catch (e) {
      console.error(`crash + damaged snapshot failed: replay with SEED=${seed}`);
      throw e;
    }
  }, 120_000);
});

/** Cases tried, for test/soak.ts (RELIABILITY.md). */
function figure(layer: string, cases: number): void {
  const out = process.env.RELIABILITY_FIGURES;
  if (out) writeFileSync(`${out}.metadata-snapshot-${layer}.json`, JSON.stringify({ cases }));
}
