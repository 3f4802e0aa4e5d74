// AdminClient: cluster, topic and offset administration over Kafka's admin APIs, so `streamctl
// topics`, `metadata`, `offsets` (and, with admin-groups.ts, `groups` and `top`) manage Apache Kafka,
// Redpanda and streamctl alike. Where each request goes, as Kafka's own AdminClient sends it:
//
//   Metadata, DescribeConfigs (topics), AlterConfigs, IncrementalAlterConfigs   any broker
//   CreateTopics, DeleteTopics, CreatePartitions                                the controller
//                                                                               (Metadata's controllerId;
//                                                                               KRaft brokers forward)
//   ListOffsets                                                                 each partition's leader
//                                                                               (KafkaClient.listOffsets)
//
// Every operation is bounded by `requestTimeoutMs` (connect included): a broker that accepts and
// never answers fails the command with the broker's address instead of hanging it. Per-topic error
// codes become KafkaClientError with the code kept, so commands branch on them.
//
// Config changes prefer IncrementalAlterConfigs (KIP-339: set and delete single keys); a broker
// without it gets AlterConfigs, which replaces a topic's whole set of overrides, so the current
// overrides are read first and sent back with the change applied. A broker with neither answers
// UnsupportedApiError (the CLI may then use streamctl's control plane).
import { ErrorCode } from "../protocol/errors.ts";
import {
  AlterConfigs,
  CreatePartitions,
  CreateTopics,
  DeleteTopics,
  DescribeConfigs,
  IncrementalAlterConfigs,
  Metadata,
  type MetadataResponse,
} from "../protocol/messages/index.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { type BrokerAddress, EARLIEST, type KafkaClient, LATEST } from "./client.ts";
import type { Connection } from "./connection.ts";
import { ConnectionError, KafkaClientError, kafkaError } from "./errors.ts";
import { UnsupportedApiError } from "./versions.ts";

/** Kafka's request.timeout.ms default is 30 s; an admin command is interactive, so less. */
export const ADMIN_REQUEST_TIMEOUT_MS_DEFAULT = 15_000;
/** How long the broker may take to create or delete topics before it answers (Kafka's default). */
const ADMIN_OPERATION_TIMEOUT_MS = 30_000;
const RESOURCE_TOPIC = 2;
/** ConfigSource values (DescribeConfigs v1+): 1 is a topic's own override. */
export const CONFIG_SOURCE_TOPIC = 1;
const OP_SET = 0;
const OP_DELETE = 1;
const NIL_UUID = new Uint8Array(16);

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  /** 8-4-4-4-12 hex, as streamctl's control plane prints topic ids; null when the broker has none. */
  topicId: string | null;
  internal: boolean;
  errorCode: number;
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
  topics: TopicMetadata[];
}

export interface TopicConfig {
  name: string;
  value: string | null;
  /** Kafka's ConfigSource: 1 topic override, 4/5 broker static/default, … */
  source: number;
  readOnly: boolean;
  sensitive: boolean;
}

export interface AdminOptions {
  requestTimeoutMs?: number;
}

