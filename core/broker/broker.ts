// The broker's use cases in domain terms, for every door (the Kafka protocol, HTTP, and the
// follower fetch and the transaction coordinator that come later): no sockets, no Kafka error
// codes. Refusals are CoreErrors; each door maps them once (net/kafka/errors.ts, net/http/errors.ts).
//
//   open/close  the data-dir lock, the topic store (with recovery) and the group coordinator, the
//               retention timer, and the shutdown signal long waits end on
//   append      validate → fix timestamps → count → append, where the log checks idempotent
//               producers' sequences (core/broker/append.ts, core/log/producer-state.ts)
//   read        range check → read → count, and waitForData (core/broker/read.ts)
//   offsets     by position or time: earliest, latest, max timestamp (core/broker/offsets.ts);
//               deleting records below an offset (core/broker/records.ts)
//   topics      lookup (by name, by id, why one is missing), create (and create-on-first-use),
//               grow (create partitions), delete, alter configs: replace, incremental
//               (core/broker/configs.ts)
//   leadership  one broker: epoch 0, no election ever needed (core/broker/leadership.ts); the
//               log dir (core/broker/log-dirs.ts); idempotent producers' state
//   authorize   what a client may do to a resource: auth.authorize, by the ACLs (core/broker/auth.ts)
//   groups      the group coordinator (core/groups), as it is
//   producers   ids for InitProducerId (producer-ids.ts), each partition's idempotent producers
//               (DescribeProducers), expired with retention
//   auth        users, SASL exchanges, super users and authorize() (core/broker/auth.ts)
//   transactions the transaction coordinator (core/transactions) over __transaction_state
//               (core/broker/transactions.ts); a transactional batch is appended only while its
//               producer's transaction includes the partition (verifyAppend)
//   cleaning    the log cleaner of compacted topics, in the background and on demand
//               (compactTopic: streamctl topics compact) (core/broker/cleaning.ts)
//
// Order on stop, driven by the composition root (cmd/serve.ts): beginShutdown() (long waits
// answer at once, the coordinators stop serving) → the doors finish in-flight requests and stop →
// close() (queued transaction steps finish, sync, clean-shutdown marker, the lock).
import type { Clock } from "../clock.ts";
import { DataDirLock } from "../data-dir-lock.ts";
import { assert } from "../assert.ts";
import { CoreError } from "../errors.ts";
import { checkCoreLimits, CREATE_IN_FLIGHT_WAIT_MS, RETENTION_CHECK_MS } from "../limits.ts";
import type { FileLayer } from "../fs.ts";
import type { GroupCoordinator, GroupCoordinatorConfig } from "../groups/coordinator.ts";
import type { Timers } from "../groups/timers.ts";
import type { FsyncPolicy } from "../log/durability.ts";
import type { AppendSink, PartitionLog } from "../log/partition-log.ts";
import type { Logger } from "../log/types.ts";
import type { DamagedTopic, Topic, TopicStore } from "../topics/topic-store.ts";
import { Appending, type AppendOptions, appendAll, appendBatch, appendBatchThen } from "./append.ts";
import { type BrokerEndpoint, type ClusterPort, singlePartitionState, type TopicAssignment } from "./cluster.ts";
import { alterTopicConfigs, type ConfigChange, replaceTopicConfigs } from "./configs.ts";
import { checkLeaderEpoch, LEADER_EPOCH, type ElectionOutcome, type ElectionType, electLeaders, type EpochEndOffset } from "./leadership.ts";
import { describeLogDirs, type LogDirDescription } from "./log-dirs.ts";
import type { ReplicaManager } from "./replication.ts";
import type { ProducerDescription } from "../log/producer-state.ts";
import type { ProducerIds } from "./producer-ids.ts";
import { Auth, type AuthConfig, type Operation, type Requester, type Resource } from "./auth.ts";
import { type CleanerConfig, LogCleaner, type TopicCleanResult } from "./cleaning.ts";
import { BrokerMetrics } from "./metrics.ts";
import { type OffsetAnswer, type OffsetQuery, offsetFor } from "./offsets.ts";
import { type Isolation, type PartitionRead, readPartition, type WaitOutcome, waitForData } from "./read.ts";
import { deleteRecords } from "./records.ts";
import { openStorage } from "./storage.ts";
import { missingTopic, partitionOf } from "./topic-lookup.ts";
import { timedFileLayer } from "./timed-fs.ts";
import { ATTR_TRANSACTIONAL, BATCH_HEADER_BYTES, OFF_ATTRIBUTES, OFF_PRODUCER_EPOCH, OFF_PRODUCER_ID } from "../batch/header.ts";
import * as be from "../bytes.ts";
import { systemTimers } from "../groups/timers.ts";
import type { TransactionCoordinator, TxnListing } from "../transactions/coordinator.ts";
import { TXN_STATES } from "../transactions/metadata.ts";
import { openTransactions } from "./transactions.ts";
import { encodeMarkerBatch } from "../batch/control.ts";

