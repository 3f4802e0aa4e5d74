// The log cleaner's I/O (cleaner.ts): a bound on its share of the disk, a sequential reader of a
// segment's batches, and the writer of a cleaned segment. The cleaner runs on the broker's one
// thread, so it also yields the thread often (CLEANER_SLICE_MS): a produce that arrives while it
// works waits for one slice at most, not for a segment; and the broker's cleaner rests after each
// slice as long as it worked (threadShare, CLEANER_THREAD_SHARE), so it never takes more than half
// of the thread however fast the disk is.
//
// The bound is a token bucket over bytes read plus bytes written (serve --log-cleaner-io-max-bytes-per-second,
// Kafka's log.cleaner.io.max.bytes.per.second): a pass that would go faster sleeps. Reads are
// preads into one buffer (CLEANER_READ_BYTES), never through the segments' mappings: a pass
// touches every byte of the log, and mapped pages count in the broker's memory (segment.ts).
import * as be from "../bytes.ts";
import { crc32c } from "../batch/crc32c.ts";
import { BATCH_HEADER_BYTES, CRC_START, OFF_CRC } from "../batch/header.ts";
import type { FileHandle, FileLayer } from "../fs.ts";
import { CLEANER_READ_BYTES, CLEANER_SLICE_MS } from "../limits.ts";
import { type BatchInfo, batchInfoAt, headerProblem } from "./segment.ts";

export interface CleanerIoOptions {
  /** Bytes per second read plus written; 0 or less: no bound. */
  bytesPerSecond: number;
  /**
   * The share of the broker's thread a pass may take (0 < share ≤ 1): after each slice of
   * CLEANER_SLICE_MS it waits (1 − share) / share as long again; 1: it only yields a turn. The
   * broker's cleaner uses CLEANER_THREAD_SHARE.
   */
  threadShare?: number;
  /** Waits (tests make time pass their own way). */
  sleep?: (ms: number) => Promise<void>;
  /** Monotonic ms. */
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The token bucket and the time slices, shared by every pass of one cleaner. */
export class CleanerIo {
  private tokens: number;
  private last: number;
  private sliceStart: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  /** Stops a pass at its next read or write (the broker closes): they throw CleanerStopped. */
  stopped = false;

  constructor(private readonly opts: CleanerIoOptions) {
    this.sleep = opts.sleep ?? realSleep;
    this.now = opts.now ?? (() => performance.now());
    this.last = this.now();
    this.sliceStart = this.last;
    // At most a tenth of a second of burst: the bound holds over short windows too.
    this.tokens = this.burst;
  }

  get bytesPerSecond(): number {
    return this.opts.bytesPerSecond;
  }

  private get burst(): number {
    return this.opts.bytesPerSecond > 0 ? Math.max(this.opts.bytesPerSecond / 10, CLEANER_READ_BYTES) : Infinity;
  }

  /** Accounts `bytes` of I/O: sleeps while the pass is ahead of its rate. */
  async take(bytes: number): Promise<void> {
    if (this.stopped) throw new CleanerStopped();
    if (this.opts.bytesPerSecond <= 0) return this.maybeYield();
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.opts.bytesPerSecond) / 1000);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) {
      await this.sleep((-this.tokens / this.opts.bytesPerSecond) * 1000);
      this.sliceStart = this.now();
      return;
    }
    return this.maybeYield();
  }

  /** Gives the thread back once the current slice has run CLEANER_SLICE_MS (for its share, see threadShare). */
  async maybeYield(): Promise<void> {
    if (this.stopped) throw new CleanerStopped();
    const worked = this.now() - this.sliceStart;
    if (worked < CLEANER_SLICE_MS) return;
    const share = this.opts.threadShare ?? 1;
    if (share >= 1) await yieldTurn();
    else await this.sleep(Math.min(worked, 4 * CLEANER_SLICE_MS) * ((1 - share) / share));
    this.sliceStart = this.now();
  }
}

/** A pass given up because its cleaner stopped: what it wrote is removed, the log is as it was. */
export class CleanerStopped extends Error {
  constructor() {
    super("the log cleaner stopped");
  }
}

