// The broker's log cleaner (core/broker/cleaning.ts): compactTopic on demand, the refusal of a
// topic without compact, one pass at a time, and a close in the middle of a pass (the pass ends at
// its next read or write, the log is as it was, no cleaned file is left). On the memory disk.
import { expect, test } from "bun:test";
import { encodeRecordBatch, iterateBatches } from "../batch/record-batch.ts";
import { CoreError } from "../errors.ts";
import type { Logger } from "../log/types.ts";
import { ManualClock, ManualTimers } from "../testing/manual-time.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { Broker } from "./broker.ts";

class Lines implements Logger {
  lines: string[] = [];
  info(m: string): void {
    this.lines.push(m);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
}

const enc = new TextEncoder();

function open(fs: MemoryFileLayer, clock: ManualClock, log = new Lines(), ioBytesPerSecond = 0): Promise<Broker> {
  return Broker.open({ dataDir: "/data", fsync: { mode: "always" }, autoCreateTopics: false, defaultPartitions: 1, cleaner: { ioBytesPerSecond, background: false } }, log, { fs, clock, timers: new ManualTimers(clock), lock: false });
}

async function fill(b: Broker, topic: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    const batch = encodeRecordBatch({ records: Array.from({ length: 10 }, (_, j) => ({ key: enc.encode(`k${(i + j) % 20}`), value: enc.encode(`v${i + j}-${"x".repeat(40)}`) })) });
    await b.append(topic, 0, batch, { allowZstd: true }).result;
  }
}

/** Every stored byte a reader gets from the start, batch by batch (iterateBatches walks them). */
function stored(b: Broker, topic: string): string {
  const log = b.partition(topic, 0);
  const out: string[] = [];
  let next = log.startOffset;
  while (next < log.highWatermark) {
    const { chunks } = log.read(next, 1 << 20);
    if (chunks.length === 0) break;
    for (const c of chunks) {
      for (const span of iterateBatches(c)) {
        out.push(Buffer.from(span.bytes).toString("hex"));
        const view = new DataView(span.bytes.buffer, span.bytes.byteOffset, span.bytes.byteLength);
        next = Number(view.getBigInt64(0)) + view.getInt32(23) + 1;
      }
    }
  }
  return out.join("|");
}

test("compactTopic cleans every partition now and says what it removed; a topic without compact is refused", async () => {
  const fs = new MemoryFileLayer();
  const clock = new ManualClock();
  const b = await open(fs, clock);
  await b.createTopic("c", 1, { "cleanup.policy": "compact", "segment.bytes": "2048" });
  await b.createTopic("plain", 1, {});
  await fill(b, "c", 600);
  const before = b.partition("c", 0).sizeBytes;
  const r = await b.compactTopic("c");
  expect(r.partitions).toHaveLength(1);
  expect(r.partitions[0]!.cleaned).toBe(true);
  expect(r.recordsRemoved).toBeGreaterThan(400);
  expect(r.bytesRemoved).toBe(r.partitions[0]!.bytesBefore - r.partitions[0]!.bytesAfter);
  expect(b.partition("c", 0).sizeBytes).toBe(before - r.bytesRemoved);
  const refused = await b.compactTopic("plain").catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(CoreError);
  expect((refused as CoreError).code).toBe("INVALID_CONFIG");
  await expect(b.compactTopic("missing")).rejects.toThrow("does not exist");
  await b.close();
});

test("a close in the middle of a pass ends it: the log is as it was, no cleaned file is left, it opens clean", async () => {
  const fs = new MemoryFileLayer();
  const clock = new ManualClock();
  // A slow pass (64 KiB/s): the close comes while it reads.
  const b = await open(fs, clock, new Lines(), 64 * 1024);
  await b.createTopic("c", 1, { "cleanup.policy": "compact", "segment.bytes": "2048" });
  await fill(b, "c", 1500);
  const before = stored(b, "c");
  const pass = b.compactTopic("c");
  // Let the pass start its reads, then close.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await b.close();
  const r = await pass;
  expect(r.partitions.every((p) => !p.cleaned)).toBe(true);
  expect(fs.readdir("/data/topics/c/0").filter((f) => f.includes(".cleaned") || f.includes(".swap"))).toEqual([]);
  const again = await open(fs, clock);
  expect(again.store.recoveryReport.clean).toBe(true);
  expect(stored(again, "c")).toEqual(before);
  // And cleaning works after it.
  const after = await again.compactTopic("c");
  expect(after.partitions[0]!.cleaned).toBe(true);
  await again.close();
});
