// Decompressing a Produce request's batches ahead of their validation, bounded in bytes per request
// and in main-thread time per turn of the event loop (issue #18, "fair under abuse"). Measured on
// the old broker: a Produce of 1,000 zstd bombs of 2.6 KiB froze every client for 12.1 s (each
// batch inflated synchronously up to the 64 MiB per-batch cap), 64 gzip bombs in one request took
// it to 827 MiB.
//
//   bytes  a request's batches may decompress to REQUEST_DECOMPRESSED_BYTES_MAX together; past it
//          every further compressed batch of the request fails DECOMPRESSION_LIMIT (INVALID_RECORD
//          on the wire) without being touched, and nothing of it is appended.
//   time   a batch is inflated on the main thread only while this turn of the event loop has spent
//          less than DECOMPRESS_TURN_MS doing so, and only up to DECOMPRESS_SYNC_BYTES (a
//          legitimate batch of a few hundred KiB: no thread hop); anything larger, or anything once
//          the turn's time is spent, is inflated off the main thread (gzip and zstd on worker
//          threads of our own, inflate-threads.ts: node:zlib's asynchronous calls assembled
//          their output on the main thread, ~140 ms for 44 MiB of records), at most
//          DECOMPRESS_OFF_THREAD_MAX at a time for the whole broker (each holds up to a batch's cap
//          of memory). Snappy and lz4, our own code, stay on the main thread but in slices: steps of
//          DECOMPRESS_STEP_BYTES of output, DECOMPRESS_TURN_MS of them per turn of the event loop,
//          within the same slots (once a snappy bomb's 64 MiB block held the thread for its whole
//          inflating, a batch per turn).
//
// The sections go in a WeakMap keyed by the batch's bytes, which validation (validate-produce.ts)
// looks in before it decompresses itself: each batch is inflated once. A batch not prepared (the
// HTTP door, a follower's fetch) is validated as before, with the per-batch cap only.
//
// `prepareDecompression` returns null when everything was done in this call (the common case,
// no await), else a promise that settles when the rest is done. The caller must then keep later
// appends of the same connection waiting (net/kafka/connection.ts holds its dispatch): appends
// happen in arrival order.
import { CoreError, type CoreErrorContext } from "../errors.ts";
import { DECOMPRESS_OFF_THREAD_MAX, DECOMPRESS_STEP_BYTES, DECOMPRESS_SYNC_BYTES, DECOMPRESS_TURN_MS, DECOMPRESSED_BYTES_MAX, REQUEST_DECOMPRESSED_BYTES_MAX } from "../limits.ts";
import { chargeTurn, nextTurn, turnLeft } from "../turn-clock.ts";
import { inflateOffThread } from "./inflate-threads.ts";
import { codecName, decompress, decompressSteps, gzipDeclaredBytes, zstdDeclaredBytes } from "./codecs.ts";
import { ATTR_CODEC_MASK, BATCH_HEADER_BYTES, Codec, OFF_ATTRIBUTES, OFF_MAGIC, readBatchHeader } from "./header.ts";
import { type RecordScan, RecordScanInParts } from "./scan-records.ts";

/** Sections (or why there is none) decompressed ahead, by the batch they came from. */
const prepared = new WeakMap<Uint8Array, Uint8Array | CoreError>();

/** What walking a large section's records found (scan-records.ts), walked a few ms per turn
 * ahead of validation, which takes it instead of walking again when it covers the same question:
 * 900,000 records of 40 bytes (44 MiB inflated) took 25–35 ms in one walk. */
export interface PreparedScan extends RecordScan {
  /** The header's recordCount and baseTimestamp it was walked with. */
  count: number;
  baseTimestamp: number;
}
const scanned = new WeakMap<Uint8Array, PreparedScan>();

/** The walk scanAhead made of `section`'s records, or undefined. */
export function preparedScan(section: Uint8Array): PreparedScan | undefined {
  return scanned.get(section);
}

/** Sections smaller than this are walked by validation in one go (~1 ms at most). */
const SCAN_AHEAD_MIN_BYTES = DECOMPRESS_SYNC_BYTES;
/** Records walked between looks at the turn's clock (~1 ms). */
const SCAN_PART_RECORDS = 32 * 1024;

