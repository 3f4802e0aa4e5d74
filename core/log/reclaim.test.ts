// Regression for issue #7: segments deleted by retention, DeleteRecords or a topic delete were
// unlinked while still mapped (sealed segments are read through Bun.mmap), so their blocks stayed
// allocated until a garbage collection that an idle broker may never run: a full disk stayed
// full after retention or a topic delete. Now the log drops its mappings and collects at once.
import { expect, spyOn, test } from "bun:test";
import { readFileSync } from "node:fs";
import { batchesIn, buildBatch } from "../testing/batch-bytes.ts";
import type { PartitionLog } from "./partition-log.ts";
import { LAYERS, openLog } from "../testing/log-harness.ts";

function deletedMappingsUnder(dir: string): string[] {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes(dir) && l.includes("(deleted)"));
}

function readAll(log: PartitionLog): number {
  return batchesIn(log.read(log.startOffset, 1 << 30).chunks).length;
}

test("retention and DeleteRecords leave no mapping of a deleted segment (issue #7)", async () => {
  const env = LAYERS.find(([name]) => name === "disk")![1]();
  try {
    const { log } = await openLog(env, { config: { segmentBytes: 4096, retentionBytes: 8192 } });
    for (let i = 0; i < 60; i++) await log.append(buildBatch({ records: 4, valueBytes: 200, timestamp: i }));
    // Read everything: every sealed segment gets mapped.
    expect(readAll(log)).toBe(60);
    await new Promise<void>((r) => setImmediate(r));
    const deleted = log.enforceRetention();
    expect(deleted.segmentsDeleted).toBeGreaterThan(3);
    await Promise.resolve(); // the collection runs once per turn, after the pass
    expect(deletedMappingsUnder(env.root)).toEqual([]);
    log.setConfig({ ...log.config, retentionBytes: -1 });
    for (let i = 0; i < 30; i++) await log.append(buildBatch({ records: 4, valueBytes: 200, timestamp: 100 + i }));
    expect(readAll(log)).toBeGreaterThan(0);
    await new Promise<void>((r) => setImmediate(r)); // no stack frame of the read left to pin a view
    expect(log.segmentCount).toBeGreaterThan(3);
    await log.deleteRecordsBefore(log.segmentInfos().at(-2)!.endOffset);
    // The collector scans stacks conservatively, so a stale word may pin a view for one round:
    // the follow-up collection (a second later) must have unmapped it by then.
    const deadline = Date.now() + 3000;
    while (deletedMappingsUnder(env.root).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(deletedMappingsUnder(env.root)).toEqual([]);
    await log.close();
  } finally {
    env.cleanup();
  }
});

test("a retention pass over many logs collects once, not once per log", async () => {
  const envs = [0, 1, 2].map(() => LAYERS.find(([name]) => name === "disk")![1]());
  const gc = spyOn(Bun, "gc");
  try {
    const logs = [];
    for (const env of envs) {
      const { log } = await openLog(env, { config: { segmentBytes: 4096, retentionBytes: 8192 } });
      for (let i = 0; i < 30; i++) await log.append(buildBatch({ records: 4, valueBytes: 200, timestamp: i }));
      logs.push(log);
    }
    gc.mockClear();
    for (const log of logs) expect(log.enforceRetention().segmentsDeleted).toBeGreaterThan(0);
    await Promise.resolve();
    expect(gc).toHaveBeenCalledTimes(1);
    for (const log of logs) await log.close();
  } finally {
    gc.mockRestore();
    for (const env of envs) env.cleanup();
  }
});
