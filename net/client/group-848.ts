// ConsumerGroupMember: one membership of the consumer group protocol (KIP-848; Kafka's
// ConsumerGroupHeartbeatRequest.json v0, the Java client's ConsumerMembershipManager), for brokers
// that serve it (group-member.ts chooses). There is no JoinGroup/SyncGroup round and no client-side
// leader: the coordinator assigns, and a lone member gets its partitions in its first answer — no
// group.initial.rebalance.delay.ms (the classic protocol's 3 s).
//
//   ConsumerGroupHeartbeat, MemberEpoch 0: joins with the subscribed topic names, the rebalance
//               timeout and no owned partitions; the answer gives the member id (v0: the
//               coordinator makes it), the epoch, the heartbeat interval and the assignment, by
//               topic id (names from Metadata v10+, KafkaClient.topic)
//   ConsumerGroupHeartbeat every HeartbeatIntervalMs (the coordinator's), with the epoch; owned
//               partitions only when they changed since the last one sent (as the Java client's
//               HeartbeatState); heartbeats go on while the consumer gives partitions up
//   an answer with a different assignment sets `needsRejoin`: the Consumer asks for it
//               (pendingAssignment), gives up only the partitions that go away (onRevoked, a
//               commit at the current epoch), then take()s it; when partitions went away, the
//               member heartbeats at once with what it owns now, which is how the coordinator learns
//               they are free for the others (it keeps the member's epoch until then). Kept
//               partitions are read on without a pause. (join() does the same in one step for a
//               consumer that gave up everything: the first join, and after a fence.)
//   OffsetCommit v9 with the member id and epoch (the coordinator checks the epoch:
//               STALE_MEMBER_EPOCH → once more with the epoch a heartbeat brought meanwhile)
//   ConsumerGroupHeartbeat, MemberEpoch -1: leaves, so the others get its partitions at once
//
// Errors: FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID → the partitions are lost (no commit is possible
// at a fenced epoch): the consumer revokes, and join() joins again with epoch 0 and the same member
// id. NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS or a broken
// connection → find the coordinator again (the session timeout bounds how long that may take).
// Anything else (GROUP_MAX_SIZE_REACHED, UNRELEASED_INSTANCE_ID, INVALID_REQUEST, …) fails the
// consumer at its next poll. A coordinator that cannot serve this protocol for the group — no
// ConsumerGroupHeartbeat (or no OffsetCommit v9) in its ApiVersions, UNSUPPORTED_VERSION, or
// GROUP_ID_NOT_FOUND (a classic group with members has that id) — raises ConsumerProtocolUnavailable at the first join, and
// group-member.ts falls back to the classic protocol. No static membership (group.instance.id), as
// the classic member has none.
import { ErrorCode } from "../protocol/errors.ts";
import { ConsumerGroupHeartbeat, type ConsumerGroupHeartbeatResponse, OffsetCommit } from "../protocol/messages/index.ts";
import { uuidFromString, uuidToString } from "../protocol/reader.ts";
import { backoffMs, type KafkaClient } from "./client.ts";
import type { Connection } from "./connection.ts";
import { HEARTBEAT_INTERVAL_MS, REBALANCE_TIMEOUT_MS, RETRIES_MAX } from "./constants.ts";
import { KafkaClientError, kafkaError } from "./errors.ts";
import { COORDINATOR_ERRORS, commitTopics, CoordinatorLink, type GroupMembership, type PendingAssignment } from "./group-coordinator.ts";

/** The coordinator cannot serve the consumer group protocol for this group: use the classic one. */
export class ConsumerProtocolUnavailable extends Error {
  override name = "ConsumerProtocolUnavailable";
}

/** topic id → partitions (sorted). */
type IdAssignment = Map<string, number[]>;

interface PendingById extends PendingAssignment {
  readonly byId: IdAssignment;
}

const JOIN_EPOCH = 0;
const LEAVE_EPOCH = -1;
/** The member's epoch is no longer the coordinator's: it owns nothing and joins again. */
const FENCED_ERRORS = new Set<number>([ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID]);
/** Answers of a coordinator that will not run this group under the consumer protocol. */
const UNAVAILABLE_ERRORS = new Set<number>([ErrorCode.UNSUPPORTED_VERSION, ErrorCode.GROUP_ID_NOT_FOUND]);
/** Heartbeats a joining member waits for a first partition when its first answer gives none. */
const EMPTY_JOIN_HEARTBEATS_MAX = 3;
/** Heartbeats with the new owned partitions after a join before the assignment is taken as it is. */
const SETTLE_ROUNDS_MAX = 5;