export function uuidText(id: Uint8Array): string | null {
  if (id.every((b) => b === 0)) return null;
  const hex = Buffer.from(id).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class AdminClient {
  readonly requestTimeoutMs: number;
  private brokers = new Map<number, BrokerAddress>();
  private controllerId = -1;

  constructor(
    readonly client: KafkaClient,
    opts: AdminOptions = {},
  ) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? ADMIN_REQUEST_TIMEOUT_MS_DEFAULT;
  }

  /** Runs `fn` within the request timeout; `what` names the operation in the failure. */
  bounded<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ConnectionError(`${what}: no answer within ${this.requestTimeoutMs} ms (request.timeout.ms)`)), this.requestTimeoutMs);
      // fn may throw before it returns a promise (no common API version): no timer left behind.
      Promise.try(fn).then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** One request on `conn`, bounded; `what` names it in errors. */
  request<Req, Res>(conn: Connection, api: ApiDescriptor<any, Res, Req, any>, body: Req, version?: number): Promise<Res> {
    return this.bounded(`${api.name} to ${conn.address}`, () => conn.request(api, body, version ?? conn.version(api)));
  }

  async anyConnection(): Promise<Connection> {
    return this.bounded("connect to the bootstrap broker", () => this.client.anyConnection());
  }

  /** Connection to broker `nodeId` as the last Metadata named it. */
  async nodeConnection(nodeId: number): Promise<Connection> {
    let addr = this.brokers.get(nodeId);
    if (addr === undefined) {
      await this.metadata([]);
      addr = this.brokers.get(nodeId);
    }
    if (addr === undefined) throw new ConnectionError(`broker ${nodeId} is not in the cluster metadata`);
    const a = addr;
    return this.bounded(`connect to broker ${nodeId} (${a.host}:${a.port})`, () => this.client.connectionTo(a));
  }

  /** The controller's connection (any broker when the cluster names none). */
  async controllerConnection(): Promise<Connection> {
    if (this.controllerId < 0) await this.metadata([]);
    return this.controllerId >= 0 ? this.nodeConnection(this.controllerId) : this.anyConnection();
  }

  /** Brokers and the named topics (null: every topic), never creating any. */
  async metadata(topics: string[] | null): Promise<ClusterMetadata> {
    const conn = await this.anyConnection();
    const res: MetadataResponse = await this.request(conn, Metadata, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: NIL_UUID, name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.brokers = new Map(res.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
    this.controllerId = res.controllerId;
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId),
      topics: res.topics
        .filter((t) => t.name !== null)
        .map((t) => ({
          name: t.name!,
          topicId: uuidText(t.topicId),
          internal: t.isInternal,
          errorCode: t.errorCode,
          partitions: t.partitions
            .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, offline: p.offlineReplicas, errorCode: p.errorCode }))
            .sort((a, b) => a.partition - b.partition),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  /** One topic's metadata; UNKNOWN_TOPIC_OR_PARTITION (and other topic errors) as KafkaClientError. */
  async topic(name: string): Promise<TopicMetadata> {
    const md = await this.metadata([name]);
    const t = md.topics.find((x) => x.name === name);
    const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (code !== 0) throw topicError(code, name, "metadata");
    return t!;
  }

  /** Creates a topic. `partitions`/`replicationFactor` null: the broker's defaults (CreateTopics v4+). */
  async createTopic(name: string, opts: { partitions: number | null; replicationFactor: number | null; configs: Record<string, string>; validateOnly?: boolean }): Promise<{ topicId: string | null; partitions: number }> {
    const conn = await this.controllerConnection();
    const v = conn.version(CreateTopics);
    const res = await this.request(
      conn,
      CreateTopics,
      {
        topics: [
          {
            name,
            numPartitions: opts.partitions ?? (v >= 4 ? -1 : 1),
            replicationFactor: opts.replicationFactor ?? (v >= 4 ? -1 : 1),
            assignments: [],
            configs: Object.entries(opts.configs).map(([k, value]) => ({ name: k, value })),
          },
        ],
        timeoutMs: ADMIN_OPERATION_TIMEOUT_MS,
        validateOnly: opts.validateOnly ?? false,
      },
      v,
    );
    const t = res.topics.find((x) => x.name === name);
    if (!t) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, `create topic ${name}: the broker did not answer for it`);
    if (t.errorCode !== 0) throw topicError(t.errorCode, name, "create", t.errorMessage);
    // Answered once Metadata shows it with leaders (before v5 the answer has no partition count;
    // in a cluster the broker asked next may learn of the topic a moment after the controller).
    const partitions = (await this.topicWithLeaders(name)).partitions.length;
    return { topicId: v >= 7 ? uuidText(t.topicId) : null, partitions };
  }

  /** The topic once every partition has a leader (a new topic may need a moment). */
  private async topicWithLeaders(name: string): Promise<TopicMetadata> {
    for (let attempt = 0; ; attempt++) {
      try {
        const t = await this.topic(name);
        if (t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) return t;
      } catch (err) {
        if (!(err instanceof KafkaClientError) || attempt >= 20) throw err;
      }
      if (attempt >= 20) throw new KafkaClientError(ErrorCode.LEADER_NOT_AVAILABLE, `topic ${name}: no leader yet`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async deleteTopic(name: string): Promise<void> {
    const conn = await this.controllerConnection();
    const v = conn.version(DeleteTopics);
    const res = await this.request(conn, DeleteTopics, { topics: v >= 6 ? [{ name, topicId: NIL_UUID }] : [], topicNames: v >= 6 ? [] : [name], timeoutMs: ADMIN_OPERATION_TIMEOUT_MS }, v);
    const r = res.responses.find((x) => x.name === name) ?? res.responses[0];
    if (!r) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, `delete topic ${name}: the broker did not answer for it`);
    if (r.errorCode !== 0) throw topicError(r.errorCode, name, "delete", r.errorMessage);
  }

  /** A topic's effective configs, in the order the broker lists them. */
  async describeConfigs(topic: string): Promise<TopicConfig[]> {
    const conn = await this.anyConnection();
    const res = await this.request(conn, DescribeConfigs, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = res.results[0];
    if (!r) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, `describe configs of ${topic}: empty answer`);
    if (r.errorCode !== 0) throw topicError(r.errorCode, topic, "describe configs", r.errorMessage);
    return r.configs.map((c) => ({ name: c.name, value: c.value, source: c.configSource, readOnly: c.readOnly, sensitive: c.isSensitive }));
  }

  /** Sets (string) and resets (null: back to the default) topic configs. */
  async alterConfigs(topic: string, changes: Record<string, string | null>): Promise<void> {
    const conn = await this.anyConnection();
    if (conn.supports(IncrementalAlterConfigs)) {
      const res = await this.request(conn, IncrementalAlterConfigs, {
        resources: [
          {
            resourceType: RESOURCE_TOPIC,
            resourceName: topic,
            configs: Object.entries(changes).map(([name, value]) => ({ name, configOperation: value === null ? OP_DELETE : OP_SET, value })),
          },
        ],
        validateOnly: false,
      });
      const r = res.responses[0];
      if (r && r.errorCode !== 0) throw topicError(r.errorCode, topic, "alter configs", r.errorMessage);
      return;
    }
    if (!conn.supports(AlterConfigs)) throw new UnsupportedApiError(`the broker at ${conn.address} supports neither IncrementalAlterConfigs (44) nor AlterConfigs (33)`);
    // AlterConfigs replaces the topic's overrides: send the current ones with the change applied.
    const overrides = Object.fromEntries((await this.describeConfigs(topic)).filter((c) => c.source === CONFIG_SOURCE_TOPIC && c.value !== null).map((c) => [c.name, c.value!]));
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete overrides[k];
      else overrides[k] = v;
    }
    const res = await this.request(conn, AlterConfigs, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configs: Object.entries(overrides).map(([name, value]) => ({ name, value })) }],
      validateOnly: false,
    });
    const r = res.responses[0];
    if (r && r.errorCode !== 0) throw topicError(r.errorCode, topic, "alter configs", r.errorMessage);
  }

  /** Grows a topic to `total` partitions (Kafka never shrinks one). */
  async createPartitions(topic: string, total: number): Promise<void> {
    const conn = await this.controllerConnection();
    const res = await this.request(conn, CreatePartitions, { topics: [{ name: topic, count: total, assignments: null }], timeoutMs: ADMIN_OPERATION_TIMEOUT_MS, validateOnly: false });
    const r = res.results[0];
    if (r && r.errorCode !== 0) throw topicError(r.errorCode, topic, "add partitions", r.errorMessage);
  }

  /** Offsets of `partitions` of `topic` at `timestamp` (EARLIEST, LATEST or ms; -1 = none at or after). */
  /** Offsets at `timestamp` (EARLIEST, LATEST or a time); LATEST is the last stable offset under isolation level 1 (the default), the high watermark under 0. */
  offsetsAt(topic: string, partitions: readonly number[], timestamp: number, isolationLevel = 1): Promise<Map<number, number>> {
    if (partitions.length === 0) return Promise.resolve(new Map());
    return this.bounded(`list offsets of ${topic}`, () => this.client.listOffsets(topic, new Map(partitions.map((p) => [p, timestamp])), isolationLevel));
  }

  /**
   * Log start, end (the high watermark) and last stable offset (below it while a transaction is
   * open; the end of what read_committed readers see) of every partition of each topic, topic →
   * partition → range.
   */
  async offsetRanges(topics: readonly TopicMetadata[]): Promise<Map<string, Map<number, { start: number; end: number; lso: number }>>> {
    const out = new Map<string, Map<number, { start: number; end: number; lso: number }>>();
    await Promise.all(
      topics.map(async (t) => {
        const ps = t.partitions.map((p) => p.partition);
        const [start, end, lso] = await Promise.all([this.offsetsAt(t.name, ps, EARLIEST), this.offsetsAt(t.name, ps, LATEST, 0), this.offsetsAt(t.name, ps, LATEST, 1)]);
        out.set(t.name, new Map(ps.map((p) => [p, { start: start.get(p) ?? 0, end: end.get(p) ?? 0, lso: lso.get(p) ?? end.get(p) ?? 0 }])));
      }),
    );
    return out;
  }
}

/** A topic-level error code as a KafkaClientError whose message a person can act on. */
export function topicError(code: number, topic: string, what: string, detail?: string | null): KafkaClientError {
  if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return new KafkaClientError(code, `topic '${topic}' does not exist`);
  if (code === ErrorCode.TOPIC_ALREADY_EXISTS) return new KafkaClientError(code, `topic '${topic}' already exists`);
  return kafkaError(code, `${what} ${topic}`, detail);
}
