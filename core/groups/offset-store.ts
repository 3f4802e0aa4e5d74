// Committed offsets, durable: an in-memory table (group → topic → partition → offset) backed by
// the broker's own log, so a commit is answered only once it is on disk under the broker's fsync
// policy (the same SyncScheduler as the topics: commits share group-commit fdatasyncs).
//
//   DATA/groups/log/<20-digit base>.log   PartitionLog of RecordBatch v2, one batch per request
//   DATA/groups/snapshot.json             the whole table as of log offset N (temp → fsync → rename)
//
// Records (key and value are JSON, UTF-8; a null value is a tombstone):
//
// | key                               | value                        | effect                     |
// |-----------------------------------|------------------------------|----------------------------|
// | {"k":"o","g":G,"t":T,"p":P}       | {"o":offset,"e","m","ts"}    | set G's offset for T/P     |
// | {"k":"o","g":G,"t":T,"p":P}       | null                         | forget G's offset for T/P  |
// | {"k":"g","g":G}                   | null                         | forget every offset of G   |
// | {"k":"t","t":T}                   | null                         | forget every offset of T   |
//
// snapshot.json: {"version":1,"offset":N,"entries":[[G,T,P,offset,epoch,metadata,ts],…]}.
//
// Compaction: once more records were appended since the last snapshot than COMPACT_RECORDS_MIN
// and twice the live entries, the table is written as a snapshot covering every applied record,
// then the log's start moves to that offset, which deletes the sealed segments below it.
//
// Order of steps (must not interleave differently):
// - write: encode one batch → PartitionLog.append (resolves once durable under the policy, in
//   log order) → apply to the table → maybe compact. Readers see a commit only after it is durable.
// - compact: serialize the table and the offset it covers (synchronously) → write snapshot.json
//   atomically → deleteRecordsBefore(offset). A crash between the two replays a few extra records.
// - open: read snapshot.json (if any) → open the log (recovering its tail) → replay records from
//   the snapshot's offset to the end.
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "../batch/record-batch.ts";
import type { RecordInput } from "../batch/record.ts";
import type { Clock } from "../clock.ts";
import { CoreError } from "../errors.ts";
import { type FileLayer, fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";
import type { SyncScheduler } from "../log/durability.ts";
import { PartitionLog } from "../log/partition-log.ts";
import { DEFAULT_LOG_CONFIG, type Logger } from "../log/types.ts";

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface OffsetCommitEntry extends CommittedOffset {
  topic: string;
  partition: number;
}

export interface OffsetStoreOptions {
  dataDir: string;
  fs: FileLayer;
  clock: Clock;
  scheduler: SyncScheduler;
  logger: Logger;
  /** Records since the last snapshot before compacting (tests lower it). */
  compactRecordsMin?: number;
  /** Segment size of the offsets log (tests lower it). */
  segmentBytes?: number;
}

/** Compact no more often than every this many records: a snapshot rewrites the whole table. */
const COMPACT_RECORDS_MIN = 20_000;
/** Small segments, so that compaction can drop the old ones soon. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
const READ_BYTES = 1024 * 1024;
const SNAPSHOT_FILE = "snapshot.json";

type Table = Map<string, Map<string, Map<number, CommittedOffset>>>;

interface Snapshot {
  version: 1;
  offset: number;
  entries: Array<[string, string, number, number, number, string | null, number]>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class OffsetStore {
  private readonly table: Table = new Map();
  /** One past the last record applied to the table. */
  private appliedOffset: number;
  private recordsSinceSnapshot = 0;
  private compacting: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly log: PartitionLog,
    private readonly opts: OffsetStoreOptions,
    from: number,
  ) {
    this.appliedOffset = from;
  }

  static async open(opts: OffsetStoreOptions): Promise<OffsetStore> {
    const { fs } = opts;
    const dir = joinPath(opts.dataDir, "groups");
    let snapshot: Snapshot | null;
    try {
      fs.mkdirp(dir);
      snapshot = readSnapshot(fs, joinPath(dir, SNAPSHOT_FILE));
    } catch (e) {
      throw storageError("cannot open the committed-offsets store", e, dir);
    }
    const log = await PartitionLog.open(joinPath(dir, "log"), { ...DEFAULT_LOG_CONFIG, segmentBytes: opts.segmentBytes ?? SEGMENT_BYTES, retentionMs: -1, retentionBytes: -1 }, {
      fs,
      clock: opts.clock,
      durability: opts.scheduler,
      logger: opts.logger,
      // The log is small (compacted): always check its tail rather than trust a marker.
      clean: false,
      topic: "__consumer_offsets",
      partition: 0,
    });
    const from = snapshot?.offset ?? 0;
    const store = new OffsetStore(dir, log, opts, from);
    if (snapshot) for (const [g, t, p, offset, leaderEpoch, metadata, commitTimestamp] of snapshot.entries) store.set(g, t, p, { offset, leaderEpoch, metadata, commitTimestamp });
    if (log.startOffset > from) {
      opts.logger.warn(`committed offsets: log starts at ${log.startOffset} but the snapshot covers only up to ${from}; records between are lost`);
    }
    store.replay(Math.max(from, log.startOffset));
    return store;
  }

  private replay(from: number): void {
    let off = from;
    while (off < this.log.highWatermark) {
      const { chunks } = this.log.read(off, READ_BYTES);
      if (chunks.length === 0) break;
      for (const chunk of chunks) {
        for (const span of iterateBatches(chunk)) {
          const { header, records } = decodeRecordBatch(span.bytes);
          for (const r of records) {
            if (r.offset >= off) this.applyRecord(r.key, r.value);
          }
          off = header.baseOffset + header.lastOffsetDelta + 1;
          this.recordsSinceSnapshot += records.length;
        }
      }
    }
    this.appliedOffset = Math.max(this.appliedOffset, off);
  }

  // --- reads ----------------------------------------------------------------------------------

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.table.get(group)?.get(topic)?.get(partition);
  }

  /** topic → partition → offset, for one group (empty if none). */
  groupOffsets(group: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> {
    return this.table.get(group) ?? new Map();
  }

  hasGroup(group: string): boolean {
    return this.table.has(group);
  }

  groups(): string[] {
    return [...this.table.keys()];
  }

  topics(): Set<string> {
    const out = new Set<string>();
    for (const byTopic of this.table.values()) for (const t of byTopic.keys()) out.add(t);
    return out;
  }

  get stats(): { entries: number; logStart: number; logEnd: number; segments: number } {
    let entries = 0;
    for (const byTopic of this.table.values()) for (const byPart of byTopic.values()) entries += byPart.size;
    return { entries, logStart: this.log.startOffset, logEnd: this.log.endOffset, segments: this.log.segmentCount };
  }

  // --- writes ---------------------------------------------------------------------------------

  /** Durably stores a group's offsets (one batch); resolves once they are on disk and visible. */
  async commit(group: string, entries: OffsetCommitEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.write(
      entries.map((e) => ({
        key: json({ k: "o", g: group, t: e.topic, p: e.partition }),
        value: json({ o: e.offset, e: e.leaderEpoch, m: e.metadata, ts: e.commitTimestamp }),
      })),
    );
  }

  /** Durably forgets every offset of `group`. */
  async deleteGroup(group: string): Promise<void> {
    await this.write([{ key: json({ k: "g", g: group }), value: null }]);
  }

  /** Durably forgets every group's offsets of `topic` (the topic was deleted). */
  async deleteTopic(topic: string): Promise<void> {
    await this.write([{ key: json({ k: "t", t: topic }), value: null }]);
  }

  private async write(records: RecordInput[]): Promise<void> {
    if (this.closed) throw new CoreError("CLOSED", "committed-offsets store is closed");
    const batch = encodeRecordBatch({ records, now: this.opts.clock.now() });
    const result = await this.log.append(batch);
    for (const r of records) this.applyRecord(r.key ?? null, r.value);
    this.appliedOffset = result.lastOffset + 1;
    this.recordsSinceSnapshot += records.length;
    this.maybeCompact();
  }

  private applyRecord(keyBytes: Uint8Array | null, valueBytes: Uint8Array | null): void {
    if (keyBytes === null) return;
    let key: { k?: string; g?: string; t?: string; p?: number };
    try {
      key = JSON.parse(decoder.decode(keyBytes));
    } catch {
      this.opts.logger.warn("committed offsets: skipped a record whose key is not JSON");
      return;
    }
    if (key.k === "g" && typeof key.g === "string") {
      this.table.delete(key.g);
    } else if (key.k === "t" && typeof key.t === "string") {
      for (const [g, byTopic] of this.table) {
        byTopic.delete(key.t);
        if (byTopic.size === 0) this.table.delete(g);
      }
    } else if (key.k === "o" && typeof key.g === "string" && typeof key.t === "string" && Number.isInteger(key.p)) {
      if (valueBytes === null) {
        this.remove(key.g, key.t, key.p!);
        return;
      }
      const v = JSON.parse(decoder.decode(valueBytes)) as { o: number; e: number; m: string | null; ts: number };
      this.set(key.g, key.t, key.p!, { offset: v.o, leaderEpoch: v.e, metadata: v.m, commitTimestamp: v.ts });
    }
  }

  private set(group: string, topic: string, partition: number, value: CommittedOffset): void {
    let byTopic = this.table.get(group);
    if (!byTopic) this.table.set(group, (byTopic = new Map()));
    let byPart = byTopic.get(topic);
    if (!byPart) byTopic.set(topic, (byPart = new Map()));
    byPart.set(partition, value);
  }

  private remove(group: string, topic: string, partition: number): void {
    const byTopic = this.table.get(group);
    const byPart = byTopic?.get(topic);
    if (!byTopic || !byPart) return;
    byPart.delete(partition);
    if (byPart.size === 0) byTopic.delete(topic);
    if (byTopic.size === 0) this.table.delete(group);
  }

  // --- compaction -----------------------------------------------------------------------------

  private maybeCompact(): void {
    if (this.compacting !== null || this.closed) return;
    const min = this.opts.compactRecordsMin ?? COMPACT_RECORDS_MIN;
    if (this.recordsSinceSnapshot < Math.max(min, 2 * this.stats.entries)) return;
    this.compacting = this.compact()
      .catch((e) => this.opts.logger.error(`committed offsets: compaction failed (retried later): ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.compacting = null;
      });
  }

  /** Writes the table as of the last applied record, then drops the log below it. */
  async compact(): Promise<void> {
    const offset = this.appliedOffset;
    const entries: Snapshot["entries"] = [];
    for (const [g, byTopic] of this.table) {
      for (const [t, byPart] of byTopic) for (const [p, c] of byPart) entries.push([g, t, p, c.offset, c.leaderEpoch, c.metadata, c.commitTimestamp]);
    }
    const snapshot: Snapshot = { version: 1, offset, entries };
    const recordsCovered = this.recordsSinceSnapshot;
    await writeFileAtomic(this.opts.fs, joinPath(this.dir, SNAPSHOT_FILE), encoder.encode(JSON.stringify(snapshot)));
    this.recordsSinceSnapshot -= recordsCovered;
    if (offset > this.log.startOffset) await this.log.deleteRecordsBefore(offset);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compacting;
    await this.log.close();
  }
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function readSnapshot(fs: FileLayer, path: string): Snapshot | null {
  if (fs.stat(path) === null) return null;
  const parsed = JSON.parse(decoder.decode(fs.readFile(path))) as Partial<Snapshot>;
  if (parsed.version !== 1 || !Number.isSafeInteger(parsed.offset) || !Array.isArray(parsed.entries)) {
    throw new Error(`${path} is not a version 1 offsets snapshot`);
  }
  return parsed as Snapshot;
}

function storageError(message: string, e: unknown, file: string): CoreError {
  if (e instanceof CoreError) return e;
  return new CoreError("STORAGE", `${message}: ${fsErrorCode(e) ?? (e instanceof Error ? e.message : String(e))}`, { file }, { cause: e });
}
