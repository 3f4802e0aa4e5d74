// Follower side of replication (issue #19): for the partitions this broker follows, one fetch
// loop per leader, on one connection, speaking the Kafka protocol as Kafka's brokers do:
//
//   1. a partition new to the loop, or under a new leader epoch, is first TRUNCATED to where its
//      log and the leader's agree (KIP-279): OffsetForLeaderEpoch with the follower's latest epoch
//      E answers (E', end) —
//        | leader's answer           | truncate to                                        |
//        |---------------------------|----------------------------------------------------|
//        | undefined (-1, -1)        | the follower's high watermark                      |
//        | E' = E                    | min(end, the follower's log end)                   |
//        | E' < E                    | min(end, where E' ends in the follower's own log)  |
//   2. then FETCH from the follower's durable end with replica_id = this broker: the offset tells
//      the leader what this replica has on disk (that is how the leader counts it towards the high
//      watermark), the answer's batches are appended as they are (appendReplica: the leader's
//      offsets and epochs), each durable before the next fetch, and the follower's high watermark
//      becomes min(the leader's, its own durable end).
//   3. a partition that answers an error (NOT_LEADER and FENCED_LEADER_EPOCH while the leader has
//      not applied the cluster's latest state yet, UNKNOWN_TOPIC_OR_PARTITION before it created
//      its replica) is retried after REPLICA_FETCH_BACKOFF_MS (Kafka's replica.fetch.backoff.ms),
//      or at once when the cluster's next state arrives (follow() again); a connection failure
//      retries with backoff (the controller elects a new leader if this one is gone).
import { batchSizeAt, BATCH_HEADER_BYTES } from "../../core/batch/header.ts";
import type { PartitionLog } from "../../core/log/partition-log.ts";
import { Connection } from "../client/connection.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { Fetch, type FetchRequest, OffsetForLeaderEpoch } from "../protocol/messages/index.ts";

export interface FollowedPartition {
  topic: string;
  partition: number;
  topicId: Uint8Array;
  log: PartitionLog;
  leaderId: number;
  leaderEpoch: number;
}

interface Entry extends FollowedPartition {
  /** Truncation to the leader's log is still to do (new partition or new epoch). */
  mustTruncate: boolean;
  /** Not fetched before this time (ms): it answered an error (see the header). */
  retryAt: number;
  /** Errors in a row. */
  failures?: number;
}

export interface FetcherOptions {
  nodeId: number;
  /** The address of a broker by id (the cluster's view), or undefined while unknown. */
  endpoint(id: number): { host: string; port: number } | undefined;
  log: { info(l: string): void; warn(l: string): void };
  maxWaitMs?: number;
  maxBytes?: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Kafka's replica.fetch.backoff.ms. */
export const REPLICA_FETCH_BACKOFF_MS = 1000;

export class ReplicaFetchers {
  private readonly loops = new Map<number, LeaderLoop>();
  private stopped = false;

  constructor(private readonly opts: FetcherOptions) {}

  /** Follow `p` from its leader under its epoch (a new epoch or leader truncates first). */
  follow(p: FollowedPartition): void {
    if (this.stopped) return;
    for (const [leader, loop] of this.loops) if (leader !== p.leaderId) loop.remove(p.topic, p.partition);
    let loop = this.loops.get(p.leaderId);
    if (loop === undefined) {
      loop = new LeaderLoop(p.leaderId, this.opts);
      this.loops.set(p.leaderId, loop);
    }
    loop.add(p);
  }

  unfollow(topic: string, partition: number): void {
    for (const loop of this.loops.values()) loop.remove(topic, partition);
  }

  /** Partitions followed now, by leader (for status). */
  followed(): Array<{ leader: number; topic: string; partition: number; waiting: boolean }> {
    const out = [];
    const now = Date.now();
    for (const [leader, loop] of this.loops) for (const e of loop.entries()) out.push({ leader, topic: e.topic, partition: e.partition, waiting: e.retryAt > now });
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.loops.values()].map((l) => l.stop()));
    this.loops.clear();
  }
}

