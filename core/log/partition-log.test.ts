// PartitionLog against both file layers: offsets, reads, rolls, indexes, retention, the high
// watermark, reopening. Recovery and faults are in recovery.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { encodeRecordBatch } from "../batch/record-batch.ts";
import { CoreError } from "../errors.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { segmentPaths } from "./segment.ts";
import { giveBack, RECYCLE_MIN_BYTES } from "../lent-buffers.ts";
import { SYNC_ON_LOOP_MAX_BYTES } from "../limits.ts";
import { batchesIn, buildBatch } from "../testing/batch-bytes.ts";
import { type Env, LAYERS, MemoryLogger, openLog, watchedFs } from "../testing/log-harness.ts";

const T0 = 1_700_000_000_000;

describe.each(LAYERS)("PartitionLog on %s", (_name, makeEnv) => {
  let env: Env;
  afterEach(() => env?.cleanup());

  test("assigns offsets, reads whole batches from the one holding the offset", async () => {
    env = makeEnv();
    const { log } = await openLog(env);
    expect([log.startOffset, log.endOffset, log.highWatermark]).toEqual([0, 0, 0]);
    const r1 = await log.append(buildBatch({ records: 5 }));
    const r2 = await log.append(buildBatch({ records: 3 }));
    expect(r1).toEqual({ baseOffset: 0, lastOffset: 4, logAppendTime: -1, duplicate: false });
    expect(r2).toEqual({ baseOffset: 5, lastOffset: 7, logAppendTime: -1, duplicate: false });
    expect([log.endOffset, log.highWatermark]).toEqual([8, 8]);
    expect(batchesIn(log.read(0, 1 << 20).chunks).map((b) => b.baseOffset)).toEqual([0, 5]);
    expect(batchesIn(log.read(6, 1 << 20).chunks).map((b) => b.baseOffset)).toEqual([5]);
    expect(log.read(8, 1 << 20)).toEqual({ chunks: [], bytes: 0 });
    expect(() => log.read(9, 100)).toThrow(CoreError);
    try {
      log.read(9, 100);
    } catch (e) {
      expect((e as CoreError).code).toBe("OFFSET_OUT_OF_RANGE");
    }
    await log.close();
  });

  test("maxBytes smaller than one batch still returns that whole batch, and no more", async () => {
    env = makeEnv();
    const { log } = await openLog(env);
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) sizes.push((await log.append(buildBatch({ records: 10, valueBytes: 50 }))) && 0);
    const one = batchesIn(log.read(0, 1).chunks);
    expect(one.length).toBe(1);
    const size = one[0]!.size;
    expect(batchesIn(log.read(0, size * 2 - 1).chunks).length).toBe(1);
    expect(batchesIn(log.read(0, size * 2).chunks).length).toBe(2);
    expect(batchesIn(log.read(15, size + 5).chunks).map((b) => b.baseOffset)).toEqual([10]);
    await log.close();
  });

  test("minOneBatch false: only whole batches that fit, none when the first does not, across segments too (issue #21)", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 1500 } });
    for (let i = 0; i < 6; i++) await log.append(buildBatch({ records: 10, valueBytes: 50 }));
    expect(log.segmentCount).toBeGreaterThan(1);
    const size = batchesIn(log.read(0, 1).chunks)[0]!.size;
    expect(log.read(0, size - 1, false)).toEqual({ chunks: [], bytes: 0 });
    expect(log.read(0, 0, false)).toEqual({ chunks: [], bytes: 0 });
    expect(batchesIn(log.read(0, size, false).chunks).map((b) => b.baseOffset)).toEqual([0]);
    expect(batchesIn(log.read(15, size * 3 - 1, false).chunks).map((b) => b.baseOffset)).toEqual([10, 20]);
    const all = log.read(0, size * 6, false);
    expect(all.bytes).toBe(size * 6);
    expect(batchesIn(all.chunks).map((b) => b.baseOffset)).toEqual([0, 10, 20, 30, 40, 50]);
    await log.close();
  });

  test("rolls by segment.bytes; reads and lookups cross segments (sealed ones through the mapping)", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 2000 } });
    const batches: Array<{ base: number; last: number }> = [];
    for (let i = 0; i < 40; i++) {
      const r = await log.append(buildBatch({ records: 1 + (i % 7), valueBytes: 20 + i, timestamp: T0 + i * 1000 }));
      batches.push({ base: r.baseOffset, last: r.lastOffset });
    }
    expect(log.segmentCount).toBeGreaterThan(3);
    const infos = log.segmentInfos();
    for (const s of infos.slice(0, -1)) expect(s.sizeBytes).toBeLessThanOrEqual(2000);
    for (let i = 1; i < infos.length; i++) expect(infos[i]!.baseOffset).toBe(infos[i - 1]!.endOffset);
    // every offset: the first batch returned holds it
    for (let o = 0; o < log.endOffset; o++) {
      const first = batchesIn(log.read(o, 1).chunks)[0]!;
      expect(first.baseOffset <= o && o <= first.lastOffset).toBe(true);
    }
    // one read spans every segment
    const all = batchesIn(log.read(0, 1 << 30).chunks);
    expect(all.map((b) => b.baseOffset)).toEqual(batches.map((b) => b.base));
    await log.close();
  });

  test("rolls by segment.ms on the manual clock", async () => {
    env = makeEnv();
    const { log, clock } = await openLog(env, { config: { segmentMs: 60_000 } });
    clock.set(T0);
    await log.append(buildBatch({ timestamp: T0 }));
    clock.advance(59_999);
    await log.append(buildBatch({ timestamp: T0 }));
    expect(log.segmentCount).toBe(1);
    clock.advance(1);
    await log.append(buildBatch({ timestamp: T0 }));
    expect(log.segmentCount).toBe(2);
    expect(log.segmentInfos().map((s) => s.baseOffset)).toEqual([0, 2]);
    await log.close();
  });

  test("sparse index: lookups by offset between entries and by timestamp, across segments", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 64 * 1024 } });
    // Record k of a batch stamped ts carries ts + k (core/testing/batch-bytes.ts).
    const recordTimes: Array<{ offset: number; timestamp: number }> = [];
    for (let i = 0; i < 400; i++) {
      const records = 1 + (i % 4);
      const ts = T0 + i * 10;
      const r = await log.append(buildBatch({ records, valueBytes: 100, timestamp: ts }));
      for (let k = 0; k < records; k++) recordTimes.push({ offset: r.baseOffset + k, timestamp: ts + k });
    }
    expect(log.segmentCount).toBeGreaterThan(1);
    for (let o = 0; o < log.endOffset; o += 3) {
      const first = batchesIn(log.read(o, 1).chunks)[0]!;
      expect(first.baseOffset <= o && o <= first.lastOffset).toBe(true);
    }
    // ListOffsets answers with the first record at or after the time, not its batch's start.
    for (const probe of [T0 - 5, T0, T0 + 1, T0 + 995, T0 + 2001, T0 + 2012, T0 + 3990]) {
      const want = recordTimes.find((r) => r.timestamp >= probe)!;
      expect(log.offsetForTimestamp(probe)).toEqual(want);
    }
    expect(log.offsetForTimestamp(T0 + 10_000)).toBeNull();
    await log.close();
    // after a clean reopen the indexes come from the files
    const again = await openLog(env, { clean: true, config: { segmentBytes: 64 * 1024 } });
    expect(again.log.recovery.segmentsScanned).toBe(0);
    expect(again.log.offsetForTimestamp(T0 + 2001)).toEqual(recordTimes.find((r) => r.timestamp >= T0 + 2001)!);
    for (let o = 0; o < again.log.endOffset; o += 7) {
      const first = batchesIn(again.log.read(o, 1).chunks)[0]!;
      expect(first.baseOffset <= o && o <= first.lastOffset).toBe(true);
    }
    await again.log.close();
  });

  test("retention by time deletes whole sealed segments by their largest timestamp, never the active one", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 500, retentionMs: 10_000 } });
    for (let i = 0; i < 10; i++) await log.append(buildBatch({ records: 2, valueBytes: 100, timestamp: T0 + i * 1000 }));
    const before = log.segmentInfos();
    expect(before.length).toBeGreaterThan(2);
    const now = before[1]!.largestTimestamp + 10_001; // segments 0 and 1 expired
    const r = log.enforceRetention(now);
    expect(r.segmentsDeleted).toBe(2);
    expect(log.startOffset).toBe(before[2]!.baseOffset);
    expect(() => log.read(0, 100)).toThrow("offset outside");
    expect(batchesIn(log.read(log.startOffset, 1).chunks)[0]!.baseOffset).toBe(before[2]!.baseOffset);
    // far future: everything sealed goes, the active stays
    log.enforceRetention(now + 1e9);
    expect(log.segmentCount).toBe(1);
    expect(log.startOffset).toBe(log.segmentInfos()[0]!.baseOffset);
    await log.close();
  });

  test("retention by bytes deletes oldest sealed segments while the rest still exceeds retention.bytes", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 500, retentionBytes: 1200 } });
    for (let i = 0; i < 20; i++) await log.append(buildBatch({ records: 1, valueBytes: 150 }));
    const before = log.sizeBytes;
    const r = log.enforceRetention();
    expect(r.segmentsDeleted).toBeGreaterThan(0);
    expect(log.sizeBytes).toBe(before - r.bytesDeleted);
    // Kafka's rule: stop when deleting the oldest would take the log below the limit
    const oldest = log.segmentInfos()[0]!;
    expect(log.sizeBytes - oldest.sizeBytes).toBeLessThan(1200);
    expect(log.sizeBytes).toBeGreaterThanOrEqual(1200 - 0);
    await log.close();
  });

  test("under fsync always, readers see a batch only after its sync", async () => {
    env = makeEnv();
    const { log } = await openLog(env);
    const seen: number[] = [];
    const unsubscribe = log.onHighWatermark((hwm) => seen.push(hwm));
    const pending = log.append(buildBatch({ records: 4 }));
    expect(log.endOffset).toBe(4); // written
    expect(log.highWatermark).toBe(0); // not yet durable
    expect(log.read(0, 1000).bytes).toBe(0);
    await pending;
    expect(log.highWatermark).toBe(4);
    expect(seen).toEqual([4]);
    unsubscribe();
    await log.append(buildBatch());
    expect(seen).toEqual([4]);
    await log.close();
  });

  test("under fsync never, the high watermark follows the write", async () => {
    env = makeEnv();
    const { log, scheduler } = await openLog(env, { policy: { mode: "never" } });
    const pending = log.append(buildBatch({ records: 4 }));
    expect(log.highWatermark).toBe(4);
    await pending;
    await log.close();
    scheduler.close();
  });

  test("group commit: concurrent appends share syncs", async () => {
    env = makeEnv();
    const { log } = await openLog(env);
    const results = await Promise.all(Array.from({ length: 100 }, () => log.append(buildBatch({ records: 2 }))));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    if (env.fs instanceof MemoryFileLayer) expect(env.fs.disk.syncCount).toBeLessThanOrEqual(3);
    await log.close();
  });

  test("sync pipeline: bytes written during a sync get the next one, started from its completion, and their ack waits for that one only (issue #23)", async () => {
    env = makeEnv();
    // Every fdatasync is held, once its real work is done, until the test lets it go.
    const held: Array<{ real: Promise<void>; release: () => void }> = [];
    let started = 0;
    const gated = new Proxy(env.fs, {
      get(target, prop, receiver) {
        // The pool's syncs only: a sync on the event loop (fdatasyncSync) cannot be held.
        if (prop === "fdatasyncSync") return undefined;
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function") return v;
        if (prop === "fdatasync") {
          return (file: unknown) => {
            started++;
            const real = (v as (f: unknown) => Promise<void>).call(target, file);
            return new Promise<void>((resolve, reject) => held.push({ real, release: () => real.then(resolve, reject) }));
          };
        }
        if (prop === "fdatasyncThen") {
          // The callback form (the disk layer's): the same hold.
          return (file: unknown, done: (e: Error | null) => void) => {
            started++;
            const real = new Promise<void>((resolve, reject) => (v as (f: unknown, d: (e: Error | null) => void) => void).call(target, file, (e) => (e ? reject(e) : resolve())));
            held.push({ real, release: () => real.then(() => done(null), (e: Error) => done(e)) });
          };
        }
        return v.bind(target);
      },
    });
    const release = async () => {
      const h = held.shift()!;
      await h.real;
      h.release();
    };
    const { log } = await openLog(env, { fs: gated, runwayBytes: 0 });
    const acked: string[] = [];
    const a = log.append(buildBatch({ records: 1 })).then(() => acked.push("a"));
    while (started === 0) await new Promise((r) => setImmediate(r)); // sync 1 starts a turn later
    const b = log.append(buildBatch({ records: 1 })).then(() => acked.push("b")); // written during sync 1
    const c = log.append(buildBatch({ records: 1 })).then(() => acked.push("c"));
    expect(started).toBe(1); // one sync per log at a time
    await release();
    // Sync 2 starts from sync 1's completion: microtasks only, no turn of the event loop.
    for (let i = 0; i < 20 && started === 1; i++) await Promise.resolve();
    expect(started).toBe(2);
    await a;
    expect(acked).toEqual(["a"]);
    expect(log.highWatermark).toBe(1);
    await release();
    await Promise.all([b, c]);
    expect(acked).toEqual(["a", "b", "c"]); // b and c shared sync 2, the first that began after their write
    expect(log.highWatermark).toBe(3);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(started).toBe(2); // nothing was left to sync: no third one
    const closing = log.close();
    while (true) {
      if (held.length > 0) await release();
      const done = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
      if (done) break;
    }
  });

  test("a small sync of a log alone in its round runs on the event loop; a large one, or two logs in one round, use the pool; every ack waits for its sync (issue #23)", async () => {
    env = makeEnv();
    if (env.fs instanceof MemoryFileLayer) env.fs.disk.syncOnLoop = true;
    const pool = env.fs.fdatasyncThen !== undefined ? "fdatasyncThen" : "fdatasync";
    const calls: string[] = [];
    const fs = watchedFs(env.fs, ["fdatasync", "fdatasyncThen", "fdatasyncSync"], (name, args) => calls.push(`${name} ${String((args[0] as { path: string }).path).split("/").at(-3)}`));
    const { log, scheduler } = await openLog(env, { fs });
    await log.append(buildBatch({ records: 1, valueBytes: 100 }));
    expect(calls).toEqual(["fdatasyncSync t"]);
    expect(log.highWatermark).toBe(1);
    calls.length = 0;
    await log.append(buildBatch({ records: 1, valueBytes: SYNC_ON_LOOP_MAX_BYTES }));
    expect(calls).toEqual([`${pool} t`]);
    expect(log.highWatermark).toBe(2);
    const other = (await openLog(env, { fs, scheduler, dir: "u/0" })).log;
    calls.length = 0;
    await Promise.all([log.append(buildBatch({ records: 1 })), other.append(buildBatch({ records: 2 }))]);
    expect(calls.sort()).toEqual([`${pool} t`, `${pool} u`]);
    expect([log.highWatermark, other.highWatermark]).toEqual([3, 2]);
    await Promise.all([log.close(), other.close()]);
  });

  test("a failed sync on the event loop rejects its appends and rolls them back, as a failed pool sync does", async () => {
    const fs = new MemoryFileLayer();
    fs.disk.syncOnLoop = true;
    const memEnv: Env = { fs, root: "/data", cleanup() {} };
    const { log } = await openLog(memEnv);
    await log.append(buildBatch({ records: 2 }));
    const synced = fs.disk.syncCount;
    fs.injectFault({ op: "fdatasync", code: "EIO" });
    const err = await log.append(buildBatch()).catch((e: CoreError) => e.code);
    expect(err).toBe("STORAGE");
    expect([log.endOffset, log.highWatermark]).toEqual([2, 2]);
    expect((await log.append(buildBatch())).baseOffset).toBe(2);
    expect(fs.disk.syncCount).toBe(synced + 1); // the failed one counted nothing; the retry synced on the loop
    await log.close();
  });

  test("a read at the tail while later appends wait for their sync takes one pread, no header walk", async () => {
    env = makeEnv();
    const preads: number[] = [];
    const counting = watchedFs(env.fs, ["pread"], (_, args) => preads.push((args[1] as Uint8Array).length));
    const { log } = await openLog(env, { fs: counting });
    await log.append(buildBatch({ records: 1, valueBytes: 100 }));
    const pending: Promise<unknown>[] = [];
    const walks: number[][] = [];
    // ~40 index entries go by (one per 4 KiB); up to three appends are written but not yet synced.
    for (let i = 0; i < 1000; i++) {
      pending.push(log.append(buildBatch({ records: 1 + (i % 7), valueBytes: 100 })));
      if (pending.length > 3) await pending.shift();
      preads.length = 0;
      const read = log.read(log.highWatermark - 1, 1 << 20);
      expect(read.chunks.length).toBe(1);
      if (preads.length !== 1) walks.push([...preads]);
    }
    await Promise.all(pending);
    expect(walks).toEqual([]);
    await log.close();
  });

  test("large reads of the active segment go into lent buffers: the file's bytes, and the buffer is lent again once given back", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { runwayBytes: 64 * 1024 });
    for (let i = 0; i < 200; i++) await log.append(buildBatch({ records: 10, valueBytes: 1000, fill: i % 50 }));
    const path = segmentPaths(`${env.root}/t/0`, 0).log;
    const onDisk = (from: number, length: number) => {
      const f = env.fs.open(path);
      const out = new Uint8Array(length);
      env.fs.pread(f, out, from);
      env.fs.close(f);
      return out;
    };
    const first = log.read(0, 1 << 20);
    expect(first.chunks.length).toBe(1);
    const a = first.chunks[0]!;
    expect(a.length).toBeGreaterThanOrEqual(RECYCLE_MIN_BYTES);
    expect(Buffer.compare(a, onDisk(0, a.length))).toBe(0);
    const firstBatches = batchesIn(first.chunks);
    expect(giveBack(a)).toBe(true); // lent
    // The next large read fills the same buffer with its own bytes.
    const second = log.read(firstBatches.at(-1)!.lastOffset + 1, 1 << 20);
    const b = second.chunks[0]!;
    expect(b.buffer).toBe(a.buffer);
    expect(batchesIn(second.chunks)[0]!.baseOffset).toBe(firstBatches.at(-1)!.lastOffset + 1);
    expect(Buffer.compare(b, onDisk(a.length, b.length))).toBe(0);
    // A read at the tail gets a buffer of its own: nothing to give back.
    const tail = log.read(log.highWatermark - 10, 1 << 20);
    expect(tail.bytes).toBeLessThan(RECYCLE_MIN_BYTES);
    expect(giveBack(tail.chunks[0]!)).toBe(false);
    expect(giveBack(b)).toBe(true);
    await log.close();
  });

  test("large reads of a sealed segment are a pread into a lent buffer, not its mapping; small ones still use the mapping", async () => {
    env = makeEnv();
    const calls: string[] = [];
    const counting = watchedFs(env.fs, ["map", "pread"], (name) => calls.push(name));
    const { log } = await openLog(env, { fs: counting, config: { segmentBytes: 1_500_000 } });
    for (let i = 0; i < 200; i++) await log.append(buildBatch({ records: 10, valueBytes: 1000, fill: i % 50 }));
    const sealed = log.segmentInfos()[0]!;
    expect(sealed.sealed).toBe(true);
    calls.length = 0;
    const big = log.read(0, 1 << 20);
    expect(calls.filter((c) => c === "pread")).toEqual(["pread"]); // the data; its header walk may map
    const onDisk = new Uint8Array(big.bytes);
    const f = env.fs.open(segmentPaths(`${env.root}/t/0`, 0).log);
    env.fs.pread(f, onDisk, 0);
    env.fs.close(f);
    expect(Buffer.compare(Buffer.concat(big.chunks), onDisk)).toBe(0);
    expect(giveBack(big.chunks[0]!)).toBe(true);
    calls.length = 0;
    const small = log.read(500, 20_000);
    expect(calls).not.toContain("pread");
    expect(batchesIn(small.chunks)[0]!.baseOffset).toBe(500);
    expect(giveBack(small.chunks[0]!)).toBe(false); // a view of the mapping
    await log.close();
  });

  test("reopen after a clean close keeps everything and scans nothing", async () => {
    env = makeEnv();
    const first = await openLog(env, { config: { segmentBytes: 1000 } });
    for (let i = 0; i < 30; i++) await first.log.append(buildBatch({ records: 3, valueBytes: 30 }));
    await first.log.close();
    const again = await openLog(env, { clean: true, config: { segmentBytes: 1000 } });
    expect(again.log.endOffset).toBe(90);
    expect(again.log.recovery.segmentsScanned).toBe(0);
    expect(again.log.recovery.cuts).toEqual([]);
    expect(batchesIn(again.log.read(0, 1 << 20).chunks).length).toBe(30);
    const r = await again.log.append(buildBatch());
    expect(r.baseOffset).toBe(90);
    await again.log.close();
  });

  test("a clean reopen reads headers, not the segments: large batches past the last index entry are walked, their CRCs left to the first read", async () => {
    env = makeEnv();
    const config = { segmentBytes: 3_000_000 };
    const first = await openLog(env, { runwayBytes: 0, config });
    // 1 MB batches: every one past the first gets an index entry, and the last one is past it.
    for (let i = 0; i < 5; i++) await first.log.append(buildBatch({ records: 10, valueBytes: 100_000, fill: i }));
    await first.log.close();
    const segs = first.log.segmentInfos();
    expect(segs.length).toBe(3);
    // A bit flip inside the last batch's records (under its CRC, not in a header field).
    const last = segs.at(-1)!;
    const path = segmentPaths(`${env.root}/t/0`, last.baseOffset).log;
    const f = env.fs.open(path);
    const byte = new Uint8Array(1);
    env.fs.pread(f, byte, last.sizeBytes - 10);
    byte[0]! ^= 0x10;
    env.fs.pwrite(f, byte, last.sizeBytes - 10);
    env.fs.close(f);
    let bytesRead = 0;
    const counting = watchedFs(env.fs, ["pread", "readFile"], (name, _, result) => {
      bytesRead += name === "pread" ? (result as number) : (result as Uint8Array).length;
    });
    const logger = new MemoryLogger();
    const again = await openLog(env, { fs: counting, runwayBytes: 0, clean: true, config, logger });
    expect(bytesRead).toBeLessThan(1_000_000); // 5 MB of batches; a few headers and the indexes read
    expect(again.log.endOffset).toBe(50);
    expect([again.log.recovery.segmentsScanned, again.log.recovery.cuts, again.log.recovery.damaged]).toEqual([0, [], []]);
    // The first read checks it: refused as damage, never served.
    expect(() => again.log.read(40, 1 << 30)).toThrow(CoreError);
    expect(batchesIn(again.log.read(30, 1 << 30).chunks).map((b) => b.baseOffset)).toEqual([30]);
    await again.log.close();
  });

  test("a clean reopen checks a sealed segment whole when its header walk does not reach the next segment's base", async () => {
    env = makeEnv();
    const config = { segmentBytes: 1000 };
    const first = await openLog(env, { runwayBytes: 0, config });
    for (let i = 0; i < 30; i++) await first.log.append(buildBatch({ records: 3, valueBytes: 30 }));
    await first.log.close();
    const [s0, s1] = first.log.segmentInfos();
    // The sealed first segment's last batch claims one record more (lastOffsetDelta and
    // recordCount both, so its header is consistent; its CRC is not).
    const path = segmentPaths(`${env.root}/t/0`, s0!.baseOffset).log;
    const bytes = env.fs.readFile(path);
    let pos = 0;
    let lastPos = 0;
    for (const b of batchesIn([bytes])) {
      lastPos = pos;
      pos += b.size;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setInt32(lastPos + 23, view.getInt32(lastPos + 23) + 1);
    view.setInt32(lastPos + 57, view.getInt32(lastPos + 57) + 1);
    const f = env.fs.open(path);
    env.fs.pwrite(f, bytes.subarray(lastPos, lastPos + 61), lastPos);
    env.fs.close(f);
    const again = await openLog(env, { runwayBytes: 0, clean: true, config });
    // Checked whole: the bad batch is damage kept in place; the next segment is not cut.
    expect(again.log.recovery.segmentsScanned).toBe(1);
    expect(again.log.recovery.cuts).toEqual([]);
    expect(again.log.recovery.damaged).toMatchObject([{ position: lastPos }]);
    expect(again.log.endOffset).toBe(90);
    expect(batchesIn(again.log.read(s1!.baseOffset, 1 << 20).chunks)[0]!.baseOffset).toBe(s1!.baseOffset);
    await again.log.close();
  });

  test("reopen after an unclean stop scans the active segment and keeps every synced batch", async () => {
    env = makeEnv();
    const first = await openLog(env, { config: { segmentBytes: 1000 } });
    for (let i = 0; i < 30; i++) await first.log.append(buildBatch({ records: 3, valueBytes: 30 }));
    // no close: the "process" stops here
    const again = await openLog(env, { config: { segmentBytes: 1000 } });
    expect(again.log.endOffset).toBe(90);
    expect(again.log.recovery.segmentsScanned).toBe(1);
    expect(again.log.recovery.cuts).toEqual([]);
    expect(batchesIn(again.log.read(0, 1 << 20).chunks).length).toBe(30);
    await again.log.close();
  });

  test("lost index files are rebuilt even after a clean stop", async () => {
    env = makeEnv();
    const first = await openLog(env, { config: { segmentBytes: 2000 } });
    for (let i = 0; i < 60; i++) await first.log.append(buildBatch({ records: 2, valueBytes: 40 }));
    await first.log.close();
    const sealed = first.log.segmentInfos()[0]!;
    env.fs.unlink(`${env.root}/t/0/${String(sealed.baseOffset).padStart(20, "0")}.index`);
    const again = await openLog(env, { clean: true, config: { segmentBytes: 2000 } });
    expect(again.log.recovery.segmentsScanned).toBe(1);
    expect(again.log.recovery.indexesRebuilt[0]).toEndWith(`${String(sealed.baseOffset).padStart(20, "0")}.index`);
    expect(again.log.endOffset).toBe(120);
    expect(env.fs.stat(`${env.root}/t/0/${String(sealed.baseOffset).padStart(20, "0")}.index`)).not.toBeNull();
    await again.log.close();
  });

  test("LogAppendTime stamps maxTimestamp with the clock and reports it", async () => {
    env = makeEnv();
    const { log, clock } = await openLog(env, { config: { timestampType: "LogAppendTime" } });
    clock.set(T0 + 5);
    const r = await log.append(buildBatch({ records: 2, timestamp: 1 }));
    expect(r.logAppendTime).toBe(T0 + 5);
    expect(batchesIn(log.read(0, 1000).chunks)[0]!.maxTimestamp).toBe(T0 + 5); // CRC re-checked by batchesIn
    await log.close();
  });

  test("deleteRecordsBefore advances the start offset and survives reopen", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 500 } });
    for (let i = 0; i < 10; i++) await log.append(buildBatch({ records: 2, valueBytes: 100 }));
    expect(await log.deleteRecordsBefore(7)).toBe(7);
    expect(() => log.read(6, 10)).toThrow("offset outside");
    expect(batchesIn(log.read(7, 1).chunks)[0]!.baseOffset).toBe(6);
    await log.close();
    const again = await openLog(env, { clean: true, config: { segmentBytes: 500 } });
    expect(again.log.startOffset).toBe(7);
    await again.log.close();
  });

  test("maxTimestampOffset: the first record with the largest timestamp, across segments, below the start too, after reopen (issue #21)", async () => {
    env = makeEnv();
    const cfg = { config: { segmentBytes: 600 } };
    const { log } = await openLog(env, cfg);
    expect(log.maxTimestampOffset()).toBeNull();
    const batch = (timestamps: number[]) => encodeRecordBatch({ records: timestamps.map((timestamp) => ({ value: new Uint8Array(40), timestamp })) });
    for (let i = 0; i < 3; i++) await log.append(batch([T0 + i * 10, T0 + i * 10 + 1, T0 + i * 10 + 2])); // offsets 0-8
    await log.append(batch([T0 + 5, T0 + 9_000, T0 + 7, T0 + 9_000])); // offsets 9-12: the largest at 10
    for (let i = 0; i < 6; i++) await log.append(batch([T0 + 100 + i, T0 + 200 + i])); // offsets 13-24, lower
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(log.maxTimestampOffset()).toEqual({ offset: 10, timestamp: T0 + 9_000 });
    // The start moved past the record (inside its segment): Kafka still names it.
    await log.deleteRecordsBefore(12);
    expect(log.maxTimestampOffset()).toEqual({ offset: 10, timestamp: T0 + 9_000 });
    await log.close();
    const again = await openLog(env, { clean: true, ...cfg });
    expect(again.log.maxTimestampOffset()).toEqual({ offset: 10, timestamp: T0 + 9_000 });
    await again.log.append(batch([T0 + 9_500]));
    expect(again.log.maxTimestampOffset()).toEqual({ offset: 25, timestamp: T0 + 9_500 });
    await again.log.close();
  });

  test("restartAt empties the log and continues it above its end; it survives reopen (issue #7)", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { config: { segmentBytes: 500 } });
    for (let i = 0; i < 10; i++) await log.append(buildBatch({ records: 2, valueBytes: 100 }));
    expect(log.segmentCount).toBeGreaterThan(1);
    await log.restartAt(50);
    expect([log.startOffset, log.endOffset, log.highWatermark, log.segmentCount]).toEqual([50, 50, 50, 1]);
    expect(await log.append(buildBatch({ records: 3 }))).toMatchObject({ baseOffset: 50, lastOffset: 52 });
    expect(() => log.read(49, 10)).toThrow("offset outside");
    await log.close();
    expect(env.fs.readdir(`${env.root}/t/0`).filter((n) => n.endsWith(".log"))).toEqual(["00000000000000000050.log"]);
    const again = await openLog(env, { config: { segmentBytes: 500 } });
    expect([again.log.startOffset, again.log.endOffset]).toEqual([50, 53]);
    expect([again.log.recovery.cuts, again.log.recovery.damaged]).toEqual([[], []]);
    expect(batchesIn(again.log.read(50, 1).chunks)[0]!.baseOffset).toBe(50);
    await again.log.close();
  });

  test("runway (fsync always): zeros ahead of the active segment; cut at roll, close and unclean reopen; none under never", async () => {
    env = makeEnv();
    const path = (base: number) => `${env.root}/t/0/${String(base).padStart(20, "0")}.log`;
    const fileBytes = (base: number) => {
      const f = env.fs.open(path(base));
      const out = new Uint8Array(env.fs.size(f));
      env.fs.pread(f, out, 0);
      env.fs.close(f);
      return out;
    };
    const first = await openLog(env, { runwayBytes: 4096, config: { segmentBytes: 6000 } });
    await first.log.append(buildBatch({ records: 3, valueBytes: 30 }));
    const afterFirst = first.log.sizeBytes;
    for (let i = 0; i < 2; i++) await first.log.append(buildBatch({ records: 3, valueBytes: 30 }));
    const data = first.log.sizeBytes;
    const active = fileBytes(0);
    expect(active.length).toBe(afterFirst + 4096); // written after the first append, once (the manual clock stands still)
    expect(active.subarray(data).every((b) => b === 0)).toBe(true);
    // A roll cuts the sealed segment back to its batches.
    for (let i = 0; i < 40; i++) await first.log.append(buildBatch({ records: 3, valueBytes: 30 }));
    const infos = first.log.segmentInfos();
    expect(infos.length).toBeGreaterThan(1);
    for (const s of infos.slice(0, -1)) expect(fileBytes(s.baseOffset).length).toBe(s.sizeBytes);
    // No close: the process stops with a runway in the active segment; recovery drops it unreported.
    const last = infos.at(-1)!;
    expect(fileBytes(last.baseOffset).length).toBeGreaterThan(last.sizeBytes);
    const again = await openLog(env, { runwayBytes: 4096, config: { segmentBytes: 6000 } });
    expect(again.log.recovery.cuts).toEqual([]);
    expect(again.log.recovery.damaged).toEqual([]);
    expect(again.log.endOffset).toBe(first.log.endOffset);
    expect(batchesIn(again.log.read(0, 1 << 20).chunks).length).toBe(43);
    expect(fileBytes(last.baseOffset).length).toBe(last.sizeBytes);
    expect((await again.log.append(buildBatch())).baseOffset).toBe(first.log.endOffset);
    // close cuts it too.
    await again.log.close();
    expect(fileBytes(last.baseOffset).length).toBe(again.log.segmentInfos().at(-1)!.sizeBytes);
    // Under never, no runway.
    const never = await openLog(env, { policy: { mode: "never" }, clean: true, config: { segmentBytes: 6000 } });
    await never.log.append(buildBatch());
    expect(fileBytes(last.baseOffset).length).toBe(never.log.segmentInfos().at(-1)!.sizeBytes);
    await never.log.close();
  });

  test("runway: a torn batch written into it is cut and reported at its start", async () => {
    env = makeEnv();
    const { log } = await openLog(env, { runwayBytes: 4096 });
    for (let i = 0; i < 3; i++) await log.append(buildBatch({ records: 2 }));
    const end = log.sizeBytes;
    const torn = buildBatch({ records: 5, valueBytes: 40 }).subarray(0, 50);
    const f = env.fs.open(`${env.root}/t/0/00000000000000000000.log`);
    env.fs.pwrite(f, torn, end);
    const fileSize = env.fs.size(f);
    env.fs.close(f);
    const again = await openLog(env, { runwayBytes: 4096 });
    expect(again.log.recovery.cuts).toMatchObject([{ position: end, bytesCut: fileSize - end, firstOffsetLost: 6 }]);
    expect(again.log.endOffset).toBe(6);
    await again.log.close();
  });

  test("runway: a crash that kept only the first few bytes of a runway write is no loss; without a runway the same tail is a torn header", async () => {
    for (const tail of [1, 2, 16]) {
      for (const runwayBytes of [4096, 0]) {
        env = makeEnv();
        const { log } = await openLog(env, { runwayBytes: 0 }); // the file ends at its last batch
        for (let i = 0; i < 3; i++) await log.append(buildBatch({ records: 2 }));
        const end = log.sizeBytes;
        const f = env.fs.open(`${env.root}/t/0/00000000000000000000.log`);
        env.fs.pwrite(f, new Uint8Array(tail), end);
        env.fs.close(f);
        const logger = new MemoryLogger();
        const again = await openLog(env, { runwayBytes, logger });
        if (runwayBytes > 0) {
          expect(again.log.recovery.cuts).toEqual([]);
          expect(logger.lines.some((l) => l.includes("lost"))).toBe(false);
        } else {
          expect(again.log.recovery.cuts).toMatchObject([{ position: end, bytesCut: tail, firstOffsetLost: 6 }]);
        }
        expect(again.log.endOffset).toBe(6);
        expect(again.log.sizeBytes).toBe(end);
        await again.log.close();
        env.cleanup(); // six directories in one test: afterEach removes only the last
      }
    }
  });

  test("close refuses later appends with CLOSED", async () => {
    env = makeEnv();
    const { log } = await openLog(env);
    await log.close();
    expect(log.append(buildBatch())).rejects.toMatchObject({ code: "CLOSED" });
  });
});
