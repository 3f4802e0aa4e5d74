// Committed offsets, durable: an in-memory table (group → topic → partition → offset) backed by
// the broker's own log, so a commit is answered only once it is on disk under the broker's fsync
// policy (the same SyncScheduler as the topics: commits share group-commit fdatasyncs).
//
//   DATA/groups/log/<20-digit base>.log   PartitionLog of RecordBatch v2, one batch per request
//   DATA/groups/snapshot.json             the whole table as of log offset N (temp → fsync → rename)
//   DATA/groups/snapshot.prev.json        the snapshot before it, kept in case the newest is damaged
//
// Records (key and value are JSON, UTF-8; a null value is a tombstone):
//
// | key                               | value                        | effect                     |
// |-----------------------------------|------------------------------|----------------------------|
// | {"k":"o","g":G,"t":T,"p":P}       | {"o":offset,"e","m","ts"}    | set G's offset for T/P     |
// | {"k":"o","g":G,"t":T,"p":P}       | null                         | forget G's offset for T/P  |
// | {"k":"g","g":G}                   | null                         | forget every offset of G   |
// | {"k":"t","t":T}                   | null                         | forget every offset of T   |
// | {"k":"x","g":G,"pid":I,"t":T,"p":P} | {"o":offset,"e","m","ts"}  | pending in I's transaction |
// | {"k":"e","g":G,"pid":I}           | {"c":true|false}             | I's transaction ended: its |
// |                                   |                              |   pending offsets of G are |
// |                                   |                              |   set (c) or dropped       |
//
// Pending offsets (issue #20, pending-offsets.ts) are not in the table until their transaction
// commits; forgetting a group or a topic forgets its pending offsets too.
//
// A snapshot: {"version":1,"offset":N,"entries":[[G,T,P,offset,epoch,metadata,ts],…],
// "pending":[[G,producerId,T,P,offset,epoch,metadata,ts],…],"crc32c":"…"} ("pending" only when
// a transaction has offsets pending; snapshots written before issue #20 have none)
// (crc32c: core/checked-json.ts; snapshots written before issue #7 have none and are read as
// before). A snapshot is damaged when it cannot be read, does not parse, its checksum differs, or
// its shape (fields, entry tuples) is wrong.
//
// Compaction: once more records were appended since the last snapshot than COMPACT_RECORDS_MIN
// and twice the live entries, the table is written as a snapshot covering every applied record;
// the snapshot it replaces becomes snapshot.prev.json, and the log's start moves up to *that*
// one's offset, deleting the sealed segments below it. So the log always reaches back to the
// older kept snapshot, and either snapshot plus the log rebuilds the whole table: a damaged
// newest snapshot loses nothing. The price: the log keeps one compaction interval more.
//
// Order of steps (must not interleave differently):
// - write: encode one batch → PartitionLog.append (resolves once durable under the policy, in
//   log order) → apply to the table → maybe compact. Readers see a commit only after it is durable.
// - compact: serialize the table and the offset it covers (synchronously) → if snapshot.json
//   verifies, copy its bytes to snapshot.prev.json atomically → write the new snapshot.json
//   atomically → deleteRecordsBefore(the offset of snapshot.prev.json). (Atomically: temp →
//   fdatasync → rename → fsync groups/.) A snapshot.json that does not verify is not kept as the
//   previous one: it is overwritten and the log start stays at the existing prev's offset.
//   A copy, not a rename of snapshot.json: a crash in the middle of a rename may leave both names
//   on one file (POSIX allows it; core/testing/memory-fs.ts does it), and one file is one copy.
//   A crash leaves snapshot.json = old or new and snapshot.prev.json = older or old, every one a
//   file of its own at or above the log start, which moves only once both writes are durable.
// - open: read both snapshots → open the log (recovering its tail) → take the newest snapshot
//   that verifies → if the log ends below its offset (under interval or never, a power loss took
//   the log's unsynced tail but not the synced snapshot), continue the log from that offset (see
//   continueFromSnapshot) → replay records from its offset to the end:
//
// | snapshot.json     | snapshot.prev.json | the table is rebuilt from                       |
// |-------------------|--------------------|-------------------------------------------------|
// | good              | any                | snapshot.json + the log after its offset        |
// | missing / damaged | good               | snapshot.prev.json + the log after its offset   |
// | missing / damaged | missing / damaged  | the whole log                                   |
//
//   Each damaged snapshot is said on stderr (one line each, at every open until a compaction
//   replaces it). If the log starts above the offset the table was rebuilt from, the records
//   between are lost and that is said too (only possible when both snapshots are damaged, or
//   with files from before the previous snapshot was kept).
//
// Asserted (programmer errors, issue #17; a client may commit any offset, lower ones included, so
// the committed values themselves are never asserted): the table applies records in log order
// (replay positions and appliedOffset only rise, and never pass the log's end); snapshots only
// move forward (each one's offset ≥ the one the table was loaded from or last written, so an
// older compaction cannot finish over a newer one); a snapshot is written from a table without
// empty maps, at an offset readSnapshot accepts.
import { assert } from "../assert.ts";
import { decodeRecordBatch, encodeRecordBatch, iterateBatches } from "../batch/record-batch.ts";
import type { RecordInput } from "../batch/record.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import type { Clock } from "../clock.ts";
import { CoreError } from "../errors.ts";
import { type FileLayer, fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";
import { giveBack } from "../lent-buffers.ts";
import { OFFSETS_COMPACT_RECORDS_MIN, OFFSETS_READ_BYTES, OFFSETS_SEGMENT_BYTES } from "../limits.ts";
import type { SyncScheduler } from "../log/durability.ts";
import { PartitionLog } from "../log/partition-log.ts";
import { DEFAULT_LOG_CONFIG, type Logger } from "../log/types.ts";
import { type PendingEntry, PendingOffsets } from "./pending-offsets.ts";
import type { CommittedOffset } from "./types.ts";

export type { CommittedOffset } from "./types.ts";

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

const COMPACT_RECORDS_MIN = OFFSETS_COMPACT_RECORDS_MIN;
const SEGMENT_BYTES = OFFSETS_SEGMENT_BYTES;
const READ_BYTES = OFFSETS_READ_BYTES;
const SNAPSHOT_FILE = "snapshot.json";
const PREV_SNAPSHOT_FILE = "snapshot.prev.json";

type Table = Map<string, Map<string, Map<number, CommittedOffset>>>;

interface Snapshot {
  version: 1;
  offset: number;
  entries: Array<[string, string, number, number, number, string | null, number]>;
  pending?: Array<[string, number, string, number, number, number, string | null, number]>;
}

/** A snapshot file read: missing, good (and its bytes), or damaged (and why). */
type SnapshotRead = { kind: "missing" } | { kind: "ok"; snapshot: Snapshot; bytes: Uint8Array } | { kind: "damaged"; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class OffsetStore {
  private readonly table: Table = new Map();
  /** Offsets committed in transactions that have not ended (pending-offsets.ts). */
  private readonly pending = new PendingOffsets();
  /** One past the last record applied to the table. */
  private appliedOffset: number;
  /** The offset of the snapshot the table was loaded from, then of each one written: only rises. */
  private snapshotOffset: number;
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
    this.snapshotOffset = from;
  }

  static async open(opts: OffsetStoreOptions): Promise<OffsetStore> {
    const { fs } = opts;
    const dir = joinPath(opts.dataDir, "groups");
    let snapshot: Snapshot | null = null;
    /** snapshot.json's bytes when it is the one used. */
    let newestBytes: Uint8Array | null = null;
    try {
      fs.mkdirp(dir);
      for (const name of [SNAPSHOT_FILE, PREV_SNAPSHOT_FILE]) {
        const read = readSnapshot(fs, joinPath(dir, name));
        if (read.kind === "damaged") {
          const fallback = snapshot !== null ? "not needed" : name === SNAPSHOT_FILE ? `falling back to ${PREV_SNAPSHOT_FILE} and the log` : "falling back to the log";
          opts.logger.warn(`committed offsets: ${joinPath(dir, name)} is damaged (${read.reason}); ${fallback}`);
        }
        if (read.kind === "ok" && snapshot === null) {
          snapshot = read.snapshot;
          if (name === SNAPSHOT_FILE) newestBytes = read.bytes;
        }
      }
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
    if (log.endOffset < from) await continueFromSnapshot(log, from, newestBytes, dir, opts);
    const store = new OffsetStore(dir, log, opts, from);
    if (snapshot) for (const [g, t, p, offset, leaderEpoch, metadata, commitTimestamp] of snapshot.entries) store.set(g, t, p, { offset, leaderEpoch, metadata, commitTimestamp });
    for (const [g, pid, topic, partition, offset, leaderEpoch, metadata, commitTimestamp] of snapshot?.pending ?? []) store.pending.add(g, pid, { topic, partition, offset, leaderEpoch, metadata, commitTimestamp });
    if (log.startOffset > from) {
      opts.logger.warn(`committed offsets: log starts at ${log.startOffset} but the snapshot covers only up to ${from}; records between are lost`);
    }
    store.replay(Math.max(from, log.startOffset));
    assert(store.appliedOffset >= from && store.appliedOffset <= log.endOffset, `committed offsets: the table covers up to ${store.appliedOffset}, outside ${from}..${log.endOffset}`);
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
          const next = header.baseOffset + header.lastOffsetDelta + 1;
          // A read from `off` starts with the batch holding it: each batch ends above the last.
          assert(next > off, `committed offsets: replay from ${off} read a batch ending at ${next}`);
          off = next;
          this.recordsSinceSnapshot += records.length;
        }
        // applyRecord keeps strings and numbers, no views: a large read's buffer can be lent again.
        giveBack(chunk);
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

  /** What producer `producerId`'s transaction has pending in `group` (cluster mode replicates it at the end). */
  pendingOf(group: string, producerId: number): PendingEntry[] {
    return this.pending.peek(group, producerId);
  }

  /** Every group and producer with offsets pending. */
  pendingTransactions(): Array<{ group: string; producerId: number }> {
    return this.pending.transactions();
  }

  /** The groups where producer `producerId`'s transaction has offsets pending. */
  pendingGroups(producerId: number): string[] {
    return this.pending.groupsOf(producerId);
  }

  /** Whether a transaction has an offset of this partition pending (OffsetFetch's require_stable). */
  hasPending(group: string, topic: string, partition: number): boolean {
    return this.pending.has(group, topic, partition);
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

  /** Durably stores offsets pending in producer `producerId`'s transaction (TxnOffsetCommit): one batch. */
  async commitPending(group: string, producerId: number, entries: OffsetCommitEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.write(
      entries.map((e) => ({
        key: json({ k: "x", g: group, pid: producerId, t: e.topic, p: e.partition }),
        value: json({ o: e.offset, e: e.leaderEpoch, m: e.metadata, ts: e.commitTimestamp }),
      })),
    );
  }

  /** Durably ends producer `producerId`'s transaction for `group`: its pending offsets are set (commit) or dropped. */
  async endTransaction(group: string, producerId: number, commit: boolean): Promise<void> {
    await this.write([{ key: json({ k: "e", g: group, pid: producerId }), value: json({ c: commit }) }]);
  }

  /** Durably forgets `group`'s offsets of these partitions (OffsetDelete): one batch of tombstones. */
  async deleteOffsets(group: string, partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    if (partitions.length === 0) return;
    await this.write(partitions.map((p) => ({ key: json({ k: "o", g: group, t: p.topic, p: p.partition }), value: null })));
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
    // Appends resolve in log order: the table sees records in the order a replay would.
    assert(result.baseOffset >= this.appliedOffset, `committed offsets: batch at ${result.baseOffset} applied after ${this.appliedOffset}`);
    for (const r of records) this.applyRecord(r.key ?? null, r.value);
    this.appliedOffset = result.lastOffset + 1;
    this.recordsSinceSnapshot += records.length;
    this.maybeCompact();
  }

  private applyRecord(keyBytes: Uint8Array | null, valueBytes: Uint8Array | null): void {
    if (keyBytes === null) return;
    let key: { k?: string; g?: string; t?: string; p?: number; pid?: number };
    try {
      key = JSON.parse(decoder.decode(keyBytes));
    } catch {
      this.opts.logger.warn("committed offsets: skipped a record whose key is not JSON");
      return;
    }
    if (key.k === "g" && typeof key.g === "string") {
      this.table.delete(key.g);
      this.pending.dropGroup(key.g);
    } else if (key.k === "x" && typeof key.g === "string" && Number.isSafeInteger(key.pid) && typeof key.t === "string" && Number.isInteger(key.p) && valueBytes !== null) {
      const v = JSON.parse(decoder.decode(valueBytes)) as { o: number; e: number; m: string | null; ts: number };
      this.pending.add(key.g, key.pid!, { topic: key.t, partition: key.p!, offset: v.o, leaderEpoch: v.e, metadata: v.m, commitTimestamp: v.ts });
    } else if (key.k === "e" && typeof key.g === "string" && Number.isSafeInteger(key.pid) && valueBytes !== null) {
      const commit = (JSON.parse(decoder.decode(valueBytes)) as { c?: unknown }).c === true;
      for (const e of this.pending.take(key.g, key.pid!)) {
        if (commit) this.set(key.g, e.topic, e.partition, { offset: e.offset, leaderEpoch: e.leaderEpoch, metadata: e.metadata, commitTimestamp: e.commitTimestamp });
      }
    } else if (key.k === "t" && typeof key.t === "string") {
      this.pending.dropTopic(key.t);
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
    assert(offset >= this.snapshotOffset, `committed offsets: a snapshot at ${offset}, below the last one at ${this.snapshotOffset}`);
    assert(offset <= this.log.endOffset, `committed offsets: a snapshot at ${offset}, above the log's end ${this.log.endOffset}`);
    // The pair of readSnapshot's check of the offset. Entries are not asserted: they hold what
    // clients committed, and a client may commit an offset above 2^53, which isEntry refuses on
    // read (the whole snapshot then reads as damaged: a known problem, not an invariant).
    assert(Number.isSafeInteger(offset) && offset >= 0, `committed offsets: a snapshot at ${offset}`);
    const entries: Snapshot["entries"] = [];
    for (const [g, byTopic] of this.table) {
      // hasGroup (the coordinator's test for a group with offsets) relies on no empty maps.
      assert(byTopic.size > 0, `committed offsets: group ${g} has an empty entry`);
      for (const [t, byPart] of byTopic) {
        assert(byPart.size > 0, `committed offsets: group ${g} topic ${t} has an empty entry`);
        for (const [p, c] of byPart) entries.push([g, t, p, c.offset, c.leaderEpoch, c.metadata, c.commitTimestamp]);
      }
    }
    const pending = this.pending.rows();
    const snapshot: Snapshot = pending.length > 0 ? { version: 1, offset, entries, pending } : { version: 1, offset, entries };
    const recordsCovered = this.recordsSinceSnapshot;
    const { fs } = this.opts;
    const path = joinPath(this.dir, SNAPSHOT_FILE);
    const prevPath = joinPath(this.dir, PREV_SNAPSHOT_FILE);
    // The offset the log must still reach back to: the snapshot kept as the previous one.
    let keepFrom: number | null = null;
    const current = readSnapshot(fs, path);
    if (current.kind === "ok") {
      await writeFileAtomic(fs, prevPath, current.bytes);
      keepFrom = current.snapshot.offset;
    } else {
      const prev = readSnapshot(fs, prevPath);
      if (prev.kind === "ok") keepFrom = prev.snapshot.offset;
    }
    // Checked again after the awaits: a compaction that overlapped this one may have written a newer one.
    assert(offset >= this.snapshotOffset, `committed offsets: a snapshot at ${offset}, below the last one at ${this.snapshotOffset}`);
    await writeFileAtomic(fs, path, encodeCheckedJson({ ...snapshot }));
    this.snapshotOffset = offset;
    this.recordsSinceSnapshot -= recordsCovered;
    assert(this.recordsSinceSnapshot >= 0, "committed offsets: more records covered than appended");
    if (keepFrom !== null && keepFrom > this.log.startOffset) await this.log.deleteRecordsBefore(keepFrom);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compacting;
    await this.log.close();
  }
}

/**
 * The log ends below the snapshot's offset: under interval or never its unsynced tail was lost in a
 * power loss while the snapshot, written atomically, was not. Appended from its end, new records
 * would get offsets below the snapshot's and the next open, replaying from there, would skip them.
 * So the log continues from the snapshot's offset. What it lost is in the snapshot; snapshot.json,
 * when it is the one used, is first copied to snapshot.prev.json so that the log, now starting at
 * its offset, still reaches back to the previous snapshot (the open table in the file comment).
 * A crash in between: both copies are whole files, and the next open finds the log short again.
 */
async function continueFromSnapshot(log: PartitionLog, from: number, newestBytes: Uint8Array | null, dir: string, opts: OffsetStoreOptions): Promise<void> {
  opts.logger.warn(`committed offsets: the log ends at ${log.endOffset}, below the snapshot's offset ${from} (its unsynced tail was lost); it continues from ${from}`);
  try {
    if (newestBytes !== null) await writeFileAtomic(opts.fs, joinPath(dir, PREV_SNAPSHOT_FILE), newestBytes);
    await log.restartAt(from);
  } catch (e) {
    await log.close().catch(() => {});
    throw storageError("cannot continue the committed-offsets log from its snapshot", e, dir);
  }
}

function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

const SNAPSHOT_FIELDS = ["version", "offset", "entries"] as const;

/** A snapshot file: missing, good, or damaged; throws only when the file system fails stat. */
function readSnapshot(fs: FileLayer, path: string): SnapshotRead {
  if (fs.stat(path) === null) return { kind: "missing" };
  let bytes: Uint8Array;
  try {
    bytes = fs.readFile(path);
  } catch (e) {
    return { kind: "damaged", reason: `cannot read it: ${fsErrorCode(e) ?? String(e)}` };
  }
  const read = readCheckedJson(bytes);
  if (!read.ok) return { kind: "damaged", reason: read.reason };
  const s = read.value;
  if (!hasExactKeys(s, SNAPSHOT_FIELDS, ["pending"]) || s.version !== 1 || !Number.isSafeInteger(s.offset) || (s.offset as number) < 0 || !Array.isArray(s.entries)) {
    return { kind: "damaged", reason: "not a version 1 offsets snapshot" };
  }
  const bad = (s.entries as unknown[]).findIndex((e) => !isEntry(e));
  if (bad >= 0) return { kind: "damaged", reason: `entry ${bad} is not [group, topic, partition, offset, epoch, metadata, timestamp]` };
  if (s.pending !== undefined && (!Array.isArray(s.pending) || !(s.pending as unknown[]).every((e) => Array.isArray(e) && Number.isSafeInteger(e[1]) && isEntry([e[0], ...e.slice(2)])))) {
    return { kind: "damaged", reason: "pending is not a list of [group, producer id, topic, partition, offset, epoch, metadata, timestamp]" };
  }
  return { kind: "ok", snapshot: s as unknown as Snapshot, bytes };
}

function isEntry(e: unknown): boolean {
  if (!Array.isArray(e) || e.length !== 7) return false;
  const [g, t, p, offset, epoch, metadata, ts] = e as unknown[];
  return (
    typeof g === "string" &&
    typeof t === "string" &&
    Number.isSafeInteger(p) &&
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(epoch) &&
    (metadata === null || typeof metadata === "string") &&
    typeof ts === "number"
  );
}

function storageError(message: string, e: unknown, file: string): CoreError {
  if (e instanceof CoreError) return e;
  return new CoreError("STORAGE", `${message}: ${fsErrorCode(e) ?? (e instanceof Error ? e.message : String(e))}`, { file }, { cause: e });
}
