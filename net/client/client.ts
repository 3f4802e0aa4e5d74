// KafkaClient: what the producer, fetcher and group member share — bootstrap, the broker list,
// one connection per broker (opened lazily, reopened after a failure), and a metadata cache of
// partition leaders that callers refresh when a broker says NOT_LEADER_OR_FOLLOWER or
// UNKNOWN_TOPIC_OR_PARTITION.
//
// Only standard Kafka behaviour is assumed: brokers come from Metadata (the bootstrap address is
// used only until the first Metadata answer), leaders may move, a freshly auto-created topic may
// report LEADER_NOT_AVAILABLE for a while.
import { ErrorCode } from "../protocol/errors.ts";
import { ListOffsets, Metadata, type MetadataResponse } from "../protocol/messages/index.ts";
import { uuidToString } from "../protocol/reader.ts";
import { Connection } from "./connection.ts";
import { BOOTSTRAP_RETRIES_MAX, UNKNOWN_TOPIC_RETRIES_MAX, CONNECT_TIMEOUT_MS_DEFAULT, METADATA_RETRIES_MAX, REQUEST_TIMEOUT_MS_DEFAULT, RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_MS, checkClientLimits } from "./constants.ts";
import { ClientClosedError, ConnectionError, KafkaClientError, isRetriableError, kafkaError, TimeoutError } from "./errors.ts";
import type { ClientSecurity } from "./security.ts";

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface ClientOptions {
  bootstrap: BrokerAddress[];
  clientId?: string;
  clientVersion?: string;
  /** Per connection and per request (connection.ts, "Timeouts"); defaults in constants.ts. */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Told each time a request is tried again after a connection failed (the CLI says so on stderr). */
  onRetry?: (retry: ClientRetry) => void;
  /** TLS and SASL for every connection (net/client/security.ts). */
  security?: ClientSecurity;
}

export interface ClientRetry {
  /** What is being retried: "metadata for orders", "fetch from orders", … */
  what: string;
  error: Error;
  /** The attempt that failed (0 = the first). */
  attempt: number;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  /** The topic's id (base64url, as net/protocol/reader.ts writes uuids) when the broker tells it
   * (Metadata v10+, KIP-516); the consumer group protocol assigns partitions by topic id. */
  topicId?: string;
  partitions: PartitionInfo[];
}

/** ListOffsets special timestamps. */
export const LATEST = -1;
export const EARLIEST = -2;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function backoffMs(attempt: number): number {
  return Math.min(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_MS * 2 ** attempt);
}

export class KafkaClient {
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  private readonly clientVersion: string;
  private readonly security: ClientSecurity | undefined;
  private readonly bootstrap: BrokerAddress[];
  private readonly brokers = new Map<number, BrokerAddress>();
  private readonly connections = new Map<string, Promise<Connection>>();
  /** Node id → its connection once open, for `readyConnection` (dropped when the node's address changes). */
  private readonly ready = new Map<number, Connection>();
  private readonly topics = new Map<string, TopicInfo>();
  /** Connections opened by `ownConnection` and not yet released (closed with the client). */
  private readonly owned = new Set<Connection>();
  private closed = false;
  /** Whether any connection ever opened: before that, a refused bootstrap fails fast. */
  private everConnected = false;

  constructor(opts: ClientOptions) {
    checkClientLimits();
    if (opts.bootstrap.length === 0) throw new Error("no bootstrap broker");
    this.bootstrap = opts.bootstrap;
    this.clientId = opts.clientId ?? "streamctl";
    this.clientVersion = opts.clientVersion ?? "0";
    this.connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.onRetry = opts.onRetry ?? null;
    this.security = opts.security;
  }

  private readonly onRetry: ((retry: ClientRetry) => void) | null;

  /** Tells the onRetry hook (if any) that `what` is tried again after `error`. */
  reportRetry(what: string, error: unknown, attempt: number): void {
    if (this.onRetry !== null && !this.closed) this.onRetry({ what, error: error instanceof Error ? error : new Error(String(error)), attempt });
  }

  private connectionOptions(addr: BrokerAddress) {
    return {
      host: addr.host,
      port: addr.port,
      clientId: this.clientId,
      clientVersion: this.clientVersion,
      connectTimeoutMs: this.connectTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      security: this.security,
    };
  }

