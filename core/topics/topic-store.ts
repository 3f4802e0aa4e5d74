// The topic registry: which topics exist, their ids, configs and partition logs, kept under
// `DATA/topics/<topic>/` with `topic.json` beside the partition directories:
//
//   DATA/.clean-shutdown                 present only between a clean close and the next open
//   DATA/topics/<topic>/topic.json       {"version":1,"name","topicId","partitions","configs"}
//   DATA/topics/<topic>/<partition>/     segments (core/log)
//   DATA/topics/<topic>~deleted-<uuid>/  a deleted topic on its way out ('~' is never in a name)
//
// topic.json is indented JSON with a checksum as its last field, "crc32c" (core/checked-json.ts:
// CRC-32C of the compact JSON of the other fields). Files without it (written before issue #7)
// are read as before. Exactly the five fields above, the name equal to the directory's, a UUID,
// 1..PARTITIONS_PER_TOPIC_MAX partitions and valid configs, or the file is damaged.
//
// Opening one entry of DATA/topics/ (every entry matches exactly one row, first match wins):
//
// | # | entry                                              | action                                                       |
// |---|----------------------------------------------------|--------------------------------------------------------------|
// | 1 | not a directory                                    | ignored                                                      |
// | 2 | '~deleted-' in its name, or not a legal topic name  | REMOVED: a delete that did not finish; reported              |
// | 3 | no topic.json                                      | REMOVED: a create that did not finish; reported              |
// | 4 | topic.json unreadable, empty, not JSON, checksum   | DAMAGED TOPIC: nothing opened, nothing deleted, the broker   |
// |   |   mismatch, wrong shape or invalid configs         |   starts; warned at every open and in recoveryReport         |
// | 5 | topic.json good (checksum matches, or none)        | OPEN: every partition log, recovering it after an unclean stop |
//
// Why a damaged topic.json is kept, not removed like row 3 nor fatal as before issue #7: its
// partition directories hold acknowledged records that a rewritten topic.json makes readable
// again, and one topic must not keep the others offline. A damaged topic's name stays taken:
//
// | operation on a damaged topic's name                  | answer                                                 |
// |------------------------------------------------------|--------------------------------------------------------|
// | topic(name), topics(), lookups by topic ID           | absent (undefined; not listed)                         |
// | requireTopic(name): reads, writes, configs           | CoreError STORAGE (Kafka: KAFKA_STORAGE_ERROR; HTTP 507) |
// | createTopic(name)                                    | CoreError TOPIC_EXISTS                                 |
// | deleteTopic(name)                                    | allowed: the directory is removed (the operator's way out) |
// | damagedTopic(name), damagedTopics()                  | the file and why it was refused                        |
//
// Order of steps that must not interleave:
// - create: reserve the name (synchronously) → mkdir the topic and partition directories → open
//   the partition logs → write topic.json (temp → fsync → rename → fsync dir) → fsync topics/ →
//   publish. topic.json is the commit point: a directory without it is an unfinished create and
//   is removed at open.
// - delete: unpublish (synchronously; the name stays reserved) → close the logs → rename the
//   directory aside → fsync topics/ → remove the renamed tree → release the name.
// - grow (CreatePartitions), queued with the topic's other topic.json rewrites: mkdir and open the
//   new partition logs → rewrite topic.json with the new count (the commit point; directories
//   past the count in topic.json are leftovers, ignored at open, replaced by the next grow) →
//   publish the new partitions.
// - open: note and remove the clean-shutdown marker → remove leftovers → open every topic's logs
//   (recovering them unless the marker was there).
// - close: refuse new work → close every log (sync, indexes) → write the marker.
//
// Asserted (programmer errors, issue #17; names, partition counts and configs from clients and
// from topic.json are checked before they get here): a published topic has a legal name, a 16-byte
// id (new ids unique), 1..PARTITIONS_PER_TOPIC_MAX partitions with log i in <topic>/<i>; a name is
// published once and never while damaged, and reserved (busy) once; a partition count never
// shrinks; topic.json rewrites of a topic run in the order they were queued; a deleted topic's
// logs are all closed and its rewrites all settled before its directory goes.
import { assert } from "../assert.ts";
import { type Clock, systemClock } from "../clock.ts";
import { CHECKSUM_FIELD, encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import { CoreError } from "../errors.ts";
import { type FileLayer, NodeFileLayer, fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";
import { PARTITIONS_PER_TOPIC_MAX } from "../limits.ts";
import { type FsyncPolicy, SyncScheduler, parseFsyncPolicy } from "../log/durability.ts";
import { TailCacheBudget } from "../log/tail-cache.ts";
import { PartitionLog, type RetentionResult } from "../log/partition-log.ts";
import { reclaimReleasedMappings } from "../log/segment.ts";
import { type DamagedRange, type Logger, type PartitionRecovery, type RecoveryCut, silentLogger } from "../log/types.ts";
import { CONFIG_KEYS, type TopicConfigs, configStrings, effectiveConfigs, isConfigKey, logConfigOf, validateConfigs } from "./configs.ts";
import { collisionKey, topicNameProblem, validateTopicName } from "./names.ts";

export const CLEAN_SHUTDOWN_MARKER = ".clean-shutdown";
const TOPIC_FILE = "topic.json";
const TRASH_MARK = "~deleted-";
/** Partitions created per turn of the event loop (each is a directory, a file and syncs). */
const CREATE_CHUNK_PARTITIONS = 16;

export interface TopicStoreOptions {
  dataDir: string;
  fsync?: FsyncPolicy | string;
  fs?: FileLayer;
  clock?: Clock;
  logger?: Logger;
  /** Broker-wide config defaults (validated like topic configs). */
  defaults?: Record<string, string>;
}

export interface RecoveryReport {
  /** The clean-shutdown marker was there. */
  clean: boolean;
  ms: number;
  partitions: number;
  segmentsScanned: number;
  bytesScanned: number;
  indexesRebuilt: string[];
  cuts: RecoveryCut[];
  /** Damage in the middle of a log: kept, reported, unreadable (issue #7). */
  damaged: DamagedRange[];
  /** Unfinished creates and deletes cleaned up. */
  removed: string[];
  /** Topics whose topic.json is damaged: kept unopened, their files untouched (issue #7). */
  damagedTopics: DamagedTopic[];
}

/** A topic directory whose topic.json cannot be trusted, and why. */
export interface DamagedTopic {
  topic: string;
  file: string;
  reason: string;
}

export class Topic {
  constructor(
    readonly name: string,
    readonly topicId: Uint8Array,
    readonly partitions: PartitionLog[],
    /** Effective configs (defaults + overrides). Replaced whole on alter. */
    public configs: TopicConfigs,
    /** Only what was set on this topic, as strings. */
    public overrides: Record<string, string>,
  ) {
    assert(topicNameProblem(name) === null, `topic '${name}': a topic has a legal name`);
    assert(topicId.length === 16, `topic '${name}': a topic id is 16 bytes, not ${topicId.length}`);
    assert(partitions.length >= 1 && partitions.length <= PARTITIONS_PER_TOPIC_MAX, `topic '${name}': ${partitions.length} partitions`);
  }

  get topicIdString(): string {
    return uuidString(this.topicId);
  }
}

/** The store's bookkeeping of one published topic. */
interface TopicBook {
  /** The partition count in its topic.json as last written or read: only grows. */
  partitions: number;
  /** topic.json rewrites queued (alterConfigs) and settled, each numbered in queue order. */
  metaQueued: number;
  metaSettled: number;
}

interface TopicFile {
  version: 1;
  name: string;
  topicId: string;
  partitions: number;
  configs: Record<string, string>;
}

export class TopicStore {
  private readonly byName = new Map<string, Topic>();
  /** Topics with a damaged topic.json: not published, name taken, deletable. */
  private readonly damaged = new Map<string, DamagedTopic>();
  /** Names being created or deleted: not published, not free. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private closed = false;
  /** Serializes topic.json rewrites per topic. */
  private readonly metaWrites = new Map<string, Promise<unknown>>();
  private readonly deleteListeners = new Set<(name: string) => void>();
  private readonly books = new WeakMap<Topic, TopicBook>();

  private constructor(
    readonly dataDir: string,
    readonly fs: FileLayer,
    readonly clock: Clock,
    readonly logger: Logger,
    readonly scheduler: SyncScheduler,
    readonly defaults: Record<string, string>,
    public recoveryReport: RecoveryReport,
  ) {}

  /** Every partition's tail cache counts against this one budget (core/log/tail-cache.ts). */
  readonly tailCache = new TailCacheBudget();

  get fsyncPolicy(): FsyncPolicy {
    return this.scheduler.policy;
  }

  private get topicsDir(): string {
    return joinPath(this.dataDir, "topics");
  }

  static async open(options: TopicStoreOptions): Promise<TopicStore> {
    const fs = options.fs ?? new NodeFileLayer();
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    const policy = typeof options.fsync === "string" ? parseFsyncPolicy(options.fsync) : (options.fsync ?? { mode: "always" });
    const defaults = validateConfigs(options.defaults ?? {});
    const started = performance.now();
    const dataDir = options.dataDir;
    const topicsDir = joinPath(dataDir, "topics");
    const marker = joinPath(dataDir, CLEAN_SHUTDOWN_MARKER);
    let clean: boolean;
    try {
      // A data dir without topics/ is new: nothing to recover, so it opens as clean.
      const fresh = fs.stat(topicsDir) === null;
      fs.mkdirp(topicsDir);
      await fs.fsyncDir(dataDir);
      const marked = fs.stat(marker) !== null;
      clean = fresh || marked;
      if (marked) {
        fs.unlink(marker);
        await fs.fsyncDir(dataDir);
      }
    } catch (e) {
      throw storageError("cannot open data directory", e, dataDir);
    }
    const report: RecoveryReport = { clean, ms: 0, partitions: 0, segmentsScanned: 0, bytesScanned: 0, indexesRebuilt: [], cuts: [], damaged: [], removed: [], damagedTopics: [] };
    const store = new TopicStore(dataDir, fs, clock, logger, new SyncScheduler(policy), defaults, report);
    try {
      await store.load(clean);
    } catch (e) {
      store.scheduler.close();
      throw e;
    }
    report.ms = performance.now() - started;
    if (!clean) {
      logger.info(
        `recovery after unclean stop: ${report.partitions} partition(s), scanned ${report.bytesScanned} bytes in ${report.ms.toFixed(0)} ms, ` +
          `${report.cuts.length} cut(s)${report.cuts.length ? `: ${report.cuts.map((c) => `${c.topic}/${c.partition} ${c.bytesCut} bytes from offset ${c.firstOffsetLost}`).join("; ")}` : ""}`,
      );
    }
    if (report.damaged.length > 0) {
      // Damage is not a matter of an unclean stop: say it at every open until it is dealt with.
      logger.warn(
        `recovery: ${report.damaged.length} damaged range(s) kept, unreadable: ` +
          report.damaged.map((d) => `${d.topic}/${d.partition} offsets ${d.firstOffset}..${d.endOffset - 1} (${d.file} bytes ${d.position}..${d.end})`).join("; "),
      );
    }
    for (const d of report.damagedTopics) {
      // Like damaged ranges: said at every open until the file is restored or the topic deleted.
      logger.warn(`topic '${d.topic}' kept unopened: ${d.file} is damaged (${d.reason}); its data files are untouched; restore the file or delete the topic`);
    }
    return store;
  }

  private async load(clean: boolean): Promise<void> {
    const { fs } = this;
    for (const entry of fs.readdir(this.topicsDir)) {
      const dir = joinPath(this.topicsDir, entry);
      if (!fs.stat(dir)?.isDirectory) continue;
      const file = joinPath(dir, TOPIC_FILE);
      if (entry.includes(TRASH_MARK) || topicNameProblem(entry) !== null || fs.stat(file) === null) {
        // A delete or a create that did not finish.
        fs.rmrf(dir);
        this.recoveryReport.removed.push(dir);
        this.logger.warn(`removed unfinished topic directory ${dir}`);
        continue;
      }
      const read = readTopicFile(fs, file, entry);
      if ("reason" in read) {
        const damaged: DamagedTopic = { topic: entry, file, reason: read.reason };
        this.damaged.set(entry, damaged);
        this.recoveryReport.damagedTopics.push(damaged);
        continue;
      }
      const { meta, overrides } = read;
      let configs: TopicConfigs;
      try {
        configs = effectiveConfigs(this.defaults, overrides, entry);
      } catch (e) {
        const damaged: DamagedTopic = { topic: entry, file, reason: `invalid configs: ${e instanceof Error ? e.message : String(e)}` };
        this.damaged.set(entry, damaged);
        this.recoveryReport.damagedTopics.push(damaged);
        continue;
      }
      const logs: PartitionLog[] = [];
      for (let p = 0; p < meta.partitions; p++) logs.push(await this.openLog(meta.name, p, configs, clean));
      const topic = new Topic(meta.name, uuidBytes(meta.topicId), logs, configs, overrides);
      assert(topic.topicIdString === meta.topicId.toLowerCase(), `topic '${meta.name}': id ${meta.topicId} reads back as ${topic.topicIdString}`);
      this.publish(topic);
      this.absorb(logs.map((l) => l.recovery));
    }
  }

  /** Makes a topic visible: the one writer of byName's entries (load and create). */
  private publish(topic: Topic): void {
    const { name } = topic;
    assert(!this.byName.has(name) && !this.damaged.has(name), `topic '${name}' is published once, and not while damaged`);
    for (const [p, log] of topic.partitions.entries()) {
      assert(log.dir === joinPath(this.topicsDir, name, String(p)), `topic '${name}': partition ${p}'s log is ${log.dir}`);
    }
    this.books.set(topic, { partitions: topic.partitions.length, metaQueued: 0, metaSettled: 0 });
    this.byName.set(name, topic);
  }

  private absorb(reports: PartitionRecovery[]): void {
    const r = this.recoveryReport;
    for (const p of reports) {
      r.partitions++;
      r.segmentsScanned += p.segmentsScanned;
      r.bytesScanned += p.bytesScanned;
      r.indexesRebuilt.push(...p.indexesRebuilt);
      r.cuts.push(...p.cuts);
      r.damaged.push(...p.damaged);
    }
  }

  private openLog(topic: string, partition: number, configs: TopicConfigs, clean: boolean): Promise<PartitionLog> {
    return PartitionLog.open(joinPath(this.topicsDir, topic, String(partition)), logConfigOf(configs), {
      fs: this.fs,
      clock: this.clock,
      durability: this.scheduler,
      tailCache: this.tailCache,
      logger: this.logger,
      clean,
      topic,
      partition,
    });
  }

  topic(name: string): Topic | undefined {
    return this.byName.get(name);
  }

  /** Resolves once a create or delete of `name` in flight has finished (at once if none). */
  async settled(name: string): Promise<void> {
    await this.busy.get(name)?.catch(() => {});
  }

  topics(): Topic[] {
    return [...this.byName.values()];
  }

  /** The topic, or CoreError UNKNOWN_TOPIC, or STORAGE when its topic.json is damaged. */
  requireTopic(name: string): Topic {
    const topic = this.byName.get(name);
    if (topic !== undefined) return topic;
    const damaged = this.damaged.get(name);
    if (damaged !== undefined) {
      throw new CoreError("STORAGE", `topic '${name}' is unavailable: its topic.json is damaged (${damaged.reason})`, { topic: name, file: damaged.file });
    }
    throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' does not exist`, { topic: name });
  }

  /** Why `name` is a damaged topic, or undefined when it is not one. */
  damagedTopic(name: string): DamagedTopic | undefined {
    return this.damaged.get(name);
  }

  damagedTopics(): DamagedTopic[] {
    return [...this.damaged.values()];
  }

  private checkOpen(): void {
    if (this.closed) throw new CoreError("CLOSED", "topic store is closed");
  }

  /** Creates a topic; of concurrent creates of one name exactly one succeeds (TOPIC_EXISTS). */
  async createTopic(name: string, partitions: number, configs?: Record<string, string>): Promise<Topic>;
  async createTopic(name: string, partitions: number, configs: Record<string, string> | undefined, options: { validateOnly?: boolean; topicId?: Uint8Array }): Promise<Topic | undefined>;
  async createTopic(name: string, partitions: number, configs: Record<string, string> = {}, options: { validateOnly?: boolean; topicId?: Uint8Array } = {}): Promise<Topic | undefined> {
    this.checkOpen();
    validateTopicName(name);
    if (this.byName.has(name) || this.busy.has(name) || this.damaged.has(name)) throw new CoreError("TOPIC_EXISTS", `topic '${name}' already exists`, { topic: name });
    const collides = [...this.byName.keys(), ...this.busy.keys(), ...this.damaged.keys()].find((t) => t !== name && collisionKey(t) === collisionKey(name));
    if (collides !== undefined) {
      throw new CoreError("INVALID_TOPIC", `topic '${name}' collides with existing topic '${collides}' ('.' and '_' are the same in metric names)`, { topic: name });
    }
    if (!Number.isInteger(partitions) || partitions <= 0 || partitions > PARTITIONS_PER_TOPIC_MAX) {
      throw new CoreError("INVALID_PARTITIONS", `partitions must be between 1 and ${PARTITIONS_PER_TOPIC_MAX}, got ${partitions}`, { topic: name });
    }
    const overrides = validateConfigs(configs, name);
    effectiveConfigs(this.defaults, overrides, name); // what spans keys (min ≤ max compaction lag)
    if (options.validateOnly) return undefined;
    assert(!this.busy.has(name), `topic '${name}' is reserved once`);
    const work = this.doCreate(name, partitions, overrides, options.topicId);
    this.busy.set(name, work);
    try {
      return await work;
    } finally {
      this.busy.delete(name);
    }
  }

  /** `topicId`: the cluster's id for the topic (every replica's copy has the same one). */
  private async doCreate(name: string, partitions: number, overrides: Record<string, string>, givenId?: Uint8Array): Promise<Topic> {
    const { fs } = this;
    const dir = joinPath(this.topicsDir, name);
    const configs = effectiveConfigs(this.defaults, overrides);
    const topicId = givenId ?? newTopicId();
    const logs: PartitionLog[] = [];
    try {
      // In chunks, yielding between them: a create of thousands of partitions must not stall
      // every other client for the whole of its synchronous file work (issue #7).
      for (let from = 0; from < partitions; from += CREATE_CHUNK_PARTITIONS) {
        const to = Math.min(partitions, from + CREATE_CHUNK_PARTITIONS);
        for (let p = from; p < to; p++) fs.mkdirp(joinPath(dir, String(p)));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await fs.fsyncDir(dir);
      for (let from = 0; from < partitions; from += CREATE_CHUNK_PARTITIONS) {
        const to = Math.min(partitions, from + CREATE_CHUNK_PARTITIONS);
        logs.push(...(await Promise.all(Array.from({ length: to - from }, (_, i) => this.openLog(name, from + i, configs, true)))));
      }
      const meta: TopicFile = { version: 1, name, topicId: uuidString(topicId), partitions, configs: overrides };
      await writeFileAtomic(fs, joinPath(dir, TOPIC_FILE), encodeTopicFile(meta));
      await fs.fsyncDir(this.topicsDir);
    } catch (e) {
      await Promise.allSettled(logs.map((l) => l.close()));
      try {
        fs.rmrf(dir);
      } catch {
        // removed at the next open: no topic.json
      }
      throw storageError(`cannot create topic '${name}'`, e, dir, name);
    }
    const topic = new Topic(name, topicId, logs, configs, overrides);
    assert(this.busy.has(name), `topic '${name}' is published by the create that reserved it`);
    for (const other of this.byName.values()) assert(!bytesEqual(other.topicId, topicId), `topic '${name}': a new id already held by topic '${other.name}'`);
    this.publish(topic);
    return topic;
  }

  /** Removes the topic from the registry at once, then its files. */
  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    const topic = this.byName.get(name);
    const damaged = this.damaged.get(name);
    if (topic === undefined && damaged === undefined) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' does not exist`, { topic: name });
    this.byName.delete(name);
    this.damaged.delete(name);
    assert(!this.busy.has(name), `topic '${name}' is reserved once`);
    const work = topic !== undefined ? this.doDelete(topic) : this.removeTopicDir(name, false);
    this.busy.set(name, work);
    try {
      await work;
    } finally {
      this.busy.delete(name);
    }
    assert(!this.byName.has(name), `topic '${name}' was published again while it was being deleted`);
    for (const listener of this.deleteListeners) listener(name);
  }

  /** Calls `listener` after each topic delete (the group coordinator drops its offsets); returns the unsubscribe. */
  onTopicDeleted(listener: (name: string) => void): () => void {
    this.deleteListeners.add(listener);
    return () => this.deleteListeners.delete(listener);
  }

  private async doDelete(topic: Topic): Promise<void> {
    const { fs } = this;
    // Only sealed segments are mapped: a topic without any needs no collection to free its space.
    const mapped = topic.partitions.some((l) => l.segmentCount > 1);
    await Promise.allSettled(topic.partitions.map((l) => l.close()));
    // Closed even when close failed (it marks the log closed first): nothing writes into the tree.
    for (const log of topic.partitions) assert(log.isClosed, `topic '${topic.name}': ${log.dir} is open while the topic is deleted`);
    // A config write still queued would land in whatever directory has this name by then: a topic
    // created again after this delete would get this one's topic.json (issue #7). Let it finish.
    await this.metaWrites.get(topic.name)?.catch(() => {});
    const book = this.books.get(topic)!;
    assert(book.metaSettled === book.metaQueued, `topic '${topic.name}': ${book.metaQueued - book.metaSettled} topic.json write(s) left when its directory goes`);
    await this.removeTopicDir(topic.name, mapped);
  }

  /** Renames a topic's directory aside (the commit point of a delete), then removes it. */
  private async removeTopicDir(name: string, mapped: boolean): Promise<void> {
    const { fs } = this;
    const dir = joinPath(this.topicsDir, name);
    const trash = joinPath(this.topicsDir, `${name}${TRASH_MARK}${crypto.randomUUID()}`);
    try {
      fs.rename(dir, trash);
      await fs.fsyncDir(this.topicsDir);
    } catch (e) {
      throw storageError(`cannot delete topic '${name}'`, e, dir, name);
    }
    try {
      fs.rmrf(trash);
    } catch (e) {
      this.logger.warn(`cannot remove ${trash} (removed at next open): ${fsErrorCode(e) ?? String(e)}`);
    }
    // The closed logs released their mappings: unmap them so the space is free now (issue #7).
    if (mapped) reclaimReleasedMappings();
  }

  /**
   * Sets (string) or resets to default (null) configs of a topic, incrementally. Validates all
   * changes before applying any; persists topic.json; applies to the partition logs.
   * `validateOnly` checks and changes nothing.
   */
  async alterConfigs(name: string, changes: Record<string, string | null>, options: { validateOnly?: boolean } = {}): Promise<Topic> {
    this.checkOpen();
    const topic = this.byName.get(name);
    if (topic === undefined) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' does not exist`, { topic: name });
    const sets: Record<string, string> = {};
    const next: Record<string, string> = { ...topic.overrides };
    for (const [key, value] of Object.entries(changes)) {
      if (!isConfigKey(key)) throw new CoreError("INVALID_CONFIG", `unknown topic config '${key}'`, { topic: name });
      if (value === null) delete next[key];
      else sets[key] = value;
    }
    Object.assign(next, validateConfigs(sets, name));
    const configs = effectiveConfigs(this.defaults, next, name);
    if (options.validateOnly) return topic;
    topic.overrides = next;
    topic.configs = configs;
    for (const log of topic.partitions) log.setConfig(logConfigOf(configs));
    await this.rewriteTopicFile(topic, async (write) => write());
    return topic;
  }

  /**
   * Grows a topic to `count` partitions (Kafka's CreatePartitions); never shrinks: a count at or
   * below the current one is INVALID_PARTITIONS, as is one above PARTITIONS_PER_TOPIC_MAX.
   * `validateOnly` checks and changes nothing. Order: (queued behind the topic's other topic.json
   * rewrites) remove leftovers of an unfinished grow → mkdir and open the new partition logs →
   * rewrite topic.json with the new count (the commit point: a crash before it leaves directories
   * that the count does not name, ignored at open and replaced by the next grow) → publish the
   * new partitions. A delete of the topic meanwhile closes the new logs and answers UNKNOWN_TOPIC.
   */
  async createPartitions(name: string, count: number, options: { validateOnly?: boolean } = {}): Promise<Topic> {
    this.checkOpen();
    const topic = this.requireTopic(name);
    this.checkGrowth(topic, count);
    if (options.validateOnly) return topic;
    await this.rewriteTopicFile(topic, async (write) => {
      this.checkGrowth(topic, count); // again: an earlier grow queued before this one may have run
      const from = topic.partitions.length;
      const logs: PartitionLog[] = [];
      try {
        // In chunks, yielding between them, as a create does: a grow by thousands of partitions
        // stalled every other client for seconds (5,000: 6.5 s without an answer to anyone).
        for (let start = from; start < count; start += CREATE_CHUNK_PARTITIONS) {
          for (let p = start; p < Math.min(count, start + CREATE_CHUNK_PARTITIONS); p++) {
            const dir = joinPath(this.topicsDir, name, String(p));
            if (this.fs.stat(dir) !== null) this.fs.rmrf(dir); // an unfinished grow's: nothing was ever published there
            this.fs.mkdirp(dir);
          }
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await this.fs.fsyncDir(joinPath(this.topicsDir, name));
        for (let start = from; start < count; start += CREATE_CHUNK_PARTITIONS) {
          const end = Math.min(count, start + CREATE_CHUNK_PARTITIONS);
          logs.push(...(await Promise.all(Array.from({ length: end - start }, (_, i) => this.openLog(name, start + i, topic.configs, true)))));
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        if (this.byName.get(name) !== topic) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' was deleted while it grew`, { topic: name });
        await write(count);
        if (this.byName.get(name) !== topic) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' was deleted while it grew`, { topic: name });
      } catch (e) {
        await Promise.allSettled(logs.map((l) => l.close()));
        throw e;
      }
      for (const [i, log] of logs.entries()) assert(log.dir === joinPath(this.topicsDir, name, String(from + i)), `topic '${name}': partition ${from + i}'s log is ${log.dir}`);
      topic.partitions.push(...logs);
    });
    return topic;
  }

  private checkGrowth(topic: Topic, count: number): void {
    const current = topic.partitions.length;
    if (!Number.isInteger(count) || count <= current || count > PARTITIONS_PER_TOPIC_MAX) {
      const why =
        count === current
          ? `topic already has ${current} partitions`
          : count < current
            ? `topic currently has ${current} partitions, which is higher than the requested ${count}`
            : `partitions must be between ${current + 1} and ${PARTITIONS_PER_TOPIC_MAX}, got ${count}`;
      throw new CoreError("INVALID_PARTITIONS", why, { topic: topic.name });
    }
  }

  /**
   * Runs `task` in the topic's queue of topic.json rewrites (so rewrites land in the order they
   * were asked for); `write(partitions?)` writes topic.json from the topic's state at that moment,
   * with `partitions` instead of the current count when given (a grow, before it publishes).
   */
  private async rewriteTopicFile(topic: Topic, task: (write: (partitions?: number) => Promise<void>) => Promise<void>): Promise<void> {
    const name = topic.name;
    const book = this.books.get(topic)!;
    const seq = ++book.metaQueued;
    const prev = this.metaWrites.get(name) ?? Promise.resolve();
    const write = async (partitions = topic.partitions.length): Promise<void> => {
      const meta: TopicFile = { version: 1, name, topicId: topic.topicIdString, partitions, configs: topic.overrides };
      assert(meta.partitions >= book.partitions, `topic '${name}': topic.json would shrink from ${book.partitions} to ${meta.partitions} partitions`);
      try {
        await writeFileAtomic(this.fs, joinPath(this.topicsDir, name, TOPIC_FILE), encodeTopicFile(meta));
      } catch (e) {
        throw storageError(`cannot persist topic.json of '${name}'`, e, joinPath(this.topicsDir, name, TOPIC_FILE), name);
      }
      book.partitions = meta.partitions;
    };
    const run = prev
      .catch(() => {})
      .then(async () => {
        assert(book.metaSettled === seq - 1, `topic '${name}': topic.json write ${seq} runs after ${book.metaSettled} settled`);
        try {
          await task(write);
        } finally {
          book.metaSettled = seq;
        }
      });
    this.metaWrites.set(name, run);
    try {
      await run;
    } finally {
      if (this.metaWrites.get(name) === run) this.metaWrites.delete(name);
    }
  }

  /** Every config of a topic with its effective value and whether it is a default. */
  describeConfigs(name: string): Array<{ name: string; value: string; isDefault: boolean }> {
    const topic = this.byName.get(name);
    if (topic === undefined) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' does not exist`, { topic: name });
    const values = configStrings(topic.configs);
    return CONFIG_KEYS.map((key) => ({ name: key, value: values[key]!, isDefault: !Object.hasOwn(topic.overrides, key) }));
  }

  /** Retention over every partition. */
  enforceRetention(now: number = this.clock.now()): RetentionResult {
    const total: RetentionResult = { segmentsDeleted: 0, bytesDeleted: 0 };
    for (const topic of this.byName.values()) {
      for (const log of topic.partitions) {
        const r = log.enforceRetention(now);
        total.segmentsDeleted += r.segmentsDeleted;
        total.bytesDeleted += r.bytesDeleted;
      }
    }
    return total;
  }

  /** Clean shutdown: every log synced and closed, then the marker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.busy.values(), ...this.metaWrites.values()]);
    const results = await Promise.allSettled(this.topics().flatMap((t) => t.partitions.map((l) => l.close())));
    this.scheduler.close();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      // Not clean: the next open recovers.
      throw failed.reason instanceof CoreError ? failed.reason : storageError("close failed", failed.reason, this.dataDir);
    }
    try {
      await writeFileAtomic(this.fs, joinPath(this.dataDir, CLEAN_SHUTDOWN_MARKER), new TextEncoder().encode(`${new Date(this.clock.now()).toISOString()}\n`));
    } catch (e) {
      throw storageError("cannot write the clean-shutdown marker", e, this.dataDir);
    }
  }
}

const TOPIC_FILE_FIELDS = ["version", "name", "topicId", "partitions", "configs"] as const;
const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** topic.json of directory `dirName` with its validated configs, or why it cannot be trusted. */
function readTopicFile(fs: FileLayer, file: string, dirName: string): { meta: TopicFile; overrides: Record<string, string> } | { reason: string } {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFile(file);
  } catch (e) {
    return { reason: `cannot read it: ${fsErrorCode(e) ?? String(e)}` };
  }
  const read = readCheckedJson(bytes);
  if (!read.ok) return { reason: read.reason };
  const m = read.value;
  if (!hasExactKeys(m, TOPIC_FILE_FIELDS)) return { reason: `fields ${JSON.stringify(Object.keys(m))}, not ${JSON.stringify([...TOPIC_FILE_FIELDS, CHECKSUM_FIELD])}` };
  if (m.version !== 1) return { reason: `version ${JSON.stringify(m.version)}, not 1` };
  if (m.name !== dirName) return { reason: `it names topic ${JSON.stringify(m.name)}, not its directory's` };
  if (typeof m.topicId !== "string" || !UUID_TEXT.test(m.topicId)) return { reason: `topicId ${JSON.stringify(m.topicId)} is not a UUID` };
  if (!Number.isInteger(m.partitions) || (m.partitions as number) <= 0 || (m.partitions as number) > PARTITIONS_PER_TOPIC_MAX) {
    return { reason: `partitions ${JSON.stringify(m.partitions)} out of range` };
  }
  const configs = m.configs;
  if (typeof configs !== "object" || configs === null || Array.isArray(configs) || Object.values(configs).some((v) => typeof v !== "string")) {
    return { reason: "configs is not an object of strings" };
  }
  try {
    return { meta: m as unknown as TopicFile, overrides: validateConfigs(configs as Record<string, string>, dirName) };
  } catch (e) {
    return { reason: `invalid configs: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function encodeTopicFile(meta: TopicFile): Uint8Array {
  // The pair of readTopicFile's checks: what is written reads back as a good topic.json.
  assert(topicNameProblem(meta.name) === null && UUID_TEXT.test(meta.topicId), `topic.json of '${meta.name}': name and id ${meta.topicId} read back`);
  assert(Number.isInteger(meta.partitions) && meta.partitions >= 1 && meta.partitions <= PARTITIONS_PER_TOPIC_MAX, `topic.json of '${meta.name}': ${meta.partitions} partitions`);
  assert(Object.values(meta.configs).every((v) => typeof v === "string"), `topic.json of '${meta.name}': configs are strings`);
  return encodeCheckedJson({ ...meta }, 2);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A random (v4) UUID; never the all-zero id Kafka reserves. */
function newTopicId(): Uint8Array {
  return uuidBytes(crypto.randomUUID());
}

export function uuidString(id: Uint8Array): string {
  const hex = Buffer.from(id).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuidBytes(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`bad topic id ${text}`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function storageError(message: string, e: unknown, file: string, topic?: string): CoreError {
  if (e instanceof CoreError) return e;
  return new CoreError("STORAGE", `${message}: ${fsErrorCode(e) ?? (e instanceof Error ? e.message : String(e))}`, { file, topic }, { cause: e });
}