/** One stored batch met by a SegmentReader: a view valid until the next call. */
export interface ReadBatch {
  position: number;
  info: BatchInfo;
  bytes: Uint8Array;
}

/**
 * A sealed segment's batches in file order, each CRC-checked, from `from` (a batch start) to
 * `size` bytes. Throws on a batch that is not whole, not valid or fails its CRC: the cleaner
 * leaves such a log alone (the read path reports the damage).
 */
export class SegmentReader {
  private buf = new Uint8Array(0);
  private bufStart = 0;
  private bufLength = 0;
  private readonly file: FileHandle;
  private position: number;
  private expected: number | null = null;

  constructor(
    private readonly fs: FileLayer,
    private readonly path: string,
    private readonly size: number,
    private readonly io: CleanerIo,
    from = 0,
    private readonly gapsUpTo = -1,
  ) {
    this.file = fs.open(path);
    this.position = from;
  }

  async next(): Promise<ReadBatch | null> {
    if (this.position >= this.size) return null;
    if (this.size - this.position < BATCH_HEADER_BYTES) throw new Error(`${this.path}: torn batch header at ${this.position}`);
    await this.ensure(this.position, BATCH_HEADER_BYTES);
    const info = batchInfoAt(this.buf, this.position - this.bufStart);
    const problem = headerProblem(info, this.position, this.size, this.expected, this.gapsUpTo);
    if (problem !== null) throw new Error(`${this.path}: ${problem} at ${this.position}`);
    await this.ensure(this.position, info.size);
    const at = this.position - this.bufStart;
    const bytes = this.buf.subarray(at, at + info.size);
    if (crc32c(bytes, CRC_START, bytes.length) !== be.uint32(bytes, OFF_CRC)) throw new Error(`${this.path}: CRC-32C mismatch at ${this.position}`);
    const batch = { position: this.position, info, bytes };
    this.position += info.size;
    this.expected = info.lastOffset + 1;
    return batch;
  }

  close(): void {
    this.fs.close(this.file);
  }

  private async ensure(pos: number, n: number): Promise<void> {
    if (pos >= this.bufStart && pos + n <= this.bufStart + this.bufLength) return;
    if (this.buf.length < n) this.buf = new Uint8Array(Math.max(n, CLEANER_READ_BYTES));
    else if (this.buf.length === 0) this.buf = new Uint8Array(CLEANER_READ_BYTES);
    const want = Math.min(this.buf.length, this.size - pos);
    await this.io.take(want);
    this.bufLength = this.fs.pread(this.file, this.buf.subarray(0, want), pos);
    this.bufStart = pos;
    if (this.bufLength < n) throw new Error(`${this.path}: short read at ${pos}`);
  }
}

/** Writes a cleaned segment's batches through one buffer (CLEANER_READ_BYTES) and syncs it. */
export class CleanedWriter {
  private readonly file: FileHandle;
  private buf = new Uint8Array(CLEANER_READ_BYTES);
  private used = 0;
  /** Bytes handed to write() so far: the position of the next batch. */
  size = 0;

  constructor(
    private readonly fs: FileLayer,
    readonly path: string,
    private readonly io: CleanerIo,
  ) {
    this.file = fs.open(path, { create: true, truncate: true });
  }

  async write(batch: Uint8Array): Promise<void> {
    if (this.used + batch.length > this.buf.length) await this.flush();
    if (batch.length > this.buf.length) {
      await this.io.take(batch.length);
      this.fs.pwrite(this.file, batch, this.size);
    } else {
      this.buf.set(batch, this.used);
      this.used += batch.length;
    }
    this.size += batch.length;
  }

  /** Everything written and fdatasync'ed. */
  async finish(): Promise<void> {
    await this.flush();
    await this.fs.fdatasync(this.file);
  }

  close(): void {
    this.fs.close(this.file);
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.io.take(this.used);
    this.fs.pwrite(this.file, this.buf.subarray(0, this.used), this.size - this.used);
    this.used = 0;
  }
}