export interface BrokerLog extends Logger {
  debug?(line: string): void;
}

export interface BrokerConfig {
  dataDir: string;
  /** This broker's id (cluster mode: --node-id; a single node is 0). */
  nodeId?: number;
  fsync: FsyncPolicy;
  /** Create a topic the first time a client names it (Kafka's auto.create.topics.enable). */
  autoCreateTopics: boolean;
  /** Partitions of a topic created without a count (Kafka's num.partitions). */
  defaultPartitions: number;
  /** Group coordinator settings (session timeout bounds, initial rebalance delay). */
  groups?: Partial<GroupCoordinatorConfig>;
  /** Super users and whether authorization is on (core/broker/auth.ts). */
  auth?: AuthConfig;
  /** The log cleaner's I/O bound and timer (core/broker/cleaning.ts). */
  cleaner?: CleanerConfig;
  /**
   * The broker joins a cluster once open (net/cluster attaches it): transactional ids are then
   * coordinated by the leaders of the replicated __transaction_state's partitions, so no
   * coordinator is opened over the local store.
   */
  cluster?: boolean;
}

/** Seams for tests: a memory disk, a manual clock and timers, no lock (the memory disk has no files). */
export interface BrokerDeps {
  fs?: FileLayer;
  clock?: Clock;
  timers?: Timers;
  /** Take the data-dir lock (default true; a memory file layer has no real dir to lock). */
  lock?: boolean;
}

export type { TopicCleanResult };
export type { ConfigChange, ElectionOutcome, ElectionType, EpochEndOffset, LogDirDescription, Appending, AppendOptions, Isolation, OffsetAnswer, OffsetQuery, PartitionRead, ProducerDescription, WaitOutcome };
export { partitionOf };

/** Node ids a cluster's producer ids keep apart (cluster mode: id = n × this + node id). */
const CLUSTER_NODE_IDS = 1024;

export class Broker {
  /** This broker's id in Metadata (0 for a single node). */
  readonly nodeId: number;
  /** Cluster mode (net/cluster attaches it): the cluster's view and this broker's replicas. */
  private clusterPort: ClusterPort | null = null;
  private replicaManager: ReplicaManager | null = null;
  readonly metrics: BrokerMetrics;
  private readonly stopping = new AbortController();
  private readonly retention: ReturnType<typeof setInterval>;
  /** Compacted topics' cleaner: started here, stopped before the logs close. */
  readonly cleaner: LogCleaner;
  private closed = false;
  private txnCoordinator: TransactionCoordinator | null = null;

