// What both kinds of group member (group.ts: the classic protocol; group-848.ts: the consumer
// group protocol, KIP-848) share: the GroupMembership interface the Consumer drives, the link to
// the group's coordinator, and the committed offsets.
//
//   FindCoordinator(key=group, type 0) → a connection of the member's own to the coordinator
//               (KafkaClient.ownConnection: a JoinGroup waiting there holds up no one else)
//   NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS anywhere: find the
//               coordinator again and retry
//   OffsetFetch of the assigned partitions (-1 = nothing committed); OffsetFetch up to v7 carries no
//               member, so neither protocol's coordinator checks one (v9 would, KIP-848)
import { ErrorCode } from "../protocol/errors.ts";
import { FindCoordinator, OffsetFetch } from "../protocol/messages/index.ts";
import { backoffMs, sleep, type KafkaClient } from "./client.ts";
import type { Connection } from "./connection.ts";
import { RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError } from "./errors.ts";

/** One membership of a consumer group, as the Consumer (consumer.ts) drives it. */
export interface GroupMembership {
  readonly groupId: string;
  /** Which protocol this member speaks ("classic": JoinGroup/SyncGroup; "consumer": KIP-848). */
  readonly protocol: "classic" | "consumer";
  /** The assignment changed (or the member lost it): the consumer gives up what it reads
   * (onRevoked, a commit), then calls join() for the new one. */
  readonly needsRejoin: boolean;
  /** ≥ 0 while the member holds an assignment it may commit for; -1 before and after. */
  readonly generationId: number;
  /** Joins (the first time) or takes the new assignment: this member's partitions of each topic. */
  join(): Promise<Map<string, number[]>>;
  /** Committed offsets (-1 for none) of the given partitions, topic → partition → offset. */
  committed(partitions: ReadonlyMap<string, readonly number[]>): Promise<Map<string, Map<number, number>>>;
  /** Commits next-offsets to read, topic → partition → offset. */
  commit(offsets: ReadonlyMap<string, ReadonlyMap<number, number>>): Promise<void>;
  /** Stops heartbeats and leaves the group (best effort). */
  leave(): Promise<void>;
  /** Stop waiting in join() for partitions others still hold: it resolves with what it has (the
   * caller is about to close). */
  interrupt?(): void;
  /** Incremental members (KIP-848) only: the new assignment the member would take, so the consumer
   * revokes only what goes away; null when it must join() instead (not a member, fenced, failed). */
  pendingAssignment?(): Promise<PendingAssignment | null>;
  /** Takes `pending` once the consumer has let go of what it no longer holds, and says so. */
  take?(pending: PendingAssignment): Promise<void>;
}

/** A new assignment a member has been given and not yet taken (GroupMembership.pendingAssignment). */
export interface PendingAssignment {
  /** topic → partitions, the subscribed topics' (the consumer reads these). */
  readonly partitions: Map<string, number[]>;
}

export const COORDINATOR_ERRORS = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);

/** The connection to a group's coordinator: found once however many callers ask, found again after a failure. */
export class CoordinatorLink {
  private coordinator: Connection | null = null;
  private finding: Promise<Connection> | null = null;

  constructor(
    private readonly client: KafkaClient,
    readonly groupId: string,
  ) {}

  /** The coordinator's connection, found (once, however many callers ask meanwhile) if not open. */
  find(): Promise<Connection> {
    if (this.coordinator?.isOpen) return Promise.resolve(this.coordinator);
    if (this.finding === null) {
      this.drop();
      this.finding = this.lookUp().finally(() => (this.finding = null));
    }
    return this.finding;
  }

  private async lookUp(): Promise<Connection> {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.client.anyConnection();
      const v = conn.version(FindCoordinator);
      const res = await conn.request(FindCoordinator, { key: this.groupId, keyType: 0, coordinatorKeys: [this.groupId] }, v);
      const c = v >= 4 ? res.coordinators[0] : { errorCode: res.errorCode, nodeId: res.nodeId, host: res.host, port: res.port, errorMessage: res.errorMessage };
      const code = c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (code === 0 && c) {
        this.coordinator = await this.client.ownConnection({ host: c.host, port: c.port });
        return this.coordinator;
      }
      if (!COORDINATOR_ERRORS.has(code) || attempt >= RETRIES_MAX) throw kafkaError(code, `find coordinator of group ${this.groupId}`, c?.errorMessage);
      await sleep(backoffMs(attempt));
    }
  }

  /** Closes the coordinator connection (the member's own: KafkaClient.ownConnection) to find it again. */
  drop(): void {
    if (this.coordinator !== null) this.client.releaseConnection(this.coordinator);
    this.coordinator = null;
  }

  /** Runs `fn` against the coordinator, finding it again after coordinator errors. */
  async with<T>(what: string, fn: (conn: Connection) => Promise<{ code: number; value: T; message?: string | null }>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let code: number;
      let message: string | null | undefined;
      try {
        const conn = await this.find();
        const r = await fn(conn);
        if (r.code === 0) return r.value;
        code = r.code;
        message = r.message;
      } catch (err) {
        if (!isRetriableError(err) || attempt >= RETRIES_MAX) throw err;
        this.client.reportRetry(`${what} (group ${this.groupId})`, err, attempt);
        this.drop();
        await sleep(backoffMs(attempt));
        continue;
      }
      // UNSTABLE_OFFSET_COMMIT: a transaction with offsets of the group is being ended; ask again.
      if (!(COORDINATOR_ERRORS.has(code) || code === ErrorCode.UNSTABLE_OFFSET_COMMIT) || attempt >= RETRIES_MAX) throw kafkaError(code, `${what} (group ${this.groupId})`, message);
      if (code !== ErrorCode.UNSTABLE_OFFSET_COMMIT) this.drop();
      await sleep(backoffMs(attempt));
    }
  }

  /** Committed offsets (-1 for none) of the given partitions, topic → partition → offset. */
  async committed(partitions: ReadonlyMap<string, readonly number[]>): Promise<Map<string, Map<number, number>>> {
    const topics = [...partitions].filter(([, list]) => list.length > 0).map(([name, list]) => ({ name, partitionIndexes: [...list] }));
    if (topics.length === 0) return new Map();
    return this.with("offset fetch", async (conn) => {
      const res = await conn.request(OffsetFetch, { groupId: this.groupId, topics, groups: [], requireStable: true });
      const out = new Map<string, Map<number, number>>();
      for (const t of res.topics) {
        const offsets = new Map<number, number>();
        out.set(t.name, offsets);
        for (const p of t.partitions) {
          if (p.errorCode !== 0 && !COORDINATOR_ERRORS.has(p.errorCode) && p.errorCode !== ErrorCode.UNSTABLE_OFFSET_COMMIT) throw kafkaError(p.errorCode, `offset fetch ${t.name}/${p.partitionIndex} (group ${this.groupId})`);
          if (p.errorCode !== 0) return { code: p.errorCode, value: out };
          offsets.set(p.partitionIndex, Number(p.committedOffset));
        }
      }
      return { code: res.errorCode, value: out };
    });
  }
}

/** OffsetCommit's topics from topic → partition → next offset (partitions with nothing left out). */
export function commitTopics(offsets: ReadonlyMap<string, ReadonlyMap<number, number>>) {
  return [...offsets]
    .filter(([, byPartition]) => byPartition.size > 0)
    .map(([name, byPartition]) => ({
      name,
      partitions: [...byPartition].map(([p, o]) => ({ partitionIndex: p, committedOffset: BigInt(o), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })),
    }));
}
