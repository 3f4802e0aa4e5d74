// Offsets committed in a transaction (issue #20): invisible until the transaction commits, gone if
// it aborts, and still pending across a restart and a compaction (the log's records and the
// snapshot's "pending" field), so the coordinator's marker after a restart still commits them.
import { expect, test } from "bun:test";
import type { FileLayer } from "../fs.ts";
import { SyncScheduler } from "../log/durability.ts";
import { silentLogger } from "../log/types.ts";
import { ManualClock } from "../testing/manual-time.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { OffsetStore } from "./offset-store.ts";

function open(fs: FileLayer) {
  return OffsetStore.open({ dataDir: "/data", fs, clock: new ManualClock(), scheduler: new SyncScheduler({ mode: "always" }), logger: silentLogger, compactRecordsMin: 4, segmentBytes: 4096 });
}

const entry = (partition: number, offset: number) => ({ topic: "in", partition, offset, leaderEpoch: -1, metadata: null, commitTimestamp: 0 });

test("pending offsets count on commit, vanish on abort, and survive restarts and compaction", async () => {
  const fs = new MemoryFileLayer();
  let store = await open(fs);
  await store.commit("g", [entry(0, 5)]);
  await store.commitPending("g", 7, [entry(0, 10), entry(1, 3)]);
  await store.commitPending("g", 8, [entry(2, 9)]);
  expect(store.get("g", "in", 0)?.offset).toBe(5);
  expect(store.hasPending("g", "in", 0)).toBe(true);
  expect(store.hasPending("g", "in", 3)).toBe(false);
  await store.close();
  store = await open(fs);
  expect(store.hasPending("g", "in", 1)).toBe(true);
  await store.endTransaction("g", 7, true);
  await store.endTransaction("g", 9, true); // nothing pending: nothing happens
  expect(store.get("g", "in", 0)?.offset).toBe(10);
  expect(store.get("g", "in", 1)?.offset).toBe(3);
  expect(store.hasPending("g", "in", 0)).toBe(false);
  // Compaction writes producer 8's pending offset into the snapshot; the log below it goes.
  for (let i = 0; i < 60; i++) await store.commit("h", [entry(0, i)]);
  await store.close(); // waits for the compactions those started
  store = await open(fs);
  expect(store.stats.logStart).toBeGreaterThan(6); // the pending record itself is gone from the log
  await store.close();
  store = await open(fs);
  expect(store.hasPending("g", "in", 2)).toBe(true);
  await store.endTransaction("g", 8, false);
  expect(store.get("g", "in", 2)).toBeUndefined();
  expect(store.hasPending("g", "in", 2)).toBe(false);
  await store.close();
  store = await open(fs);
  expect(store.get("g", "in", 2)).toBeUndefined();
  expect(store.get("g", "in", 0)?.offset).toBe(10);
  await store.close();
});
