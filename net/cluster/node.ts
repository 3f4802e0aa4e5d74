// One broker's membership in a cluster whose metadata lives in etcd (issue #19): it registers on
// a lease, mirrors the cluster's metadata (records.ts) by a watch, makes its local replicas match
// it, runs for controller, and when it is the controller elects leaders for partitions whose
// leader died. It is the broker core's ClusterPort (core/broker/cluster.ts).
//
// Start, in this order: grant a lease → register brokers/<id> on it (waiting out an earlier
// incarnation's lease) → read everything under the cluster's root at revision R → watch from R+1
// → reconcile every topic → campaign for controller → tick (ISR checks) every lag/4.
//
// Reconcile a topic (on every change of its keys):
//
// | the topic in etcd                   | this broker                        | action                          |
// |-------------------------------------|------------------------------------|---------------------------------|
// | exists, this broker holds replicas  | no local topic, or another id      | create it locally with the id   |
// | exists                              | a replica of partition p           | ReplicaManager.apply(state);    |
// |                                     |                                    |   follow the leader unless it   |
// |                                     |                                    |   is this broker or offline     |
// | exists                              | not a replica of p                 | forget p                        |
// | gone                                | a local topic of that name         | forget it, delete it locally    |
//
// The controller (one broker, elected on a lease), on every change of the live brokers and when
// it takes office: for each partition, electFor (records.ts) with a transaction that compares the
// partition's mod_revision and the controller key's create_revision, so a deposed controller
// changes nothing. Leaders change their ISR the same way, comparing their own broker key's lease.
//
// The leader of a __consumer_offsets partition coordinates its groups (offsets.ts), the leader of
// a __transaction_state partition its transactional ids (transactions.ts): each reconcile of those
// topics tells them which partitions this broker leads now.
//
// If etcd is unreachable brokers keep the leaders they have: nothing changes until it is back.
import { assert } from "../../core/assert.ts";
import type { Broker } from "../../core/broker/broker.ts";
import type { BrokerEndpoint, ClusterPort, TopicAssignment } from "../../core/broker/cluster.ts";
import { type IsrProposer, type PartitionState, ReplicaManager } from "../../core/broker/replication.ts";
import { CoreError } from "../../core/errors.ts";
import { validateConfigs } from "../../core/topics/configs.ts";
import { topicNameProblem } from "../../core/topics/names.ts";
import { uuidBytes, uuidString } from "../../core/topics/topic-store.ts";
import { compare, EtcdClient, type KeyValue, type LeaseKeeper, op, type WatchEvent, type Watch } from "./etcd.ts";
import { ReplicaFetchers } from "./fetcher.ts";
import { TXN_LOG_TOPIC } from "../../core/broker/transactions.ts";
import type { TransactionCoordinator } from "../../core/transactions/coordinator.ts";
import { MarkerSender, type TxnMarker } from "./markers.ts";
import { ClusterGroups, OFFSETS_TOPIC } from "./offsets.ts";
import { ClusterTransactions } from "./transactions.ts";
import { assignReplicas, ClusterKeys, decodeBroker, decodePartition, decodeTopic, electFor, encodeJson, encodePartition, encodeTopic, type TopicRecord } from "./records.ts";

export interface ClusterOptions {
  nodeId: number;
  etcdEndpoints: string;
  clusterName: string;
  /** The Kafka address other brokers and clients reach this one at. */
  advertise: { host: string; port: number };
  /** Lease TTL, seconds: a dead broker's partitions move this long after it died (at most). */
  leaseTtlSeconds?: number;
  /** Kafka's replica.lag.time.max.ms. */
  replicaLagMaxMs?: number;
}

export const CLUSTER_DEFAULTS = { leaseTtlSeconds: 2, replicaLagMaxMs: 10_000, registerWaitMs: 15_000, createWaitMs: 10_000 } as const;

const dec = new TextDecoder();