  /** A negotiated connection to `addr`, shared by every caller; reopened if it failed. */
  connectionTo(addr: BrokerAddress): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const key = `${addr.host}:${addr.port}`;
    const cached = this.connections.get(key);
    if (cached) {
      return cached.then(
        (c) => (c.isOpen ? c : this.openConnection(key, addr)),
        () => this.openConnection(key, addr),
      );
    }
    return this.openConnection(key, addr);
  }

  private openConnection(key: string, addr: BrokerAddress): Promise<Connection> {
    const p = Connection.open(this.connectionOptions(addr));
    this.connections.set(key, p);
    p.then(() => (this.everConnected = true)).catch(() => {
      if (this.connections.get(key) === p) this.connections.delete(key);
    });
    return p;
  }

  /**
   * A connection to `addr` for one caller alone. A group member talks to its coordinator on one:
   * a JoinGroup may wait there for a whole rebalance, and a broker answers a connection's requests
   * in order, so on the shared connection it would hold up every fetch, produce and other member's
   * heartbeat behind it (the Java client keeps its coordinator connection apart for the same
   * reason). The caller gives it back with `releaseConnection`.
   */
  async ownConnection(addr: BrokerAddress): Promise<Connection> {
    if (this.closed) throw new ClientClosedError();
    const conn = await Connection.open(this.connectionOptions(addr));
    this.everConnected = true;
    if (this.closed) {
      conn.close();
      throw new ClientClosedError();
    }
    this.owned.add(conn);
    return conn;
  }

  releaseConnection(conn: Connection): void {
    this.owned.delete(conn);
    conn.close();
  }

  /** Connection to the broker with `nodeId` (from Metadata). */
  async nodeConnection(nodeId: number): Promise<Connection> {
    let addr = this.brokers.get(nodeId);
    if (addr === undefined) {
      await this.refreshMetadata([...this.topics.keys()], false);
      addr = this.brokers.get(nodeId);
      if (addr === undefined) throw new ConnectionError(`broker ${nodeId} is not in the cluster metadata`);
    }
    const conn = await this.connectionTo(addr);
    if (this.brokers.get(nodeId) === addr) this.ready.set(nodeId, conn);
    return conn;
  }

  /** The open connection to broker `nodeId` if `nodeConnection` already made one, without an await
   * (per-request paths use it first); otherwise undefined. */
  readyConnection(nodeId: number): Connection | undefined {
    const conn = this.ready.get(nodeId);
    return conn !== undefined && conn.isOpen ? conn : undefined;
  }

  /** Any reachable broker: known brokers first, then the bootstrap list. */
  async anyConnection(): Promise<Connection> {
    let last: unknown;
    for (const addr of [...this.brokers.values(), ...this.bootstrap]) {
      try {
        return await this.connectionTo(addr);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new ConnectionError("no broker reachable");
  }

  /** One Metadata round trip for `topics` (null: every topic; auto-creating them if asked); updates the cache. */
  async refreshMetadata(topics: string[] | null, autoCreate: boolean): Promise<MetadataResponse> {
    const conn = await this.anyConnection();
    const res = await conn.request(Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: new Uint8Array(16), name })),
      allowAutoTopicCreation: autoCreate,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    for (const b of res.brokers) {
      const known = this.brokers.get(b.nodeId);
      if (known !== undefined && known.host === b.host && known.port === b.port) continue;
      this.ready.delete(b.nodeId);
      this.brokers.set(b.nodeId, { host: b.host, port: b.port });
    }
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) {
        this.topics.delete(t.name);
        continue;
      }
      const partitions = t.partitions
        .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, errorCode: p.errorCode }))
        .sort((a, b) => a.partition - b.partition);
      const topicId = t.topicId.some((b) => b !== 0) ? uuidToString(t.topicId) : undefined;
      this.topics.set(t.name, topicId === undefined ? { name: t.name, partitions } : { name: t.name, topicId, partitions });
    }
    return res;
  }

  /**
   * The topic's partitions with known leaders, asking the broker (and auto-creating the topic when
   * `autoCreate`) if the cache has none. Retries while the broker says the leader or the freshly
   * created topic is not ready; fails with the broker's error otherwise.
   */
  async topic(name: string, opts: { autoCreate: boolean; refresh?: boolean; retriesMax?: number }): Promise<TopicInfo> {
    const cached = this.topics.get(name);
    if (cached && !opts.refresh && cached.partitions.every((p) => p.leader >= 0)) return cached;
    for (let attempt = 0; ; attempt++) {
      let code: number;
      try {
        const res = await this.refreshMetadata([name], opts.autoCreate);
        const t = res.topics.find((x) => x.name === name);
        code = t === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : t.errorCode;
        const info = this.topics.get(name);
        if (code === 0 && info && info.partitions.length > 0 && info.partitions.every((p) => p.leader >= 0)) return info;
        if (code === 0) code = ErrorCode.LEADER_NOT_AVAILABLE;
      } catch (err) {
        const limit = opts.retriesMax ?? (this.everConnected ? METADATA_RETRIES_MAX : BOOTSTRAP_RETRIES_MAX);
        // Before any broker ever answered, a silent one is not worth waiting for again: the user
        // hears which broker did not answer within its timeout (issue #22).
        if (!isRetriableError(err) || attempt >= limit || (!this.everConnected && err instanceof TimeoutError)) throw err;
        // Before the first answer, a refused bootstrap is retried briefly and then reported once, as a failure.
        if (this.everConnected) this.reportRetry(`metadata for ${name}`, err, attempt);
        await sleep(backoffMs(attempt));
        continue;
      }
      // A broker creating a topic on first use answers LEADER_NOT_AVAILABLE until it is ready; one
      // that still says UNKNOWN_TOPIC_OR_PARTITION after being asked to create it will not (Kafka
      // with auto-creation off), so that gets only a couple of retries, not a leader election's worth.
      const transient = code === ErrorCode.LEADER_NOT_AVAILABLE || (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && opts.autoCreate && attempt < UNKNOWN_TOPIC_RETRIES_MAX);
      if (!transient || attempt >= (opts.retriesMax ?? METADATA_RETRIES_MAX)) {
        if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new KafkaClientError(code, `topic ${name} does not exist`);
        throw kafkaError(code, `metadata for topic ${name}`);
      }
      await sleep(backoffMs(attempt));
    }
  }

  /** The name of every topic in the cluster (internal ones like __consumer_offsets only if asked). */
  async topicNames(opts: { internal?: boolean } = {}): Promise<string[]> {
    const res = await this.refreshMetadata(null, false);
    return res.topics.filter((t) => t.name !== null && t.errorCode === 0 && (opts.internal || !t.isInternal)).map((t) => t.name!);
  }

  /** Forgets the cached leaders of `topic` (after NOT_LEADER_OR_FOLLOWER and the like). */
  invalidate(topic: string): void {
    this.topics.delete(topic);
  }

  cachedTopic(topic: string): TopicInfo | undefined {
    return this.topics.get(topic);
  }

  /** Leader's connection for a partition; refreshes metadata once if the leader is unknown. */
  async leaderConnection(topic: string, partition: number, autoCreate = false): Promise<Connection> {
    const info = await this.topic(topic, { autoCreate });
    const p = info.partitions.find((x) => x.partition === partition);
    if (p === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${partition} (it has ${info.partitions.length})`);
    return this.nodeConnection(p.leader);
  }

  /**
   * ListOffsets for some partitions of one topic at one timestamp each (LATEST, EARLIEST or ms).
   * Resolves partition → offset (-1 when no record is at or after a timestamp). Retries leader
   * moves; throws other errors.
   */
  async listOffsets(topic: string, wanted: Map<number, number>, isolationLevel = 1): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    let todo = new Map(wanted);
    for (let attempt = 0; todo.size > 0; attempt++) {
      const byLeader = new Map<number, number[]>();
      const info = await this.topic(topic, { autoCreate: false });
      for (const partition of todo.keys()) {
        const p = info.partitions.find((x) => x.partition === partition);
        if (!p) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} has no partition ${partition} (it has ${info.partitions.length})`);
        byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), partition]);
      }
      const retry = new Map<number, number>();
      let lastError: Error | null = null;
      await Promise.all(
        [...byLeader].map(async ([leader, partitions]) => {
          try {
            const conn = await this.nodeConnection(leader);
            const res = await conn.request(ListOffsets, {
              replicaId: -1,
              isolationLevel,
              topics: [
                {
                  name: topic,
                  partitions: partitions.map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: BigInt(todo.get(p)!), maxNumOffsets: 1 })),
                },
              ],
            });
            for (const t of res.topics) {
              for (const p of t.partitions) {
                if (p.errorCode === 0) out.set(p.partitionIndex, Number(p.offset));
                else if (isRetriableCode(p.errorCode)) {
                  retry.set(p.partitionIndex, todo.get(p.partitionIndex)!);
                  lastError = kafkaError(p.errorCode, `list offsets of ${topic}/${p.partitionIndex}`);
                } else throw kafkaError(p.errorCode, `list offsets of ${topic}/${p.partitionIndex}`);
              }
            }
          } catch (err) {
            if (!isRetriableError(err)) throw err;
            lastError = err as Error;
            for (const p of partitions) retry.set(p, todo.get(p)!);
          }
        }),
      );
      if (retry.size > 0) {
        if (attempt >= METADATA_RETRIES_MAX) throw lastError ?? new ConnectionError("list offsets: retries exhausted");
        const failed = lastError as Error | null; // assigned in the callbacks above
        if (failed instanceof ConnectionError) this.reportRetry(`list offsets of ${topic}`, failed, attempt);
        this.invalidate(topic);
        await sleep(backoffMs(attempt));
      }
      todo = retry;
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    this.ready.clear();
    for (const conn of this.owned) conn.close();
    this.owned.clear();
    for (const p of all) {
      try {
        (await p).close();
      } catch {
        // never opened
      }
    }
  }
}

function isRetriableCode(code: number): boolean {
  return (
    code === ErrorCode.NOT_LEADER_OR_FOLLOWER ||
    code === ErrorCode.LEADER_NOT_AVAILABLE ||
    code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ||
    code === ErrorCode.REQUEST_TIMED_OUT ||
    code === ErrorCode.FENCED_LEADER_EPOCH ||
    code === ErrorCode.UNKNOWN_LEADER_EPOCH ||
    code === ErrorCode.OFFSET_NOT_AVAILABLE
  );
}