  private constructor(
    readonly config: Readonly<BrokerConfig>,
    readonly log: BrokerLog,
    readonly store: TopicStore,
    readonly groups: GroupCoordinator,
    /** Users, SASL exchanges and authorize(): the auth decisions of every door. */
    readonly auth: Auth,
    metrics: BrokerMetrics,
    private readonly lock: DataDirLock | null,
    private readonly producerIds: ProducerIds,
  ) {
    this.metrics = metrics;
    this.nodeId = config.nodeId ?? 0;
    this.retention = setInterval(() => this.enforceRetention(), RETENTION_CHECK_MS);
    (this.retention as { unref?: () => void }).unref?.();
    this.cleaner = new LogCleaner(store, store.clock, log, config.cleaner);
    this.cleaner.start();
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
      const { store, groups, producerIds } = await openStorage({
        dataDir: config.dataDir,
        fsync: config.fsync,
        logger: log,
        fs,
        clock: deps.clock,
        groups: { config: config.groups, timers: deps.timers },
        // A cluster's ids are id × CLUSTER_NODE_IDS + node id: each broker's own stay below 2^53 / CLUSTER_NODE_IDS.
        producerIdRange: config.cluster === true ? { idsPerSecond: 2 ** 20 / CLUSTER_NODE_IDS, maxId: Math.floor(Number.MAX_SAFE_INTEGER / CLUSTER_NODE_IDS) - 1 } : undefined,
      });
      store.onTopicDeleted((name) => metrics.topics.delete(name));
      const broker = new Broker(config, log, store, groups, auth, metrics, lock, producerIds);
      try {
        if (config.cluster !== true) {
          broker.txnCoordinator = await openTransactions({ store, groups, timers: deps.timers ?? systemTimers(), logger: log, nextProducerId: () => broker.nextProducerId() });
          await broker.txnCoordinator.recover();
        }
      } catch (err) {
        clearInterval(broker.retention);
        await groups.close().catch(() => {});
        await store.close().catch(() => {});
        throw err;
      }
      return broker;
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  get clusterId(): string {
    return this.clusterPort?.clusterId ?? "streamctl";
  }

  /** Cluster mode from now on: partitions are led, followed and created as `port` says. */
  attachCluster(port: ClusterPort, replicas: ReplicaManager): void {
    assert(this.clusterPort === null, "a broker joins one cluster once");
    assert(port.nodeId === this.nodeId && replicas.nodeId === this.nodeId, "the cluster port speaks for this broker");
    this.clusterPort = port;
    this.replicaManager = replicas;
  }

  get cluster(): ClusterPort | null {
    return this.clusterPort;
  }

  get replicas(): ReplicaManager | null {
    return this.replicaManager;
  }

  // --- what Metadata describes ------------------------------------------------------------------

  /** Live brokers; a single node answers itself at `self`. */
  brokerEndpoints(self: { host: string; port: number }): BrokerEndpoint[] {
    return this.clusterPort?.brokers() ?? [{ id: this.nodeId, host: self.host, port: self.port }];
  }

  controllerId(): number {
    return this.clusterPort?.controllerId() ?? this.nodeId;
  }

  /** Every topic with each partition's leader, epoch, replicas and ISR. */
  topicAssignments(): TopicAssignment[] {
    if (this.clusterPort !== null) return this.clusterPort.topics();
    return this.store.topics().map((t) => this.localAssignment(t));
  }

  topicAssignment(name: string): TopicAssignment | undefined {
    if (this.clusterPort !== null) return this.clusterPort.topic(name);
    const t = this.store.topic(name);
    return t === undefined ? undefined : this.localAssignment(t);
  }

  private localAssignment(t: Topic): TopicAssignment {
    return { name: t.name, topicId: t.topicId, partitions: t.partitions.map((_, p) => singlePartitionState(t.name, p, this.nodeId)), configs: t.overrides };
  }

  /**
   * Throws NOT_LEADER (or a leader-epoch error when `epoch` ≥ 0 names another) unless this broker
   * serves the partition to clients: always for a single node, the leader in a cluster.
   */
  checkLeader(topicName: string, partition: number, epoch = -1): void {
    if (this.replicaManager !== null) this.replicaManager.checkLeader(topicName, partition, epoch);
    else checkLeaderEpoch(epoch, { topic: topicName, partition });
  }

  /**
   * Whether this broker answers for consumer group `groupId` now: null (yes; a single node always
   * does), else the Kafka group error name to answer with (NOT_COORDINATOR, …_LOAD_IN_PROGRESS).
   */
  groupOwnership(groupId: string): "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" | null {
    return this.clusterPort?.groupOwnership(groupId) ?? null;
  }

  /** The broker that coordinates `groupId` (itself for a single node), null while none can. */
  groupCoordinator(groupId: string, self: { host: string; port: number }): BrokerEndpoint | null {
    if (this.clusterPort === null) return { id: this.nodeId, host: self.host, port: self.port };
    return this.clusterPort.groupCoordinator(groupId);
  }

  /** The transaction coordinator of a single broker (core/transactions): every transactional id. */
  get transactions(): TransactionCoordinator {
    assert(this.txnCoordinator !== null, "the single-node transaction coordinator opens with the broker");
    return this.txnCoordinator;
  }

  /**
   * The coordinator of `transactionalId` here, or the Kafka error name to answer with: a single
   * broker coordinates every id; in a cluster, the leader of the id's __transaction_state
   * partition, once it has loaded it (net/cluster/transactions.ts).
   */
  transactionsFor(transactionalId: string): TransactionCoordinator | "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" | "COORDINATOR_NOT_AVAILABLE" {
    if (this.clusterPort !== null) return this.clusterPort.transactionOwnership(transactionalId);
    return this.txnCoordinator ?? "COORDINATOR_NOT_AVAILABLE";
  }

  /** Every transaction coordinator on this broker (ListTransactions): one, or one per led log partition. */
  transactionCoordinators(): TransactionCoordinator[] {
    if (this.clusterPort !== null) return this.clusterPort.transactionCoordinators();
    return this.txnCoordinator === null ? [] : [this.txnCoordinator];
  }

  /** ListTransactions: the ids of every coordinator here, filtered (TransactionCoordinator.list). */
  listTransactions(states: readonly string[], producerIds: readonly number[], minDurationMs: number): TxnListing {
    const unknownStates = states.filter((s) => !(TXN_STATES as readonly string[]).includes(s));
    return { unknownStates, transactions: this.transactionCoordinators().flatMap((c) => c.list(states, producerIds, minDurationMs).transactions) };
  }

  /** The broker that coordinates `transactionalId` (itself for a single node), null while none can. */
  transactionCoordinator(transactionalId: string, self: { host: string; port: number }): BrokerEndpoint | null {
    if (this.clusterPort === null) return { id: this.nodeId, host: self.host, port: self.port };
    return this.clusterPort.transactionCoordinator(transactionalId);
  }

  /** WriteTxnMarkers: a marker from a transaction coordinator (in a cluster, possibly another broker's). */
  writeTxnMarker(topicName: string, partition: number, marker: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number }): Promise<void> {
    if (this.clusterPort !== null) return this.clusterPort.writeTxnMarker(topicName, partition, marker);
    return this.appendMarker(topicName, partition, marker);
  }