/** Walks a large inflated section's records within the turn's share, the rest in later turns. */
async function scanAhead(batch: Uint8Array, section: Uint8Array): Promise<void> {
  if (section.length < SCAN_AHEAD_MIN_BYTES) return;
  const h = readBatchHeader(batch, 0);
  const walk = new RecordScanInParts(section, 0, section.length, h.recordCount, h.baseTimestamp);
  for (;;) {
    if (!turnLeft()) await nextTurn();
    const started = performance.now();
    const over = walk.part(SCAN_PART_RECORDS);
    chargeTurn(performance.now() - started);
    if (over) break;
  }
  const o = walk.outcome();
  // A copy: the walk's result object is shared by every walk (scan-records.ts).
  scanned.set(section, { ...o, count: h.recordCount, baseTimestamp: h.baseTimestamp });
}

/** The section `prepareDecompression` made for `batch` (throws its error, with `ctx`), or undefined. */
export function preparedSection(batch: Uint8Array, ctx: CoreErrorContext): Uint8Array | undefined {
  const s = prepared.get(batch);
  if (s instanceof CoreError) throw new CoreError(s.code, s.message, ctx);
  return s;
}

/** Bytes one request may still decompress to. */
export class DecompressionBudget {
  constructor(public remaining = REQUEST_DECOMPRESSED_BYTES_MAX) {}
}

// --- off the main thread, a few at a time --------------------------------------------------------
let offThread = 0;
const offThreadQueue: Array<() => void> = [];

async function offThreadSlot<T>(run: () => Promise<T>): Promise<T> {
  if (offThread >= DECOMPRESS_OFF_THREAD_MAX) await new Promise<void>((r) => offThreadQueue.push(r));
  offThread++;
  try {
    return await run();
  } finally {
    offThread--;
    offThreadQueue.shift()?.();
  }
}

/** gzip or zstd on a worker thread (inflate-threads.ts): node:zlib's own asynchronous calls
 * assemble their output on the main thread, ~140 ms for 44 MiB. */
async function zlibAsync(codec: Codec.Gzip | Codec.Zstd, data: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  if (declaredBytes(codec, data) > maxBytes) throw limit(codec, maxBytes);
  try {
    return await inflateOffThread(codec, data, maxBytes);
  } catch (e) {
    const err = e as Error & { tooLarge?: boolean };
    if (err.tooLarge) throw limit(codec, maxBytes);
    throw new CoreError("CORRUPT_BATCH", `${codecName(codec)}: ${err.message}`, {}, { cause: err });
  }
}

function declaredBytes(codec: Codec, data: Uint8Array): number {
  return codec === Codec.Gzip ? gzipDeclaredBytes(data) : codec === Codec.Zstd ? zstdDeclaredBytes(data) : -1;
}

/** Our JS codecs on the main thread, from the next turn on: at most DECOMPRESS_TURN_MS of steps per
 * turn (at least one step, so that it always advances), then the rest of the turn is the others'. */
function inSlices(codec: Codec.Snappy | Codec.Lz4, data: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const steps = decompressSteps(codec, data, maxBytes, DECOMPRESS_STEP_BYTES);
  return new Promise((resolve, reject) => {
    const slice = () => {
      const started = performance.now();
      try {
        for (;;) {
          const r = steps.next();
          if (r.done) return resolve(r.value);
          if (performance.now() - started >= DECOMPRESS_TURN_MS) break;
        }
        setImmediate(slice);
      } catch (e) {
        reject(e);
      } finally {
        chargeTurn(performance.now() - started);
      }
    };
    setImmediate(slice);
  });
}

function limit(codec: Codec, maxBytes: number): CoreError {
  return new CoreError("DECOMPRESSION_LIMIT", `${codecName(codec)}: output would exceed the ${maxBytes}-byte cap`);
}

function spent(): CoreError {
  return new CoreError("DECOMPRESSION_LIMIT", `the request's batches decompress to more than ${REQUEST_DECOMPRESSED_BYTES_MAX} bytes together`);
}

