// The recent batches of a partition's active segment, kept in memory so that a consumer at the
// tail is served without reading back the file the broker has just written (issue #23): a fetch
// for the last few batches used to be a pread of the active segment into a fresh buffer.
//
// What is kept: copies of the batches appended last (as written: offsets, epoch, LogAppendTime
// and CRC already patched in), contiguous up to the log's end offset. A batch larger than a chunk
// is not kept, and it empties the cache (what stays must be contiguous). Entries go oldest first
// when the partition's share is full; the cache is emptied when the log forgets or rewrites data
// (a failed sync, truncation, restart) and when the segment rolls, so it only ever holds batches
// of the active segment: sealed segments, which compaction may rewrite, are always read from
// their files.
//
// Memory: batches are copied into chunks of TAIL_CACHE_CHUNK_BYTES, written once and never
// overwritten (a fetch answer may still hold a view of one on its way to the socket); a partition
// holds at most TAIL_CACHE_PARTITION_BYTES of them, and every partition's chunks count against one
// broker-wide TailCacheBudget (TAIL_CACHE_BYTES_MAX, core/limits.ts). When the budget is spent a
// partition makes room from its own chunks, or keeps nothing and reads from its file as before.
//
// Reads follow PartitionLog.read's rules exactly (KIP-74: the first batch whole unless
// `minOneBatch` is false, then whole batches within `maxBytes`; never a batch at or past
// `limit`); anything the cache cannot answer alone (an offset before its first batch) returns
// null and the log reads its files.
import { TAIL_CACHE_BYTES_MAX, TAIL_CACHE_CHUNK_BYTES, TAIL_CACHE_PARTITION_BYTES } from "../limits.ts";

/** Batches remembered per partition at most (the metadata ring's size). */
const ENTRIES_MAX = 1024;

/** The broker-wide bound on every partition's cached chunks. */
export class TailCacheBudget {
  heldBytes = 0;
  constructor(
    readonly bytesMax: number = TAIL_CACHE_BYTES_MAX,
    readonly partitionBytesMax: number = TAIL_CACHE_PARTITION_BYTES,
    readonly chunkBytes: number = TAIL_CACHE_CHUNK_BYTES,
  ) {}
}

export interface CachedRead {
  chunks: Uint8Array[];
  bytes: number;
}

export class TailCache {
  /** Chunks, oldest first; the last one is being filled. */
  private chunks: Uint8Array[] = [];
  /** Id of chunks[0]; ids rise by one per chunk. */
  private firstChunkId = 0;
  /** Bytes used in the last chunk. */
  private fill = 0;
  // The entries: a ring of `count` batches from `head`, in offset order.
  private readonly base = new Float64Array(ENTRIES_MAX);
  private readonly last = new Float64Array(ENTRIES_MAX);
  private readonly chunkOf = new Float64Array(ENTRIES_MAX);
  private readonly start = new Int32Array(ENTRIES_MAX);
  private readonly size = new Int32Array(ENTRIES_MAX);
  private head = 0;
  private count = 0;
  /** Reads answered from memory (tests and metrics). */
  hits = 0;

  constructor(private readonly budget: TailCacheBudget) {}

  get heldBytes(): number {
    return this.chunks.length * this.budget.chunkBytes;
  }

  /** The first offset held, or -1. */
  get firstOffset(): number {
    return this.count === 0 ? -1 : this.base[this.head]!;
  }

  /** `batch` was just written at the end of the log with offsets [base, last]: keep a copy. */
  add(batch: Uint8Array, base: number, last: number): void {
    const n = batch.length;
    if (n > this.budget.chunkBytes) return this.clear();
    if (this.count > 0 && this.last[this.at(this.count - 1)]! + 1 !== base) this.clear();
    if (this.chunks.length === 0 || this.fill + n > this.budget.chunkBytes) {
      if (!this.newChunk()) return this.clear();
    }
    if (this.count === ENTRIES_MAX) this.dropOldestEntry();
    this.chunks[this.chunks.length - 1]!.set(batch, this.fill);
    const i = this.at(this.count);
    this.base[i] = base;
    this.last[i] = last;
    this.chunkOf[i] = this.firstChunkId + this.chunks.length - 1;
    this.start[i] = this.fill;
    this.size[i] = n;
    this.count++;
    this.fill += n;
  }

  /**
   * Whole batches from the one holding `offset`, as PartitionLog.read would give them, or null
   * when the cache does not hold that batch (or the batch is not below `limit`).
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean, limit: number): CachedRead | null {
    if (this.count === 0 || offset < this.base[this.head]!) return null;
    let k = this.count - 1;
    while (k >= 0 && this.base[this.at(k)]! > offset) k--;
    if (k < 0) return null;
    const first = this.at(k);
    if (this.last[first]! < offset || this.last[first]! >= limit) return null;
    const chunks: Uint8Array[] = [];
    const firstSize = this.size[first]!;
    if (!minOneBatch && firstSize > maxBytes) return { chunks, bytes: 0 };
    const cap = Math.max(maxBytes, firstSize);
    let bytes = 0;
    let runChunk = -1;
    let runStart = 0;
    let runEnd = 0;
    for (; k < this.count; k++) {
      const i = this.at(k);
      const n = this.size[i]!;
      if (this.last[i]! >= limit || bytes + n > cap) break;
      const c = this.chunkOf[i]!;
      if (c === runChunk && this.start[i] === runEnd) runEnd += n;
      else {
        if (runChunk >= 0) chunks.push(this.chunks[runChunk - this.firstChunkId]!.subarray(runStart, runEnd));
        runChunk = c;
        runStart = this.start[i]!;
        runEnd = runStart + n;
      }
      bytes += n;
    }
    if (runChunk >= 0) chunks.push(this.chunks[runChunk - this.firstChunkId]!.subarray(runStart, runEnd));
    this.hits++;
    return { chunks, bytes };
  }

  /** Forgets everything and gives its chunks back to the budget. */
  clear(): void {
    this.budget.heldBytes -= this.chunks.length * this.budget.chunkBytes;
    this.firstChunkId += this.chunks.length;
    this.chunks = [];
    this.fill = 0;
    this.head = 0;
    this.count = 0;
  }

  private at(k: number): number {
    return (this.head + k) % ENTRIES_MAX;
  }

  /** A fresh chunk to fill, within the partition's share and the budget; false when none can be had. */
  private newChunk(): boolean {
    const { chunkBytes, partitionBytesMax, bytesMax } = this.budget;
    while (this.chunks.length > 0 && (this.chunks.length + 1) * chunkBytes > partitionBytesMax) this.dropOldestChunk();
    while (this.chunks.length > 0 && this.budget.heldBytes + chunkBytes > bytesMax) this.dropOldestChunk();
    if (this.budget.heldBytes + chunkBytes > bytesMax) return false;
    // Never reused: a fetch answer may still hold a view of an old chunk on its way out.
    this.chunks.push(new Uint8Array(chunkBytes));
    this.budget.heldBytes += chunkBytes;
    this.fill = 0;
    return true;
  }

  private dropOldestChunk(): void {
    const id = this.firstChunkId;
    while (this.count > 0 && this.chunkOf[this.head] === id) this.dropOldestEntry();
    this.chunks.shift();
    this.firstChunkId++;
    this.budget.heldBytes -= this.budget.chunkBytes;
    if (this.chunks.length === 0) this.fill = 0;
  }

  private dropOldestEntry(): void {
    this.head = (this.head + 1) % ENTRIES_MAX;
    this.count--;
  }
}