  /**
   * Writes a transaction marker (a control batch, core/batch/control.ts) to a partition this broker
   * leads, for a transaction coordinator (the local one, or another broker's through
   * WriteTxnMarkers): resolves once durable, in a cluster once every in-sync replica has it
   * (acks=all). CoreError INVALID_RECORD (no producer id or epoch), NOT_LEADER, UNKNOWN_TOPIC,
   * UNKNOWN_PARTITION, PRODUCER_FENCED, COORDINATOR_FENCED as the log refuses it.
   */
  async appendMarker(topicName: string, partition: number, marker: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number }): Promise<void> {
    if (!(marker.producerId >= 0 && marker.producerEpoch >= 0 && marker.coordinatorEpoch >= 0)) {
      throw new CoreError("INVALID_RECORD", `a transaction marker needs a producer id, epoch and coordinator epoch (got ${marker.producerId}, ${marker.producerEpoch}, ${marker.coordinatorEpoch})`, { topic: topicName, partition });
    }
    const rm = this.replicaManager;
    rm?.checkLeader(topicName, partition);
    const log = this.partition(topicName, partition);
    const r = await log.appendMarker(encodeMarkerBatch({ ...marker, timestamp: this.store.clock.now() }));
    if (rm !== null) await rm.waitReplicated(topicName, partition, r.lastOffset + 1);
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
    // The pass in progress ends at its next read or write; close() waits for it.
    void this.cleaner.stop();
    this.stopping.abort();
    this.groups.stopServing();
    this.txnCoordinator?.stop();
  }

  /** Syncs and closes everything and gives up the data dir. Call after the doors stopped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.beginShutdown();
    try {
      await this.txnCoordinator?.close();
      await this.cleaner.stop();
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
  async createTopic(name: string, partitions: number | null, configs: Record<string, string> = {}, options: { validateOnly?: boolean; via?: string; replicationFactor?: number | null } = {}): Promise<Topic | undefined> {
    if (this.clusterPort !== null) {
      const created = await this.clusterPort.createTopic(name, partitions ?? this.config.defaultPartitions, options.replicationFactor ?? null, configs, options.validateOnly ?? false);
      if (created !== undefined) this.log.info(`created topic ${name} with ${created.partitions.length} partition(s) in the cluster${options.via ? ` (${options.via})` : ""}`);
      return created === undefined ? undefined : this.store.topic(name);
    }
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
    if (this.clusterPort !== null) return this.clusterTopicOrCreate(name, allowed);
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

  /** Cluster mode: a topic that exists in the cluster, even without a replica here, counts. */
  private async clusterTopicOrCreate(name: string, allowed: boolean): Promise<Topic | undefined> {
    const port = this.clusterPort!;
    if (port.topic(name) !== undefined || !allowed || !this.config.autoCreateTopics) return this.store.topic(name);
    try {
      await port.createTopic(name, this.config.defaultPartitions, null, {}, false);
      this.log.info(`created topic ${name} in the cluster on first use`);
    } catch (err) {
      if (!(err instanceof CoreError && err.code === "TOPIC_EXISTS")) throw err;
    }
    return this.store.topic(name);
  }

  /** Deletes a topic, a damaged one too (the operator's way out); its counters go with it. */
  async deleteTopic(name: string, via?: string): Promise<void> {
    if (this.clusterPort !== null) {
      await this.clusterPort.deleteTopic(name);
      this.log.info(`deleted topic ${name} in the cluster${via ? ` (${via})` : ""}`);
      return;
    }
    const damaged = this.store.topic(name) === undefined && this.store.damagedTopic(name) !== undefined;
    await this.store.deleteTopic(name);
    this.log.info(`deleted ${damaged ? "damaged " : ""}topic ${name}${via ? ` (${via})` : ""}`);
  }

  /**
   * Grows a topic to `count` partitions, durably (CoreError INVALID_PARTITIONS for a count not
   * above the current one); `validateOnly` checks and changes nothing.
   */
  async createPartitions(name: string, count: number, options: { validateOnly?: boolean; via?: string } = {}): Promise<Topic> {
    const before = this.store.requireTopic(name).partitions.length;
    const topic = await this.store.createPartitions(name, count, { validateOnly: options.validateOnly });
    if (!options.validateOnly) this.log.info(`topic ${name} grew from ${before} to ${count} partition(s)${options.via ? ` (${options.via})` : ""}`);
    return topic;
  }

  alterConfigs(name: string, changes: Record<string, string | null>): Promise<Topic> {
    return this.store.alterConfigs(name, changes);
  }

  /** Kafka's legacy AlterConfigs: `configs` become the topic's whole set of overrides (core/broker/configs.ts). */
  async replaceTopicConfigs(name: string, configs: Record<string, string>, options: { validateOnly?: boolean; via?: string } = {}): Promise<Topic> {
    const topic = await replaceTopicConfigs(this.store, name, configs, options.validateOnly ?? false);
    if (!options.validateOnly) this.log.info(`topic ${name}: configs replaced${options.via ? ` (${options.via})` : ""}`);
    return topic;
  }

  /** Kafka's IncrementalAlterConfigs on a topic: set, delete, append, subtract (core/broker/configs.ts). */
  async alterTopicConfigs(name: string, changes: readonly ConfigChange[], options: { validateOnly?: boolean; via?: string } = {}): Promise<Topic> {
    const topic = await alterTopicConfigs(this.store, name, changes, options.validateOnly ?? false);
    if (!options.validateOnly && changes.length > 0) this.log.info(`topic ${name}: configs altered (${changes.map((c) => `${c.op} ${c.name}`).join(", ")})${options.via ? ` (${options.via})` : ""}`);
    return topic;
  }

  /**
   * A cleaning pass on every partition of compacted topic `name` held by this broker, now (after
   * one in progress); CoreError UNKNOWN_TOPIC, or INVALID_CONFIG for a topic whose cleanup.policy
   * has no compact (Kafka's cleaner never touches those).
   */
  async compactTopic(name: string): Promise<TopicCleanResult> {
    const topic = this.store.requireTopic(name);
    const policy = topic.configs["cleanup.policy"];
    if (!policy.split(",").includes("compact")) {
      throw new CoreError("INVALID_CONFIG", `topic '${name}' has cleanup.policy=${policy}; only a topic with compact in its cleanup.policy is cleaned`, { topic: name });
    }
    const r = await this.cleaner.compact(name);
    this.log.info(`topic ${name}: cleaned on request: ${r.recordsRemoved} record(s), ${r.bytesRemoved} bytes, ${r.segmentsRemoved} segment(s) removed`);
    return r;
  }

  /** Retention, and the expiry of idle idempotent producers (PRODUCER_EXPIRATION_MS), on every partition. */
  enforceRetention(now?: number): void {
    const r = this.store.enforceRetention(now);
    if (r.segmentsDeleted > 0) this.log.info(`retention deleted ${r.segmentsDeleted} segment(s), ${r.bytesDeleted} bytes`);
    for (const topic of this.store.topics()) for (const log of topic.partitions) log.expireProducers(now);
  }

  // --- data -----------------------------------------------------------------------------------

  /**
   * Starts appending one batch to a partition. The write happens during this call, so appends
   * started in order land in that order; only durability is awaited (`Appending.result`). Throws
   * CoreError for anything refused before the write.
   */
  append(topicName: string, partition: number, batch: Uint8Array, options: AppendOptions): Appending {
    const rm = this.replicaManager;
    if (rm === null) {
      this.checkSingleNodeAppend(topicName, partition, batch, options);
      return appendBatch(this.store, this.metrics, topicName, partition, batch, options);
    }
    this.verifyIfTransactional(topicName, partition, batch);
    const state = rm.checkLeader(topicName, partition);
    const minIsr = this.store.topic(topicName)?.configs["min.insync.replicas"] ?? 1;
    if (options.acks === "all" && state.isr.length < minIsr) {
      throw new CoreError("NOT_ENOUGH_REPLICAS", `${state.isr.length} in-sync replica(s), min.insync.replicas is ${minIsr}`, { topic: topicName, partition });
    }
    const a = appendBatch(this.store, this.metrics, topicName, partition, batch, options);
    if (options.acks !== "all") return a;
    // acks=all: answered once every in-sync replica has the batch on disk (the high watermark
    // passed it), and refused after the fact if the ISR fell below min.insync.replicas meanwhile.
    const replicated = a.result.then(async (r) => {
      await rm.waitReplicated(topicName, partition, r.lastOffset + 1);
      if (rm.isrSize(topicName, partition) < minIsr) {
        throw new CoreError("NOT_ENOUGH_REPLICAS_AFTER_APPEND", `the ISR shrank below min.insync.replicas ${minIsr}`, { topic: topicName, partition });
      }
      return r;
    });
    return new Appending(replicated, a.log);
  }

  /** What `append` and `appendThen` refuse on a single broker before the write. One broker is an
   * ISR of one: acks=all with min.insync.replicas above 1 is refused, as Kafka does. */
  private checkSingleNodeAppend(topicName: string, partition: number, batch: Uint8Array, options: AppendOptions): void {
    this.verifyIfTransactional(topicName, partition, batch);
    if (options.acks === "all") {
      const minIsr = this.store.topic(topicName)?.configs["min.insync.replicas"] ?? 1;
      if (minIsr > 1) throw new CoreError("NOT_ENOUGH_REPLICAS", `1 in-sync replica (a single broker), min.insync.replicas is ${minIsr}`, { topic: topicName, partition });
    }
  }

  private verifyIfTransactional(topicName: string, partition: number, batch: Uint8Array): void {
    if (batch.length >= BATCH_HEADER_BYTES && be.int16(batch, OFF_ATTRIBUTES) & ATTR_TRANSACTIONAL) this.verifyTransactional(topicName, partition, batch);
  }

  /**
   * A transactional batch is appended only while its producer's transaction includes the partition
   * (the coordinator's verifyAppend). One broker only: in a cluster the coordinator may be another
   * broker, and Kafka asks it over the wire (KIP-890 part 1); this broker does not, as Kafka before
   * KIP-890 does not (the partition's producer state still fences old epochs).
   */
  private verifyTransactional(topicName: string, partition: number, batch: Uint8Array): void {
    if (this.clusterPort !== null || this.txnCoordinator === null) return;
    const producerId = be.int64(batch, OFF_PRODUCER_ID);
    const epoch = be.int16(batch, OFF_PRODUCER_EPOCH);
    const refused = this.txnCoordinator.verifyAppend(producerId, epoch, topicName, partition);
    if (refused === "PRODUCER_FENCED") throw new CoreError("PRODUCER_FENCED", `producer ${producerId} epoch ${epoch} is fenced by a newer one of its transactional id`, { topic: topicName, partition });
    if (refused !== null) throw new CoreError("INVALID_TXN_STATE", `producer ${producerId} epoch ${epoch} has no open transaction including this partition`, { topic: topicName, partition });
  }

  /**
   * `append` for the produce hot path: no promise, `sink` hears the outcome (AppendSink in
   * core/log/partition-log.ts). Returns the partition's log, or null, having done nothing, in
   * cluster mode (where acks=all waits for the ISR: use `append`). Throws what `append` throws
   * before the write. Under fsync `never`/`interval` `sink` may hear during this call.
   */
  appendThen(topicName: string, partition: number, batch: Uint8Array, options: AppendOptions, sink: AppendSink): PartitionLog | null {
    if (this.replicaManager !== null) return null;
    this.checkSingleNodeAppend(topicName, partition, batch, options);
    return appendBatchThen(this.store, this.metrics, topicName, partition, batch, options, sink);
  }

  /** Memory the partitions' tail caches hold now (core/log/tail-cache.ts, one budget per broker). */
  get tailCacheBytes(): number {
    return this.store.tailCache.heldBytes;
  }

  /** Appends several batches of one topic; every batch is checked before any is written. */
  appendAll(topicName: string, batches: ReadonlyArray<{ partition: number; batch: Uint8Array }>, options: AppendOptions): Appending[] {
    return appendAll(this.store, this.metrics, topicName, batches, options);
  }

  /**
   * Whole batches of `log` from `offset` within `maxBytes`, counted; the first batch comes whole
   * however large unless `minOneBatch` is false (then possibly none: Kafka's rule once a fetch
   * answer already holds data). read_committed reads stop at the last stable offset and name the
   * aborted transactions they overlap (core/broker/read.ts).
   */
  read(topic: Topic, log: PartitionLog, offset: number, maxBytes: number, minOneBatch = true, isolation: Isolation = "read_uncommitted"): PartitionRead {
    return readPartition(this.metrics, topic, log, offset, maxBytes, minOneBatch, isolation);
  }

  /**
   * Deletes the records of a partition below `offset` (-1: the high watermark) by moving its log
   * start there durably; resolves to the new log start (core/broker/records.ts).
   */
  deleteRecords(topicName: string, partition: number, offset: number): Promise<number> {
    return deleteRecords(this.store, topicName, partition, offset);
  }

  /** An offset of `log` by position or time (core/broker/offsets.ts); offset -1 when there is none. */
  offsetFor(log: PartitionLog, query: OffsetQuery, isolation: Isolation = "read_uncommitted"): OffsetAnswer {
    return offsetFor(log, query, isolation);
  }

  /** Resolves when any of `logs` has new data, after `timeoutMs`, or when `signal` or the broker stops. */
  waitForData(logs: readonly PartitionLog[], timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    return waitForData(logs, timeoutMs, this.shutdown, signal);
  }

  // --- leadership and log dirs (one broker: core/broker/leadership.ts, log-dirs.ts) ------------

  /** The leader epoch every partition is in. */
  get leaderEpoch(): number {
    return LEADER_EPOCH;
  }

  /**
   * OffsetForLeaderEpoch: the end offset of `requestedEpoch` in a partition, after checking the
   * client's current leader epoch (-1: no check; CoreError FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
   */
  endOffsetForEpoch(topicName: string, partition: number, requestedEpoch: number, currentLeaderEpoch: number): EpochEndOffset {
    const log = this.partition(topicName, partition);
    this.checkLeader(topicName, partition, currentLeaderEpoch);
    const found = log.endOffsetForEpoch(requestedEpoch);
    return { leaderEpoch: found.epoch, endOffset: found.endOffset };
  }

  /** ElectLeaders: on one broker no election is ever needed; unknown partitions say why. */
  electLeaders(partitions: Array<{ topic: string; partitions: number[] }> | null, type: ElectionType): ElectionOutcome[] {
    return electLeaders(this.store, partitions, type);
  }

  /** DescribeLogDirs: the data dir with every partition's size (`wanted` null: all partitions). */
  describeLogDirs(wanted: Map<string, Set<number>> | null): LogDirDescription[] {
    return describeLogDirs(this.store, this.config.dataDir, wanted);
  }

  // --- authorization ----------------------------------------------------------------------------

  /** What the requester may do to this resource, of the operations its type has (KIP-430). */
  authorizedOperations(who: Requester, resource: Resource): readonly Operation[] {
    return this.auth.authorizedOperations(who, resource);
  }

  // --- producers ------------------------------------------------------------------------------

  /** A producer id never handed out before by this data dir (InitProducerId). */
  nextProducerId(): Promise<number> {
    // A cluster's brokers each hand out ids from their own reserved blocks: the node id in the low
    // bits keeps them apart (a follower that becomes leader keeps every producer's sequences).
    if (this.clusterPort !== null) {
      return this.producerIds.nextId().then((n) => {
        const id = n * CLUSTER_NODE_IDS + this.nodeId;
        assert(Number.isSafeInteger(id) && this.nodeId < CLUSTER_NODE_IDS, "a cluster's producer ids are exact integers");
        return id;
      });
    }
    return this.producerIds.nextId();
  }

  /**
   * The idempotent producers a partition knows, as of its end offset (DescribeProducers); a
   * CoreError (UNKNOWN_TOPIC, UNKNOWN_PARTITION, STORAGE) as for `partition`.
   */
  producers(topicName: string, partition: number): ProducerDescription[] {
    return this.partition(topicName, partition).producers();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