export class ConsumerGroupMember implements GroupMembership {
  readonly protocol = "consumer" as const;
  memberId = "";
  /** 0: not (or no longer) a member; > 0: the epoch the coordinator last gave. */
  memberEpoch = JOIN_EPOCH;
  needsRejoin = false;
  private readonly link: CoordinatorLink;
  private heartbeatIntervalMs = HEARTBEAT_INTERVAL_MS;
  /** What the consumer reads now, by topic id. */
  private owned: IdAssignment = new Map();
  /** `owned` as the coordinator last heard it (a signature), null: tell it with the next heartbeat. */
  private reported: string | null = null;
  /** The coordinator's assignment when it differs from `owned` (join() takes it). */
  private target: IdAssignment | null = null;
  /** What ends the membership (an error no rejoin mends): join() throws it. */
  private fatal: Error | null = null;
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  /** The heartbeat on its way, if any: one at a time. */
  private inFlight: Promise<void> | null = null;
  private failures = 0;
  private stopped = false;
  /** join() is running: it sends its own heartbeats, and the timer's wait. */
  private joining = false;
  /** Resolves on leave() or interrupt(): a join waiting for partitions stops waiting. */
  private readonly woken: Promise<void>;
  private wake!: () => void;
  private interrupted = false;
  /** Topic id → name, for the subscribed topics. */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly client: KafkaClient,
    readonly groupId: string,
    readonly topics: string[],
  ) {
    this.link = new CoordinatorLink(client, groupId);
    this.woken = new Promise((resolve) => (this.wake = resolve));
  }

  get generationId(): number {
    return this.memberEpoch > 0 ? this.memberEpoch : -1;
  }

  /** Joins (epoch 0) the first time and after being fenced; otherwise takes the coordinator's new
   * assignment. Resolves to this member's partitions of each topic. */
  async join(): Promise<Map<string, number[]>> {
    this.joining = true;
    try {
      this.stopHeartbeats();
      await this.inFlight;
      return await this.joinRounds();
    } finally {
      this.joining = false;
    }
  }

  private async joinRounds(): Promise<Map<string, number[]>> {
    for (let attempt = 0, rounds = 0; ; attempt++) {
      if (this.fatal !== null) throw this.fatal;
      if (this.stopped) return new Map(); // left meanwhile (the consumer closed)
      try {
        if (this.memberEpoch === JOIN_EPOCH) {
          this.owned = new Map();
          this.reported = null;
          await this.link.with("join", (conn) => this.heartbeat(conn, true));
          // Nothing free yet: what others hold for this member comes once they let it go, at a
          // later heartbeat. Wait a few for it, as a classic JoinGroup waits for the rebalance
          // (a bounded read would otherwise end with nothing; a member of a group with more
          // members than partitions stays empty after them).
          for (let i = 0; i < EMPTY_JOIN_HEARTBEATS_MAX && this.target === null && this.memberEpoch !== JOIN_EPOCH && !this.stopped && !this.interrupted; i++) {
            await this.pause(this.heartbeatIntervalMs);
            if (!this.stopped && !this.interrupted) await this.link.with("heartbeat", (conn) => this.heartbeat(conn, false));
          }
          if (this.stopped || this.memberEpoch === JOIN_EPOCH) continue;
        }
        const next = this.target ?? this.owned;
        const released = [...this.owned].some(([id, ps]) => ps.some((p) => !next.get(id)?.includes(p)));
        this.owned = next;
        this.target = null;
        this.needsRejoin = false;
        // Partitions went away: the coordinator hands them to others once it hears they are free.
        if (released && rounds++ < SETTLE_ROUNDS_MAX) {
          await this.link.with("heartbeat", (conn) => this.heartbeat(conn, false));
          if (this.needsRejoin) continue;
        }
        if (this.memberEpoch === JOIN_EPOCH) continue; // fenced meanwhile
        const partitions = await this.byName(this.owned);
        this.joining = false;
        this.startHeartbeats(this.heartbeatIntervalMs);
        return partitions;
      } catch (err) {
        if (err instanceof ConsumerProtocolUnavailable) throw err;
        const code = err instanceof KafkaClientError ? err.code : null;
        if (code !== null && FENCED_ERRORS.has(code) && attempt < RETRIES_MAX) {
          this.memberEpoch = JOIN_EPOCH;
          continue;
        }
        throw err;
      }
    }
  }

  /** `ms`, or less when leave() or interrupt() wakes it (no timer is left behind to hold the process). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void this.woken.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** A join waiting for partitions stops waiting and resolves with what it has (the consumer is closing). */
  interrupt(): void {
    this.interrupted = true;
    this.wake();
  }

  /** The coordinator's new assignment, by name, for the consumer to reconcile against (incrementally:
   * it revokes only what goes away, then take()s it); null: join() instead. */
  async pendingAssignment(): Promise<PendingAssignment | null> {
    const target = this.target;
    if (this.fatal !== null || this.memberEpoch === JOIN_EPOCH || target === null) return null;
    const pending: PendingById = { partitions: await this.byName(target), byId: target };
    return pending;
  }

  /** Takes `pending` (the consumer no longer reads what it leaves out) and, when partitions went
   * away, tells the coordinator at once: others get them then. A newer assignment that arrived
   * meanwhile stays pending (`needsRejoin`); a fence leaves the member to join() again. */
  async take(pending: PendingAssignment): Promise<void> {
    const next = (pending as PendingById).byId;
    this.joining = true;
    try {
      this.stopHeartbeats();
      await this.inFlight;
      if (this.memberEpoch === JOIN_EPOCH || this.fatal !== null) return;
      const released = [...this.owned].some(([id, ps]) => ps.some((p) => !next.get(id)?.includes(p)));
      this.owned = next;
      if (this.target === next) {
        this.target = null;
        this.needsRejoin = false;
      }
      if (released) {
        try {
          await this.link.with("heartbeat", (conn) => this.heartbeat(conn, false));
        } catch (err) {
          // Fenced: heartbeat() marked it (the consumer joins again); anything else is the consumer's.
          if (!(err instanceof KafkaClientError && FENCED_ERRORS.has(err.code))) throw err;
        }
      }
    } finally {
      this.joining = false;
    }
    this.startHeartbeats(this.heartbeatIntervalMs);
  }

  /** One ConsumerGroupHeartbeat and what its answer says (a code link.with retries or throws). */
  private async heartbeat(conn: Connection, joining: boolean): Promise<{ code: number; value: undefined; message?: string | null }> {
    // A member commits with OffsetCommit v9 (its epoch): a coordinator without it cannot take them.
    if (!conn.supports(ConsumerGroupHeartbeat) || !conn.supports(OffsetCommit) || conn.version(OffsetCommit) < 9) {
      throw new ConsumerProtocolUnavailable(`the coordinator of group ${this.groupId} (${conn.address}) does not serve the consumer group protocol`);
    }
    const owned = signature(this.owned);
    const report = joining || owned !== this.reported;
    const res: ConsumerGroupHeartbeatResponse = await conn.request(ConsumerGroupHeartbeat, {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: joining ? JOIN_EPOCH : this.memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: joining ? REBALANCE_TIMEOUT_MS : -1,
      subscribedTopicNames: joining ? [...this.topics] : null,
      serverAssignor: null,
      topicPartitions: report ? toWire(this.owned) : null,
    });
    if (res.errorCode !== 0) {
      if (joining && UNAVAILABLE_ERRORS.has(res.errorCode)) {
        throw new ConsumerProtocolUnavailable(`group ${this.groupId}: ${kafkaError(res.errorCode, "consumer group heartbeat", res.errorMessage).message}`);
      }
      if (FENCED_ERRORS.has(res.errorCode)) this.fenced();
      return { code: res.errorCode, value: undefined, message: res.errorMessage };
    }
    if (res.memberId !== null && res.memberId !== "") this.memberId = res.memberId;
    this.memberEpoch = res.memberEpoch;
    if (res.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    if (report) this.reported = owned;
    if (res.assignment !== null) {
      const assigned: IdAssignment = new Map();
      for (const t of res.assignment.topicPartitions) if (t.partitions.length > 0) assigned.set(uuidToString(t.topicId), [...t.partitions].sort((a, b) => a - b));
      if (signature(assigned) === owned) {
        this.target = null;
        this.needsRejoin = false;
      } else {
        this.target = assigned;
        this.needsRejoin = true;
      }
    }
    return { code: 0, value: undefined };
  }

  /** Fenced (or forgotten): the partitions are lost; join() joins again with epoch 0. */
  private fenced(): void {
    this.memberEpoch = JOIN_EPOCH;
    this.target = null;
    this.needsRejoin = true;
  }

  private startHeartbeats(delayMs: number): void {
    if (this.stopped || this.joining || this.fatal !== null) return;
    this.stopHeartbeats();
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      this.inFlight = this.beat().finally(() => (this.inFlight = null));
    }, delayMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async beat(): Promise<void> {
    if (this.memberEpoch === JOIN_EPOCH) return; // fenced: join() joins again
    let retry = false;
    try {
      const r = await this.heartbeat(await this.link.find(), false);
      if (COORDINATOR_ERRORS.has(r.code)) retry = true;
      else if (r.code !== 0 && !FENCED_ERRORS.has(r.code)) {
        this.fatal = kafkaError(r.code, `consumer group heartbeat (group ${this.groupId})`, r.message);
        this.needsRejoin = true;
      }
    } catch (err) {
      if (err instanceof ConsumerProtocolUnavailable) {
        this.fatal = err;
        this.needsRejoin = true;
      } else retry = true;
    }
    if (retry) {
      this.link.drop();
      this.failures++;
    } else this.failures = 0;
    if (this.memberEpoch === JOIN_EPOCH) return;
    this.startHeartbeats(retry ? Math.min(backoffMs(this.failures), this.heartbeatIntervalMs) : this.heartbeatIntervalMs);
  }

  /** Committed offsets (-1 for none) of the given partitions, topic → partition → offset. */
  committed(partitions: ReadonlyMap<string, readonly number[]>): Promise<Map<string, Map<number, number>>> {
    return this.link.committed(partitions);
  }

  /** Commits next-offsets to read at the member's current epoch (OffsetCommit v9). Nothing while it is
   * not a member (before joining, or fenced: the partitions are lost, as in Kafka). */
  async commit(offsets: ReadonlyMap<string, ReadonlyMap<number, number>>): Promise<void> {
    const topics = commitTopics(offsets);
    if (topics.length === 0 || this.memberEpoch <= 0) return;
    for (let stale = 0; ; stale++) {
      const epoch = this.memberEpoch;
      const code = await this.link.with("offset commit", async (conn) => {
        const res = await conn.request(OffsetCommit, { groupId: this.groupId, generationIdOrMemberEpoch: epoch, memberId: this.memberId, groupInstanceId: null, retentionTimeMs: -1n, topics });
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode === 0) continue;
            if (COORDINATOR_ERRORS.has(p.errorCode)) return { code: p.errorCode, value: 0 };
            return { code: 0, value: p.errorCode };
          }
        }
        return { code: 0, value: 0 };
      });
      if (code === 0) return;
      // A heartbeat brought a new epoch while the commit was on its way: once more with it.
      if (code === ErrorCode.STALE_MEMBER_EPOCH && this.memberEpoch !== epoch && this.memberEpoch > 0 && stale === 0) continue;
      if (FENCED_ERRORS.has(code)) this.fenced();
      throw kafkaError(code, `commit (group ${this.groupId}, member epoch ${epoch})`);
    }
  }

  /** Stops heartbeats and leaves the group (epoch -1; best effort: the session timeout covers a failure). */
  async leave(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.stopHeartbeats();
    // A heartbeat on its way is not waited for (closing must be quick): its answer changes nothing now.
    if (this.memberEpoch > 0) {
      try {
        const conn = await this.link.find();
        await conn.request(ConsumerGroupHeartbeat, {
          groupId: this.groupId,
          memberId: this.memberId,
          memberEpoch: LEAVE_EPOCH,
          instanceId: null,
          rackId: null,
          rebalanceTimeoutMs: -1,
          subscribedTopicNames: null,
          serverAssignor: null,
          topicPartitions: null,
        });
      } catch {
        // leaving is a courtesy
      }
    }
    this.memberEpoch = JOIN_EPOCH;
    this.link.drop();
  }

  /** An assignment by topic id as topic name → partitions; ids of topics not subscribed (or gone) are left out. */
  private async byName(assignment: IdAssignment): Promise<Map<string, number[]>> {
    if ([...assignment.keys()].some((id) => !this.names.has(id))) await this.learnNames();
    const out = new Map<string, number[]>();
    for (const [id, partitions] of assignment) {
      const name = this.names.get(id);
      if (name !== undefined) out.set(name, [...partitions]);
    }
    return out;
  }

  /** Topic ids of the subscribed topics, from Metadata (asked again: a topic may have been recreated). */
  private async learnNames(): Promise<void> {
    for (const name of this.topics) {
      try {
        const info = await this.client.topic(name, { autoCreate: false, refresh: true });
        if (info.topicId !== undefined) this.names.set(info.topicId, name);
      } catch {
        // a topic that does not exist is not assigned
      }
    }
  }
}

function signature(a: IdAssignment): string {
  return [...a]
    .filter(([, ps]) => ps.length > 0)
    .map(([id, ps]) => `${id}:${ps.join(",")}`)
    .sort()
    .join(";");
}

function toWire(a: IdAssignment): Array<{ topicId: Uint8Array; partitions: number[] }> {
  return [...a].filter(([, ps]) => ps.length > 0).map(([id, partitions]) => ({ topicId: uuidFromString(id), partitions: [...partitions] }));
}