export class ClusterNode implements ClusterPort, IsrProposer {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly replicas: ReplicaManager;
  private readonly etcd: EtcdClient;
  private readonly keys: ClusterKeys;
  private readonly fetchers: ReplicaFetchers;
  private lease: LeaseKeeper | null = null;
  private watch: Watch | null = null;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  // The mirror of etcd.
  private readonly liveBrokers = new Map<number, BrokerEndpoint>();
  private readonly topicRecords = new Map<string, TopicRecord>();
  private readonly partitionStates = new Map<string, Map<number, PartitionState>>();
  private controller: { id: number; createRevision: number } | null = null;
  /** Topics whose reconcile is queued or running, serialized per topic. */
  private readonly reconciling = new Map<string, Promise<void>>();
  private readonly viewListeners = new Set<() => void>();
  private groupsInCluster: ClusterGroups | null = null;
  private txnsInCluster: ClusterTransactions | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly opts: ClusterOptions,
  ) {
    this.nodeId = opts.nodeId;
    this.clusterId = opts.clusterName;
    this.keys = new ClusterKeys(opts.clusterName);
    this.etcd = new EtcdClient(opts.etcdEndpoints, { timeoutMs: 3000 });
    this.replicas = new ReplicaManager(opts.nodeId, this, { replicaLagMaxMs: opts.replicaLagMaxMs ?? CLUSTER_DEFAULTS.replicaLagMaxMs }, Date.now, (l) => broker.log.warn(l));
    this.fetchers = new ReplicaFetchers({
      nodeId: opts.nodeId,
      endpoint: (id) => this.liveBrokers.get(id),
      log: broker.log,
    });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    await this.join();
    const snapshot = await this.etcd.range(this.keys.root, { prefix: true });
    for (const kv of snapshot.kvs) this.absorb({ type: "put", kv, prevKv: null });
    this.watch = this.etcd.watch(this.keys.root, { prefix: true, startRevision: snapshot.revision + 1, idleTimeoutMs: 30_000, onCompacted: () => void this.resync() }, (events) => this.onEvents(events));
    this.broker.attachCluster(this, this.replicas);
    this.groupsInCluster = new ClusterGroups(this.broker, this.nodeId);
    this.txnsInCluster = new ClusterTransactions(this.broker, this.nodeId, new MarkerSender({ nodeId: this.nodeId, endpoint: (id) => this.liveBrokers.get(id) }), this.groupsInCluster);
    this.broker.groups.useTopicView({
      partitionCount: (t) => this.topic(t)?.partitions.length ?? null,
      highWatermark: (t, p) => this.broker.store.topic(t)?.partitions[p]?.highWatermark ?? null,
      topicId: (t) => this.broker.store.topic(t)?.topicIdString ?? null,
      topicNames: () => [...this.topicRecords.keys()],
    });
    await Promise.all([...this.topicRecords.keys()].map((t) => this.reconcile(t)));
    for (const local of this.broker.store.topics()) if (!this.topicRecords.has(local.name)) this.broker.log.warn(`cluster: local topic ${local.name} is not in the cluster's metadata; not served`);
    await this.campaign();
    const lag = this.opts.replicaLagMaxMs ?? CLUSTER_DEFAULTS.replicaLagMaxMs;
    this.tickTimer = setInterval(() => this.replicas.tick(), Math.max(100, lag / 4));
    this.broker.log.info(`cluster: broker ${this.nodeId} joined cluster ${this.clusterId} (${this.liveBrokers.size} live broker(s), controller ${this.controllerId()})`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.watch?.cancel();
    this.txnsInCluster?.stop();
    await this.fetchers.stop();
    // Leaving on purpose: give the lease back so the controller moves our partitions at once.
    const lease = this.lease;
    lease?.stop();
    if (lease !== null) await this.etcd.revoke(lease.id).catch(() => {});
    this.etcd.close();
  }

  /** A fresh lease, kept alive, and our registration on it. */
  private async join(): Promise<void> {
    const ttl = this.opts.leaseTtlSeconds ?? CLUSTER_DEFAULTS.leaseTtlSeconds;
    const lease = await this.etcd.grant(ttl);
    this.lease = this.etcd.keepAlive(lease, {
      onLost: (err) => {
        this.broker.log.error(`cluster: lease lost (${err.message}); the controller moves this broker's partitions; joining again`);
        void this.rejoin();
      },
    });
    await this.register();
  }

  /**
   * After a lost lease (etcd unreachable, or this process frozen past the TTL): register again
   * with a new lease, as a broker back from the dead. Its partitions were moved meanwhile; it
   * follows their leaders and comes back into their ISRs by catching up.
   */
  private async rejoin(): Promise<void> {
    for (let backoff = 500; !this.stopped; backoff = Math.min(backoff * 2, 5000)) {
      try {
        await this.join();
        this.broker.log.info(`cluster: broker ${this.nodeId} registered again`);
        if (this.controller === null || this.controller.id === this.nodeId) {
          this.controller = null;
          await this.campaign();
        }
        await this.controllerDuties();
        return;
      } catch (e) {
        this.broker.log.warn(`cluster: cannot register again yet (${(e as Error).message}); retrying in ${backoff} ms`);
        await Bun.sleep(backoff);
      }
    }
  }

  /** brokers/<id> on our lease; an earlier incarnation's key is waited out (its lease expires). */
  private async register(): Promise<void> {
    const key = this.keys.broker(this.nodeId);
    const value = encodeJson({ id: this.nodeId, host: this.opts.advertise.host, port: this.opts.advertise.port });
    const deadline = Date.now() + CLUSTER_DEFAULTS.registerWaitMs;
    for (;;) {
      const r = await this.etcd.txn({ compare: [compare.absent(key)], success: [op.put(key, value, { lease: this.lease!.id })] });
      if (r.succeeded) return;
      if (Date.now() > deadline) throw new Error(`broker id ${this.nodeId} is registered by a live broker in cluster ${this.clusterId}; choose another --node-id`);
      await Bun.sleep(250);
    }
  }

  private async resync(): Promise<void> {
    this.broker.log.warn("cluster: the metadata watch fell behind a compaction; reading everything again");
    const snapshot = await this.etcd.range(this.keys.root, { prefix: true });
    this.liveBrokers.clear();
    this.topicRecords.clear();
    this.partitionStates.clear();
    this.controller = null;
    for (const kv of snapshot.kvs) this.absorb({ type: "put", kv, prevKv: null });
    this.watch = this.etcd.watch(this.keys.root, { prefix: true, startRevision: snapshot.revision + 1, idleTimeoutMs: 30_000, onCompacted: () => void this.resync() }, (events) => this.onEvents(events));
    for (const t of new Set([...this.topicRecords.keys(), ...this.broker.store.topics().map((t) => t.name)])) void this.reconcile(t);
    await this.controllerDuties();
  }

  // --- the mirror -----------------------------------------------------------------------------

  /** Applies one event to the mirror; returns what it touched. */
  private absorb(e: WatchEvent): { kind: "broker" | "controller" | "topic" | "partition" | null; topic?: string } {
    const what = this.keys.parse(e.kv.keyString);
    if (what === null) return { kind: null };
    const put = e.type === "put";
    switch (what.kind) {
      case "broker": {
        const b = put ? decodeBroker(e.kv.value) : null;
        if (b !== null) this.liveBrokers.set(what.id, b);
        else this.liveBrokers.delete(what.id);
        return { kind: "broker" };
      }
      case "controller": {
        let id = -1;
        try {
          id = put ? Number((JSON.parse(dec.decode(e.kv.value)) as { id: number }).id) : -1;
        } catch {
          id = -1;
        }
        this.controller = put && id >= 0 ? { id, createRevision: e.kv.createRevision } : null;
        return { kind: "controller" };
      }
      case "topic": {
        const t = put ? decodeTopic(what.name, e.kv.value, e.kv.modRevision) : null;
        if (t !== null) {
          this.topicRecords.set(what.name, t);
          // Partition keys may have come first (a range lists partitions/ before topics/).
          const states = this.partitionStates.get(what.name);
          if (states !== undefined) for (const [p, s] of states) states.set(p, { ...s, replicas: t.replicas[p] ?? [] });
        } else {
          this.topicRecords.delete(what.name);
          this.partitionStates.delete(what.name);
        }
        return { kind: "topic", topic: what.name };
      }
      case "partition": {
        const states = this.partitionStates.get(what.topic) ?? new Map<number, PartitionState>();
        this.partitionStates.set(what.topic, states);
        const replicas = this.topicRecords.get(what.topic)?.replicas[what.partition] ?? [];
        const s = put ? decodePartition(what.topic, what.partition, replicas, e.kv.value, e.kv.modRevision) : null;
        if (s !== null) states.set(what.partition, s);
        else states.delete(what.partition);
        return { kind: "partition", topic: what.topic };
      }
    }
  }

  private async onEvents(events: WatchEvent[]): Promise<void> {
    const topics = new Set<string>();
    let brokersChanged = false;
    let controllerChanged = false;
    for (const e of events) {
      const touched = this.absorb(e);
      if (touched.topic !== undefined) topics.add(touched.topic);
      if (touched.kind === "broker") brokersChanged = true;
      if (touched.kind === "controller") controllerChanged = true;
    }
    for (const l of this.viewListeners) l();
    for (const t of topics) void this.reconcile(t);
    if (controllerChanged && this.controller === null) await this.campaign();
    if (brokersChanged || (controllerChanged && this.isController())) await this.controllerDuties();
  }

  /** Resolves once the mirror satisfies `ok` (or after `timeoutMs`, false). */
  private until(ok: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ok()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        this.viewListeners.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.viewListeners.delete(check);
        resolve(false);
      }, timeoutMs);
      this.viewListeners.add(check);
    });
  }

  // --- local replicas -------------------------------------------------------------------------

  private reconcile(topic: string): Promise<void> {
    const prev = this.reconciling.get(topic) ?? Promise.resolve();
    const next = prev
      .then(() => this.reconcileNow(topic))
      .catch((e) => this.broker.log.error(`cluster: cannot follow the metadata of topic ${topic}: ${(e as Error).message}`));
    this.reconciling.set(topic, next);
    void next.finally(() => {
      if (this.reconciling.get(topic) === next) this.reconciling.delete(topic);
    });
    return next;
  }

  private async reconcileNow(topic: string): Promise<void> {
    if (this.stopped) return;
    const record = this.topicRecords.get(topic);
    const store = this.broker.store;
    let local = store.topic(topic);
    const mine = record?.replicas.some((r) => r.includes(this.nodeId)) ?? false;
    if (local !== undefined && (!mine || record === undefined || local.topicIdString !== record.id.toLowerCase())) {
      for (let p = 0; p < local.partitions.length; p++) this.forget(topic, p);
      if (record === undefined || local.topicIdString !== record.id.toLowerCase()) {
        await store.deleteTopic(topic);
        local = undefined;
      }
    }
    if (record === undefined || !mine) return;
    if (local === undefined) {
      local = (await store.createTopic(topic, record.replicas.length, record.configs, { topicId: uuidBytes(record.id) }))!;
    }
    const states = this.partitionStates.get(topic);
    for (let p = 0; p < record.replicas.length; p++) {
      const state = states?.get(p);
      const log = local.partitions[p];
      if (state === undefined || log === undefined || !state.replicas.includes(this.nodeId)) {
        this.forget(topic, p);
        continue;
      }
      await this.replicas.apply(state, log);
      if (topic === OFFSETS_TOPIC) void this.groupsInCluster?.onState(state, log).catch((e) => this.broker.log.error(`cluster: loading ${topic}/${p} failed: ${(e as Error).message}`));
      if (topic === TXN_LOG_TOPIC) void this.txnsInCluster?.onState(state, log).catch((e) => this.broker.log.error(`cluster: loading ${topic}/${p} failed: ${(e as Error).message}`));
      if (state.leader >= 0 && state.leader !== this.nodeId) {
        this.fetchers.follow({ topic, partition: p, topicId: local.topicId, log, leaderId: state.leader, leaderEpoch: state.leaderEpoch });
      } else {
        this.fetchers.unfollow(topic, p);
      }
    }
  }

  private forget(topic: string, partition: number): void {
    if (topic === TXN_LOG_TOPIC) this.txnsInCluster?.drop(partition);
    this.fetchers.unfollow(topic, partition);
    this.replicas.remove(topic, partition);
  }

  // --- ISR changes (leaders) ------------------------------------------------------------------

  async proposeIsr(basedOn: PartitionState, isr: readonly number[]): Promise<boolean> {
    const key = this.keys.partition(basedOn.topic, basedOn.partition);
    const r = await this.etcd.txn({
      compare: [compare.modRevision(key, "=", basedOn.version), compare.lease(this.keys.broker(this.nodeId), "=", this.lease!.id)],
      success: [op.put(key, encodePartition({ leader: this.nodeId, leaderEpoch: basedOn.leaderEpoch, isr }))],
    });
    if (r.succeeded) {
      this.broker.log.info(`cluster: ${basedOn.topic}/${basedOn.partition} ISR ${JSON.stringify(basedOn.isr)} → ${JSON.stringify(isr)}`);
      if (isr.length < basedOn.isr.length) this.broker.metrics.cluster.isrShrinks++;
      else this.broker.metrics.cluster.isrExpands++;
    }
    return r.succeeded;
  }

  // --- controller -----------------------------------------------------------------------------

  private isController(): boolean {
    return this.controller?.id === this.nodeId;
  }

  private async campaign(): Promise<void> {
    if (this.stopped || this.lease === null || !this.lease.alive) return;
    try {
      const r = await this.etcd.txn({
        compare: [compare.absent(this.keys.controller)],
        success: [op.put(this.keys.controller, encodeJson({ id: this.nodeId }), { lease: this.lease.id })],
      });
      if (!r.succeeded) return;
      this.controller = { id: this.nodeId, createRevision: r.revision };
      this.broker.log.info(`cluster: broker ${this.nodeId} is the controller`);
      await this.controllerDuties();
    } catch (e) {
      this.broker.log.warn(`cluster: controller campaign failed: ${(e as Error).message}`);
    }
  }

  /** Elections for every partition whose leader or ISR lost a broker, or that is offline. */
  private async controllerDuties(): Promise<void> {
    if (!this.isController() || this.stopped) return;
    const live = new Set(this.liveBrokers.keys());
    for (const [topic, states] of this.partitionStates) {
      const unclean = this.topicRecords.get(topic)?.configs["unclean.leader.election.enable"] === "true";
      for (const state of states.values()) {
        const next = electFor(state, live, unclean);
        if (next === null) continue;
        const key = this.keys.partition(topic, state.partition);
        try {
          const r = await this.etcd.txn({
            compare: [compare.modRevision(key, "=", state.version), compare.createRevision(this.keys.controller, "=", this.controller!.createRevision)],
            success: [op.put(key, encodePartition(next))],
          });
          if (r.succeeded) {
            if (next.leader !== state.leader) this.broker.metrics.cluster.leaderElections++;
            const what = next.leader !== state.leader ? `leader ${state.leader} → ${next.leader} (epoch ${next.leaderEpoch})` : `ISR → ${JSON.stringify(next.isr)}`;
            this.broker.log.info(`cluster: controller: ${topic}/${state.partition} ${what}`);
          }
        } catch (e) {
          this.broker.log.warn(`cluster: controller: election for ${topic}/${state.partition} failed: ${(e as Error).message}`);
        }
      }
    }
  }

  // --- ClusterPort ----------------------------------------------------------------------------

  brokers(): BrokerEndpoint[] {
    return [...this.liveBrokers.values()].sort((a, b) => a.id - b.id);
  }

  controllerId(): number {
    return this.controller?.id ?? -1;
  }

  topics(): TopicAssignment[] {
    return [...this.topicRecords.keys()].sort().map((n) => this.topic(n)!).filter((t) => t !== undefined);
  }

  topic(name: string): TopicAssignment | undefined {
    const record = this.topicRecords.get(name);
    if (record === undefined) return undefined;
    const states = this.partitionStates.get(name);
    const partitions: PartitionState[] = record.replicas.map(
      (replicas, p) => states?.get(p) ?? { topic: name, partition: p, replicas, leader: -1, leaderEpoch: 0, isr: [], version: 0 },
    );
    return { name, topicId: uuidBytes(record.id), partitions, configs: record.configs };
  }

  async createTopic(name: string, partitions: number | null, replicationFactor: number | null, configs: Record<string, string>, validateOnly: boolean): Promise<TopicAssignment | undefined> {
    const problem = topicNameProblem(name);
    if (problem !== null) throw new CoreError("INVALID_TOPIC", problem, { topic: name });
    const count = partitions ?? this.broker.config.defaultPartitions;
    const live = [...this.liveBrokers.keys()];
    const factor = replicationFactor ?? Math.min(3, live.length);
    if (!Number.isInteger(count) || count < 1) throw new CoreError("INVALID_PARTITIONS", `partitions must be at least 1, got ${count}`, { topic: name });
    if (factor < 1 || factor > live.length) throw new CoreError("INVALID_PARTITIONS", `replication factor ${factor} needs as many live brokers (${live.length} now)`, { topic: name });
    const effective = { ...configs };
    // Kafka's advice, made the default: with three or more replicas, acks=all means two of them.
    if (factor >= 3 && effective["min.insync.replicas"] === undefined) effective["min.insync.replicas"] = "2";
    const normalized = validateConfigs(effective, name);
    if (this.topicRecords.has(name)) throw new CoreError("TOPIC_EXISTS", `topic '${name}' already exists`, { topic: name });
    if (validateOnly) return undefined;
    const replicas = assignReplicas(live, count, factor, Math.floor(Math.random() * live.length));
    const id = uuidString(uuidBytes(crypto.randomUUID()));
    const ops = [op.put(this.keys.topic(name), encodeTopic({ id, replicas, configs: normalized }))];
    replicas.forEach((r, p) => ops.push(op.put(this.keys.partition(name, p), encodePartition({ leader: r[0]!, leaderEpoch: 0, isr: r }))));
    const r = await this.etcd.txn({ compare: [compare.absent(this.keys.topic(name))], success: ops });
    if (!r.succeeded) throw new CoreError("TOPIC_EXISTS", `topic '${name}' already exists`, { topic: name });
    // Answered once this broker's mirror has it (and its own replicas, when it holds any).
    const createWait = CLUSTER_DEFAULTS.createWaitMs;
    await this.until(() => this.partitionStates.get(name)?.size === count, createWait);
    await this.reconciling.get(name);
    assert(this.topicRecords.get(name)?.id === id || this.topicRecords.get(name) === undefined, "a created topic keeps its id");
    return this.topic(name);
  }

  groupCoordinator(groupId: string): BrokerEndpoint | null {
    const id = this.groupsInCluster?.coordinator(groupId) ?? null;
    return id === null ? null : (this.liveBrokers.get(id) ?? null);
  }

  groupOwnership(groupId: string): "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" | null {
    return this.groupsInCluster === null ? "NOT_COORDINATOR" : this.groupsInCluster.ownership(groupId);
  }

  transactionCoordinator(transactionalId: string): BrokerEndpoint | null {
    const id = this.txnsInCluster?.coordinator(transactionalId) ?? null;
    return id === null ? null : (this.liveBrokers.get(id) ?? null);
  }

  transactionOwnership(transactionalId: string): TransactionCoordinator | "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" {
    return this.txnsInCluster === null ? "NOT_COORDINATOR" : this.txnsInCluster.ownership(transactionalId);
  }

  transactionCoordinators(): TransactionCoordinator[] {
    return this.txnsInCluster?.coordinators() ?? [];
  }

  /**
   * WriteTxnMarkers here: a marker for a partition this broker leads, acks=all; one for an
   * __consumer_offsets partition ends the producer's pending offsets in the groups it coordinates there.
   */
  async writeTxnMarker(topic: string, partition: number, marker: TxnMarker): Promise<void> {
    if (topic !== OFFSETS_TOPIC) return this.broker.appendMarker(topic, partition, marker);
    if (this.groupsInCluster === null) throw new CoreError("NOT_LEADER", "this broker has not joined its cluster yet");
    await this.groupsInCluster.endTransaction(partition, marker.producerId, marker.commit);
  }

  async deleteTopic(name: string): Promise<void> {
    const record = this.topicRecords.get(name);
    if (record === undefined) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' does not exist`, { topic: name });
    const r = await this.etcd.txn({
      compare: [compare.modRevision(this.keys.topic(name), "=", record.version)],
      success: [op.delete(this.keys.topic(name)), op.delete(this.keys.partitionsOf(name), { prefix: true })],
    });
    if (!r.succeeded) throw new CoreError("UNKNOWN_TOPIC", `topic '${name}' changed while being deleted; try again`, { topic: name });
    await this.until(() => !this.topicRecords.has(name), CLUSTER_DEFAULTS.createWaitMs);
    await this.reconciling.get(name);
  }
}

export type { KeyValue };