/** The codec of a batch worth preparing (magic 2, compressed, known), else null: validation says why. */
function codecOf(batch: Uint8Array): Codec | null {
  if (batch.length <= BATCH_HEADER_BYTES || batch[OFF_MAGIC] !== 2) return null;
  const codec = batch[OFF_ATTRIBUTES + 1]! & ATTR_CODEC_MASK;
  return codec === Codec.None || codec > Codec.Zstd ? null : (codec as Codec);
}

/**
 * Decompresses the compressed batches of one request ahead of validation, within `budget`. Null
 * when all is done; else a promise of the rest (never rejects: failures are kept per batch).
 */
export function prepareDecompression(batches: readonly Uint8Array[], budget: DecompressionBudget): Promise<void> | null {
  let later: Uint8Array[] | null = null;
  for (const batch of batches) {
    const codec = codecOf(batch);
    if (codec === null || prepared.has(batch)) continue;
    if (later !== null) {
      later.push(batch);
      continue;
    }
    // Refusing costs time too (an error each; 1,000 refused bombs in one request took ~5 ms of a
    // cold broker): every batch counts against the turn, not only those inflated.
    if (!turnLeft()) {
      later = [batch];
      continue;
    }
    const started = performance.now();
    try {
      later = prepareOne(batch, codec, budget);
    } finally {
      chargeTurn(performance.now() - started);
    }
  }
  return later === null ? null : finishLater(later, budget);
}

/** Prepares one batch on the main thread if it may be; else returns [batch] for later. */
function prepareOne(batch: Uint8Array, codec: Codec, budget: DecompressionBudget): Uint8Array[] | null {
  if (budget.remaining <= 0) {
    prepared.set(batch, spent());
    return null;
  }
  const cap = Math.min(DECOMPRESSED_BYTES_MAX, budget.remaining);
  const syncCap = Math.min(cap, DECOMPRESS_SYNC_BYTES);
  // A stream that declares its size (codecs.ts) is judged on it: over the cap, refused without
  // inflating anything; over what the main thread takes, straight off it.
  const declared = declaredBytes(codec, batch.subarray(BATCH_HEADER_BYTES));
  if (declared > cap) {
    prepared.set(batch, declared > DECOMPRESSED_BYTES_MAX ? limit(codec, cap) : spent());
    return null;
  }
  if (declared > syncCap) return [batch];
  try {
    const section = decompress(codec, batch.subarray(BATCH_HEADER_BYTES), syncCap);
    budget.remaining -= section.length;
    prepared.set(batch, section);
  } catch (e) {
    const tooBig = e instanceof CoreError && e.code === "DECOMPRESSION_LIMIT";
    if (tooBig) budget.remaining -= syncCap;
    if (tooBig && syncCap < cap) return [batch];
    prepared.set(batch, tooBig ? limit(codec, cap) : (e as CoreError));
  }
  return null;
}

/** The rest, one batch after another (each may take the rest of the budget). */
async function finishLater(batches: Uint8Array[], budget: DecompressionBudget): Promise<void> {
  for (const batch of batches) {
    // A refusal settles without waiting for anything: many in a row would run in one turn.
    if (!turnLeft()) await nextTurn();
    let started = performance.now();
    const codec = codecOf(batch)!;
    if (budget.remaining <= 0) {
      prepared.set(batch, spent());
      chargeTurn(performance.now() - started);
      continue;
    }
    const cap = Math.min(DECOMPRESSED_BYTES_MAX, budget.remaining);
    const data = batch.subarray(BATCH_HEADER_BYTES);
    try {
      const inflating = offThreadSlot(() => (codec === Codec.Gzip || codec === Codec.Zstd ? zlibAsync(codec, data, cap) : inSlices(codec as Codec.Snappy | Codec.Lz4, data, cap)));
      chargeTurn(performance.now() - started);
      const section = await inflating;
      started = performance.now();
      budget.remaining -= section.length;
      prepared.set(batch, section);
      chargeTurn(performance.now() - started);
      await scanAhead(batch, section);
      started = performance.now();
    } catch (e) {
      started = performance.now();
      const err = e instanceof CoreError ? e : new CoreError("CORRUPT_BATCH", `${codecName(codec)}: ${(e as Error)?.message ?? e}`);
      if (err.code === "DECOMPRESSION_LIMIT") budget.remaining -= cap;
      prepared.set(batch, err);
    }
    chargeTurn(performance.now() - started);
  }
}
