// Test support: the Kafka door driven in-process against the broker core, as net/kafka/door.test.ts
// does it — frames built with the generated codec go through dispatch() exactly as a connection
// hands them over, answers are decoded from the chunks the door would write. No socket, no spawned
// binary; the core runs on a temp dir that `reopen()` keeps (a restart) and `close()` removes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Broker, type BrokerConfig } from "../../core/broker/broker.ts";
import { decodeRecordBatch, encodeRecordBatch } from "../../core/batch/record-batch.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/header.ts";
import { encodeAssignment, encodeSubscription } from "../protocol/consumer-protocol.ts";
import {
  CreateTopics,
  JoinGroup,
  LeaveGroup,
  OffsetCommit,
  Produce,
  SyncGroup,
  defaultCreateTopicsRequest,
  defaultJoinGroupRequest,
  defaultLeaveGroupRequest,
  defaultOffsetCommitRequest,
  defaultSyncGroupRequest,
  defaultCreateTopicsRequestCreatableTopic,
  defaultFetchRequest,
  defaultProduceRequest,
} from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { dispatch, type ConnectionContext, type DispatchOutcome } from "../kafka/dispatch.ts";
import { EncodedResponse } from "../kafka/handler.ts";
import { kafkaDoor } from "../kafka/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const NIL_UUID: Uint8Array = new Uint8Array(16);

type BatchOptions = Parameters<typeof encodeRecordBatch>[0];

/** A decoded answer and the size of the whole frame it came in (length prefix included). */
export interface Answer<Res> {
  res: Res;
  frameBytes: number;
}

export class DoorHarness {
  broker!: Broker;
  /** Every line the broker logged as an error (a handler that threw logs one). */
  readonly errors: string[] = [];
  private conn!: ConnectionContext;
  private closeConnection!: AbortController;
  private correlation = 1;

  private constructor(readonly dir: string) {}

  static async open(config: Partial<BrokerConfig> = {}): Promise<DoorHarness> {
    const h = new DoorHarness(mkdtempSync(join(tmpdir(), "streamctl-kafka-door-")));
    await h.start(config);
    return h;
  }

  private async start(config: Partial<BrokerConfig>): Promise<void> {
    const quiet = { info() {}, warn() {}, error: (line: string) => void this.errors.push(line) };
    this.broker = await Broker.open({ dataDir: this.dir, fsync: { mode: "always" }, autoCreateTopics: true, defaultPartitions: 1, ...config }, quiet);
    this.closeConnection = new AbortController();
    const door = kafkaDoor(this.broker, { requestBytesMax: 100 << 20, maxConnections: 10, idleTimeoutMs: 60_000 }, { host: "127.0.0.1", port: 9092 });
    this.conn = { broker: this.broker, door, localAddress: "127.0.0.1", localPort: 9092, remoteAddress: "127.0.0.1", closed: this.closeConnection.signal };
  }

  /** A clean restart of the broker on the same data dir. */
  async reopen(config: Partial<BrokerConfig> = {}): Promise<void> {
    this.closeConnection.abort();
    await this.broker.close();
    await this.start(config);
  }

  async close(): Promise<void> {
    this.closeConnection.abort();
    await this.broker.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  frameOf<Req>(api: ApiDescriptor<Req, unknown, any, any>, version: number, body: Req, correlationId = this.correlation++): Uint8Array {
    const w = new Writer();
    const mark = w.reserveInt32();
    encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: "door-test" });
    api.encodeRequest(w, version, body);
    w.patchInt32(mark, w.length - 4);
    return w.finish();
  }

  /** What the door does with one frame. */
  outcomeOf(frame: Uint8Array): Promise<DispatchOutcome> {
    return new Promise((resolve) => dispatch(frame, this.conn, { settle: resolve }));
  }

  /** Sends one request and decodes its answer; throws when the door does not answer or the answer does not decode whole. */
  async answer<Req, Res>(api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Answer<Res>> {
    const correlationId = this.correlation++;
    const outcome = await this.outcomeOf(this.frameOf(api, version, body, correlationId));
    if (!(outcome instanceof EncodedResponse)) throw new Error(`${api.name} v${version}: no answer (${String(outcome)})`);
    const chunks = Array.isArray(outcome.chunks) ? outcome.chunks : [outcome.chunks];
    const frame = Buffer.concat(chunks);
    const r = new Reader(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength), 4);
    const header = decodeResponseHeader(r, api.key, version);
    if (header.correlationId !== correlationId) throw new Error(`${api.name}: correlation id ${header.correlationId}, sent ${correlationId}`);
    const res = api.decodeResponse(r, version) as Res;
    if (r.error || r.remaining !== 0) throw new Error(`${api.name} v${version}: the answer does not decode whole`);
    if (new DataView(frame.buffer, frame.byteOffset).getInt32(0) !== frame.length - 4) throw new Error(`${api.name}: bad length prefix`);
    return { res, frameBytes: frame.length };
  }

  async call<Req, Res>(api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req): Promise<Res> {
    return (await this.answer(api, version, body)).res;
  }

  async produce(topic: string, partition: number, records: Uint8Array, acks = -1) {
    const res = await this.call(Produce, 9, { ...defaultProduceRequest(), acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    return res.responses[0]!.partitionResponses[0]!;
  }

  async createTopic(name: string, numPartitions: number, configs: Array<{ name: string; value: string }> = []) {
    const res = await this.call(CreateTopics, 7, { ...defaultCreateTopicsRequest(), timeoutMs: 5000, topics: [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions, replicationFactor: -1, configs }] });
    return res.topics[0]!;
  }
}

