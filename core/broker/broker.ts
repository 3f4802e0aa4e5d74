// The broker's use cases in domain terms, for every door (the Kafka protocol, HTTP, and the
// follower fetch and the transaction coordinator that come later): no sockets, no Kafka error
// codes. Refusals are CoreErrors; each door maps them once (net/kafka/errors.ts, net/http/errors.ts).
//
//   open/close  the data-dir lock, the topic store (with recovery) and the group coordinator, the
//               retention timer, and the shutdown signal long waits end on
//   append      validate → fix timestamps → idempotence → count → append (core/broker/append.ts)
//   read        range check → read → count, and waitForData (core/broker/read.ts)
//   topics      lookup (by name, by id, why one is missing), create (and create-on-first-use),
//               delete, alter configs
//   groups      the group coordinator (core/groups), as it is
//   auth        users, SASL exchanges, super users and authorize() (core/broker/auth.ts)
//
// Order on stop, driven by the composition root (cmd/serve.ts): beginShutdown() (long waits
// answer at once, the coordinator stops serving) → the doors finish in-flight requests and stop →
// close() (sync, clean-shutdown marker, the lock).
import type { Clock } from "../clock.ts";
import { DataDirLock } from "../data-dir-lock.ts";
import { assert } from "../assert.ts";
import { CoreError } from "../errors.ts";
import { checkCoreLimits, CREATE_IN_FLIGHT_WAIT_MS, RETENTION_CHECK_MS } from "../limits.ts";
import type { FileLayer } from "../fs.ts";
import type { GroupCoordinator, GroupCoordinatorConfig } from "../groups/coordinator.ts";
import type { Timers } from "../groups/timers.ts";
import type { FsyncPolicy } from "../log/durability.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import type { Logger } from "../log/types.ts";
import type { DamagedTopic, Topic, TopicStore } from "../topics/topic-store.ts";
import { type Appending, type AppendOptions, appendAll, appendBatch } from "./append.ts";
import { Auth, type AuthConfig } from "./auth.ts";
import { Idempotence } from "./idempotence.ts";
import { BrokerMetrics } from "./metrics.ts";
import { type PartitionRead, readPartition, type WaitOutcome, waitForData } from "./read.ts";
import { openStorage } from "./storage.ts";
import { missingTopic, partitionOf } from "./topic-lookup.ts";
import { timedFileLayer } from "./timed-fs.ts";

export interface BrokerLog extends Logger {
  debug?(line: string): void;
}

export interface BrokerConfig {
  dataDir: string;
  fsync: FsyncPolicy;
  /** Create a topic the first time a client names it (Kafka's auto.create.topics.enable). */
  autoCreateTopics: boolean;
  /** Partitions of a topic created without a count (Kafka's num.partitions). */
  defaultPartitions: number;
  /** Group coordinator settings (session timeout bounds, initial rebalance delay). */
  groups?: Partial<GroupCoordinatorConfig>;
  /** Super users and whether authorization is on (core/broker/auth.ts). */
  auth?: AuthConfig;
}

/** Seams for tests: a memory disk, a manual clock and timers, no lock (the memory disk has no files). */
export interface BrokerDeps {
  fs?: FileLayer;
  clock?: Clock;
  timers?: Timers;
  /** Take the data-dir lock (default true; a memory file layer has no real dir to lock). */
  lock?: boolean;
}

export type { Appending, AppendOptions, PartitionRead, WaitOutcome };
export { partitionOf };

export class Broker {
  /** This broker's id in Metadata (one node until the cluster issue). */
  readonly nodeId = 0;
  readonly clusterId = "streamctl";
  readonly metrics: BrokerMetrics;
  readonly idempotence = new Idempotence();
  private readonly stopping = new AbortController();
  private readonly retention: ReturnType<typeof setInterval>;
  private closed = false;

