// The committed-offsets store under simulated power loss: whatever a commit acknowledged is there
// after a crash at any point (seeded; replay with SEED=), compaction keeps the log bounded, and
// deletes of groups and topics are as durable as commits.
import { expect, test } from "bun:test";
import { prng, withSeedAsync } from "../batch/test-seed.ts";
import { ManualClock } from "../clock.ts";
import { type FileLayer, MemoryFileLayer } from "../fs.ts";
import { SyncScheduler } from "../log/durability.ts";
import { silentLogger } from "../log/types.ts";
import { OffsetStore } from "./offset-store.ts";

function open(fs: FileLayer) {
  return OffsetStore.open({
    dataDir: "/data",
    fs,
    clock: new ManualClock(),
    scheduler: new SyncScheduler({ mode: "always" }),
    logger: silentLogger,
    compactRecordsMin: 40,
    segmentBytes: 4096,
  });
}

type Model = Map<string, number>; // "group/topic/partition" → offset

function snapshot(store: OffsetStore): Model {
  const out: Model = new Map();
  for (const g of store.groups()) for (const [t, byPart] of store.groupOffsets(g)) for (const [p, c] of byPart) out.set(`${g}/${t}/${p}`, c.offset);
  return out;
}

test("acknowledged commits and deletes survive a crash at any point; compaction bounds the log", async () => {
  await withSeedAsync("offset store crash", async (seed) => {
    const rand = prng(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    let fs = new MemoryFileLayer();
    let store = await open(fs);
    const model: Model = new Map();
    for (let round = 0; round < 3; round++) {
      const ops = 150 + Math.floor(rand() * 150);
      for (let i = 0; i < ops; i++) {
        const r = rand();
        const group = pick(["g0", "g1", "g2", "g3"]);
        if (r < 0.03) {
          await store.deleteGroup(group);
          for (const k of [...model.keys()]) if (k.startsWith(`${group}/`)) model.delete(k);
        } else if (r < 0.05) {
          const topic = pick(["a", "b"]);
          await store.deleteTopic(topic);
          for (const k of [...model.keys()]) if (k.split("/")[1] === topic) model.delete(k);
        } else {
          const entries = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ({ topic: pick(["a", "b"]), partition: Math.floor(rand() * 3), offset: Math.floor(rand() * 1e6), leaderEpoch: -1, metadata: null, commitTimestamp: 0 }));
          await store.commit(group, entries);
          for (const e of entries) model.set(`${group}/${e.topic}/${e.partition}`, e.offset);
        }
      }
      expect(snapshot(store)).toEqual(model);
      // In flight at the crash: may or may not survive, but never disturb what was acknowledged.
      const inflight = { topic: "c", partition: 0, offset: 1, leaderEpoch: -1, metadata: null, commitTimestamp: 0 };
      void store.commit("g-inflight", [inflight]).catch(() => {});
      fs = fs.crash(Math.floor(rand() * 2 ** 31));
      store = await open(fs);
      const got = snapshot(store);
      got.delete("g-inflight/c/0");
      expect(got).toEqual(model);
      // Compaction ran: the log holds a few small segments, not one per 40 records.
      expect(store.stats.segments).toBeLessThanOrEqual(8);
      expect(store.stats.logStart).toBeGreaterThan(0);
    }
    await store.close();
  });
});

test("a clean close and reopen keeps everything, including metadata and leader epochs", async () => {
  const fs = new MemoryFileLayer();
  const store = await open(fs);
  await store.commit("g", [{ topic: "t", partition: 2, offset: 42, leaderEpoch: 7, metadata: "meta ✓", commitTimestamp: 123 }]);
  await store.close();
  const again = await open(fs);
  expect(again.get("g", "t", 2)).toEqual({ offset: 42, leaderEpoch: 7, metadata: "meta ✓", commitTimestamp: 123 });
  await again.close();
});