/** A consumer group member that joined and synced (generation, assigned topic partitions). */
export interface JoinedMember {
  groupId: string;
  memberId: string;
  generationId: number;
}

/**
 * Group helpers over the door (JoinGroup v3, SyncGroup v3, LeaveGroup v3, OffsetCommit v8): the
 * harness must be opened with `groups: { initialRebalanceDelayMs: 0 }` so a lone join completes.
 */
export async function joinAndSync(h: DoorHarness, groupId: string, topics: Record<string, number[]>): Promise<JoinedMember> {
  const metadata = encodeSubscription(0, { topics: Object.keys(topics), userData: null, ownedPartitions: [], generationId: -1, rackId: null });
  const joined = await h.call(JoinGroup, 3, {
    ...defaultJoinGroupRequest(),
    groupId,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    memberId: "",
    protocolType: "consumer",
    protocols: [{ name: "range", metadata }],
  });
  if (joined.errorCode !== 0) throw new Error(`JoinGroup: error ${joined.errorCode}`);
  const assignment = encodeAssignment(0, { assignedPartitions: Object.entries(topics).map(([topic, partitions]) => ({ topic, partitions })), userData: null });
  const synced = await h.call(SyncGroup, 3, {
    ...defaultSyncGroupRequest(),
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    assignments: [{ memberId: joined.memberId, assignment }],
  });
  if (synced.errorCode !== 0) throw new Error(`SyncGroup: error ${synced.errorCode}`);
  return { groupId, memberId: joined.memberId, generationId: joined.generationId };
}

export async function leaveGroup(h: DoorHarness, m: JoinedMember): Promise<void> {
  const res = await h.call(LeaveGroup, 3, { ...defaultLeaveGroupRequest(), groupId: m.groupId, members: [{ memberId: m.memberId, groupInstanceId: null, reason: null }] });
  if (res.errorCode !== 0) throw new Error(`LeaveGroup: error ${res.errorCode}`);
}

/** Commits offsets as `m` (or, without a member, as an admin tool does for a group without members). */
export async function commitOffsets(h: DoorHarness, groupId: string, m: JoinedMember | null, offsets: Record<string, Array<[number, number]>>): Promise<number[]> {
  const res = await h.call(OffsetCommit, 8, {
    ...defaultOffsetCommitRequest(),
    groupId,
    generationIdOrMemberEpoch: m?.generationId ?? -1,
    memberId: m?.memberId ?? "",
    topics: Object.entries(offsets).map(([name, parts]) => ({
      name,
      partitions: parts.map(([partitionIndex, offset]) => ({ partitionIndex, committedOffset: BigInt(offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })),
    })),
  });
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

export function batchOf(values: string[], extra: Partial<BatchOptions> = {}): Uint8Array {
  return encodeRecordBatch({ records: values.map((v) => ({ value: encoder.encode(v) })), ...extra });
}

export interface FetchPartitionAsk {
  partition: number;
  offset: number;
  partitionMaxBytes?: number;
}

/** A Fetch request (any version up to 12: topics by name) for partitions of one or more topics. */
export function fetchRequest(topics: Record<string, FetchPartitionAsk[]>, opts: { maxBytes?: number; maxWaitMs?: number; minBytes?: number } = {}) {
  return {
    ...defaultFetchRequest(),
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 1,
    maxBytes: opts.maxBytes ?? 1 << 20,
    topics: Object.entries(topics).map(([topic, partitions]) => ({
      topic,
      topicId: NIL_UUID,
      partitions: partitions.map((p) => ({
        partition: p.partition,
        fetchOffset: BigInt(p.offset),
        partitionMaxBytes: p.partitionMaxBytes ?? 1 << 20,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
      })),
    })),
  };
}

export function concatRecords(records: Uint8Array | Uint8Array[] | null): Uint8Array {
  if (records === null) return new Uint8Array(0);
  return Array.isArray(records) ? new Uint8Array(Buffer.concat(records)) : records;
}

/** Values of every record in a fetched partition's batches; throws on a partial batch. */
export function valuesIn(records: Uint8Array | Uint8Array[] | null): string[] {
  const bytes = concatRecords(records);
  const out: string[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const size = 12 + new DataView(bytes.buffer, bytes.byteOffset + pos).getInt32(8);
    if (pos + size > bytes.length) throw new Error(`a partial batch at byte ${pos}`);
    for (const r of decodeRecordBatch(bytes.subarray(pos, pos + size)).records) out.push(r.value === null ? "" : decoder.decode(r.value));
    pos += size;
  }
  return out;
}