  private constructor(
    readonly config: Readonly<BrokerConfig>,
    readonly log: BrokerLog,
    readonly store: TopicStore,
    readonly groups: GroupCoordinator,
    /** Users, SASL exchanges and authorize(): the auth decisions of every door. */
    readonly auth: Auth,
    metrics: BrokerMetrics,
    private readonly lock: DataDirLock | null,
  ) {
    this.metrics = metrics;
    this.retention = setInterval(() => this.enforceRetention(), RETENTION_CHECK_MS);
    (this.retention as { unref?: () => void }).unref?.();
  }

  /**
   * Takes the data dir (CoreError DATA_DIR_LOCKED if another broker has it), recovers and opens
   * the topics and the committed offsets. A failure after the lock gives the lock back.
   */
  static async open(config: BrokerConfig, log: BrokerLog, deps: BrokerDeps = {}): Promise<Broker> {
    checkCoreLimits();
    // First, before anything reads or writes the dir: a second broker on it would recover over
    // this one's live files and lose what it acknowledged.
    const lock = deps.lock === false ? null : DataDirLock.acquire(config.dataDir);
    try {
      const metrics = new BrokerMetrics();
      const fs = timedFileLayer((ms) => metrics.fsyncDone(ms), deps.fs);
      // Users first: a damaged users.json stops the open before recovery does any work.
      const auth = Auth.open(fs, config.dataDir, config.auth);
      const { store, groups } = await openStorage({
        dataDir: config.dataDir,
        fsync: config.fsync,
        logger: log,
        fs,
        clock: deps.clock,
        groups: { config: config.groups, timers: deps.timers },
      });
      store.onTopicDeleted((name) => metrics.topics.delete(name));
      return new Broker(config, log, store, groups, auth, metrics, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /** Aborted when the broker begins to stop: long polls and streams answer at once. */
  get shutdown(): AbortSignal {
    return this.stopping.signal;
  }

  get fsyncPolicy(): FsyncPolicy {
    return this.store.fsyncPolicy;
  }

  /** Long waits end, the group coordinator stops serving; appends and reads still work. */
  beginShutdown(): void {
    if (this.stopping.signal.aborted) return;
    clearInterval(this.retention);
    this.stopping.abort();
    this.groups.stopServing();
  }

  /** Syncs and closes everything and gives up the data dir. Call after the doors stopped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.beginShutdown();
    try {
      await this.groups.close();
      await this.store.close();
    } finally {
      this.lock?.release();
    }
  }

  // --- topics ---------------------------------------------------------------------------------

  topic(name: string): Topic | undefined {
    return this.store.topic(name);
  }

  topics(): Topic[] {
    return this.store.topics();
  }

  /** The topic whose 16-byte id this is (Metadata v10+, Fetch v13+ name topics by id). */
  topicById(id: Uint8Array): Topic | undefined {
    return this.store.topics().find((t) => sameBytes(t.topicId, id));
  }

  /** Topics kept unopened because their topic.json is damaged: the operator can only delete them. */
  damagedTopics(): DamagedTopic[] {
    return this.store.damagedTopics();
  }

  /** Calls `listener` with the name of each topic deleted from now on; returns the unsubscribe. */
  onTopicDeleted(listener: (name: string) => void): () => void {
    return this.store.onTopicDeleted(listener);
  }

  /** The topic or a CoreError: UNKNOWN_TOPIC, or STORAGE when its topic.json is damaged. */
  requireTopic(name: string): Topic {
    return this.store.requireTopic(name);
  }

  /**
   * Why `name` finds no topic: STORAGE when it is a topic kept unopened because its topic.json is
   * damaged (core/topics/topic-store.ts), else UNKNOWN_TOPIC.
   */
  missingTopic(name: string): CoreError {
    assert(this.store.topic(name) === undefined, `missingTopic(${name}) called for a topic that exists`);
    return missingTopic(this.store, name);
  }

  /** A topic's partition log, or a CoreError (UNKNOWN_TOPIC, UNKNOWN_PARTITION, STORAGE). */
  partition(topicName: string, partition: number): PartitionLog {
    const topic = this.store.topic(topicName);
    if (!topic) throw this.missingTopic(topicName);
    return partitionOf(topic, partition);
  }

  /** Creates a topic (partitions default to the broker's); `validateOnly` checks and creates nothing. */
  async createTopic(name: string, partitions: number | null, configs: Record<string, string> = {}, options: { validateOnly?: boolean; via?: string } = {}): Promise<Topic | undefined> {
    const count = partitions ?? this.config.defaultPartitions;
    const topic = await this.store.createTopic(name, count, configs, { validateOnly: options.validateOnly });
    if (!options.validateOnly) this.log.info(`created topic ${name} with ${count} partition(s)${options.via ? ` (${options.via})` : ""}`);
    return topic;
  }

  /**
   * The topic, created with the default partitions when the broker allows it (`allowed`: the
   * request asks for it too). A create of the same name already in flight is waited for up to
   * createInFlightWaitMs: a create of thousands of partitions takes seconds. Resolves undefined
   * when the topic does not exist and may not be created, or is still being created.
   */
  async topicOrCreate(name: string, allowed: boolean): Promise<Topic | undefined> {
    const existing = this.store.topic(name);
    if (existing) return existing;
    // Never created over: a topic kept unopened because its topic.json is damaged.
    if (this.store.damagedTopic(name) !== undefined) throw this.missingTopic(name);
    if (!allowed || !this.config.autoCreateTopics) return undefined;
    try {
      const created = await this.store.createTopic(name, this.config.defaultPartitions);
      this.log.info(`created topic ${name} with ${created.partitions.length} partition(s) on first use`);
      return created;
    } catch (err) {
      if (!(err instanceof CoreError && err.code === "TOPIC_EXISTS")) throw err;
      // Another client's create of it is in flight (it takes several turns of the event loop).
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = new Promise<void>((resolve) => (timer = setTimeout(resolve, CREATE_IN_FLIGHT_WAIT_MS)));
      await Promise.race([this.store.settled(name), wait]);
      clearTimeout(timer);
      return this.store.topic(name);
    }
  }

  /** Deletes a topic, a damaged one too (the operator's way out); its counters go with it. */
  async deleteTopic(name: string, via?: string): Promise<void> {
    const damaged = this.store.topic(name) === undefined && this.store.damagedTopic(name) !== undefined;
    await this.store.deleteTopic(name);
    this.log.info(`deleted ${damaged ? "damaged " : ""}topic ${name}${via ? ` (${via})` : ""}`);
  }

  alterConfigs(name: string, changes: Record<string, string | null>): Promise<Topic> {
    return this.store.alterConfigs(name, changes);
  }

  enforceRetention(now?: number): void {
    const r = this.store.enforceRetention(now);
    if (r.segmentsDeleted > 0) this.log.info(`retention deleted ${r.segmentsDeleted} segment(s), ${r.bytesDeleted} bytes`);
  }

  // --- data -----------------------------------------------------------------------------------

  /**
   * Starts appending one batch to a partition. The write happens during this call, so appends
   * started in order land in that order; only durability is awaited (`Appending.result`). Throws
   * CoreError for anything refused before the write.
   */
  append(topicName: string, partition: number, batch: Uint8Array, options: AppendOptions): Appending {
    return appendBatch(this.store, this.metrics, this.idempotence, topicName, partition, batch, options);
  }

  /** Appends several batches of one topic; every batch is checked before any is written. */
  appendAll(topicName: string, batches: ReadonlyArray<{ partition: number; batch: Uint8Array }>, options: AppendOptions): Appending[] {
    return appendAll(this.store, this.metrics, this.idempotence, topicName, batches, options);
  }

  /** Batches of `log` from `offset` (up to about `maxBytes`, at least one whole batch), counted. */
  read(topic: Topic, log: PartitionLog, offset: number, maxBytes: number): PartitionRead {
    return readPartition(this.metrics, topic, log, offset, maxBytes);
  }

  /** Resolves when any of `logs` has new data, after `timeoutMs`, or when `signal` or the broker stops. */
  waitForData(logs: readonly PartitionLog[], timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return waitForData(logs, timeoutMs, this.shutdown, signal);
  }

  // --- producers ------------------------------------------------------------------------------

  nextProducerId(): number {
    return this.idempotence.nextProducerId();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