class LeaderLoop {
  private readonly partitions = new Map<string, Entry>();
  private conn: Connection | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly leaderId: number,
    private readonly opts: FetcherOptions,
  ) {}

  entries(): Entry[] {
    return [...this.partitions.values()];
  }

  add(p: FollowedPartition): void {
    const k = key(p.topic, p.partition);
    const old = this.partitions.get(k);
    const changed = old === undefined || old.leaderEpoch !== p.leaderEpoch || old.log !== p.log;
    this.partitions.set(k, { ...p, mustTruncate: changed || old.mustTruncate, retryAt: changed ? 0 : old.retryAt });
    this.running ??= this.run().finally(() => (this.running = null));
    this.wake?.();
  }

  remove(topic: string, partition: number): void {
    this.partitions.delete(key(topic, partition));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.conn?.close();
    await this.running;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopping && this.partitions.size > 0) {
      try {
        const conn = await this.connection();
        const now = Date.now();
        const active = [...this.partitions.values()].filter((e) => e.retryAt <= now);
        if (active.length === 0) {
          await this.sleep(Math.max(10, Math.min(...[...this.partitions.values()].map((e) => e.retryAt)) - now));
          continue;
        }
        const truncating = active.filter((e) => e.mustTruncate);
        if (truncating.length > 0) await this.truncate(conn, truncating);
        else await this.fetchOnce(conn, active);
        backoff = 100;
      } catch (err) {
        if (this.stopping) break;
        this.conn?.close();
        this.conn = null;
        this.opts.log.warn(`replica fetch from broker ${this.leaderId}: ${(err as Error).message}; retrying in ${backoff} ms`);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
    this.conn?.close();
    this.conn = null;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private async connection(): Promise<Connection> {
    if (this.conn !== null && this.conn.isOpen) return this.conn;
    const at = this.opts.endpoint(this.leaderId);
    if (at === undefined) throw new Error(`broker ${this.leaderId} is not registered`);
    this.conn = await Connection.open({ host: at.host, port: at.port, clientId: `streamctl-replica-${this.opts.nodeId}`, clientVersion: "1" });
    return this.conn;
  }

  /** Step 1 of the header: cut each partition's log back to where it agrees with the leader's. */
  private async truncate(conn: Connection, entries: Entry[]): Promise<void> {
    const byTopic = new Map<string, Entry[]>();
    for (const e of entries) byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e]);
    const res = await conn.request(
      OffsetForLeaderEpoch,
      {
        replicaId: this.opts.nodeId,
        topics: [...byTopic].map(([topic, es]) => ({ topic, partitions: es.map((e) => ({ partition: e.partition, currentLeaderEpoch: e.leaderEpoch, leaderEpoch: e.log.leaderEpoch })) })),
      },
      Math.min(4, conn.version(OffsetForLeaderEpoch)),
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        const e = this.partitions.get(key(t.topic, p.partition));
        if (e === undefined || !e.mustTruncate) continue;
        if (p.errorCode !== 0) {
          this.stall(e, `OffsetForLeaderEpoch: error ${p.errorCode}`);
          continue;
        }
        const log = e.log;
        const mine = log.leaderEpoch;
        const end = Number(p.endOffset);
        let to: number;
        if (p.leaderEpoch < 0 || end < 0) to = log.highWatermark;
        else if (p.leaderEpoch === mine) to = Math.min(end, log.endOffset);
        else to = Math.min(end, log.endOffsetForEpoch(p.leaderEpoch).endOffset < 0 ? log.highWatermark : log.endOffsetForEpoch(p.leaderEpoch).endOffset);
        to = Math.max(to, log.startOffset);
        if (to < log.endOffset) {
          this.opts.log.info(`replica ${e.topic}/${e.partition}: truncating ${log.endOffset - to} offset(s) from ${to} to follow broker ${this.leaderId} (epoch ${e.leaderEpoch})`);
          await log.truncateTo(to);
        }
        e.mustTruncate = false;
        e.failures = 0;
      }
    }
  }

  /** Step 2: one fetch for every active partition, its batches appended durably. */
  private async fetchOnce(conn: Connection, entries: Entry[]): Promise<void> {
    const byTopic = new Map<string, Entry[]>();
    for (const e of entries) byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e]);
    const version = Math.min(12, conn.version(Fetch));
    const req: FetchRequest = {
      clusterId: null,
      replicaId: this.opts.nodeId,
      replicaState: { replicaId: this.opts.nodeId, replicaEpoch: -1n },
      maxWaitMs: this.opts.maxWaitMs ?? 500,
      minBytes: 1,
      maxBytes: this.opts.maxBytes ?? 16 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, es]) => ({
        topic,
        topicId: es[0]!.topicId,
        partitions: es.map((e) => ({
          partition: e.partition,
          currentLeaderEpoch: e.leaderEpoch,
          fetchOffset: BigInt(e.log.durableEndOffset),
          lastFetchedEpoch: -1,
          logStartOffset: BigInt(e.log.startOffset),
          partitionMaxBytes: 8 * 1024 * 1024,
        })),
      })),
      forgottenTopicsData: [],
      rackId: "",
    };
    const res = await conn.request(Fetch, req, version);
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const e = this.partitions.get(key(t.topic, p.partitionIndex));
        if (e === undefined || e.mustTruncate) continue;
        if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          e.mustTruncate = true; // this replica holds more than the leader: find where they agree
          continue;
        }
        if (p.errorCode !== 0) {
          this.stall(e, `fetch: error ${p.errorCode}`);
          continue;
        }
        const records = p.records;
        if (records !== null && records.length > 0) {
          // The response's buffer may be reused once this answer is done: the log copies on write.
          for (let pos = 0; pos + BATCH_HEADER_BYTES <= records.length; ) {
            const size = batchSizeAt(records, pos);
            if (size < BATCH_HEADER_BYTES || pos + size > records.length) break; // a partial last batch
            await e.log.appendReplica(records.subarray(pos, pos + size));
            pos += size;
          }
        }
        e.log.advanceHighWatermark(Number(p.highWatermark));
        e.failures = 0;
      }
    }
  }

  private stall(e: Entry, why: string): void {
    e.failures = (e.failures ?? 0) + 1;
    // Transient at a leader change or a create: worth a line only when it lasts.
    if (e.failures === 10) this.opts.log.warn(`replica ${e.topic}/${e.partition}: ${why} from broker ${this.leaderId}, ${e.failures} times; retrying every ${REPLICA_FETCH_BACKOFF_MS} ms`);
    e.retryAt = Date.now() + REPLICA_FETCH_BACKOFF_MS;
  }
}
