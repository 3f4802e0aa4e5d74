// GroupMember: one consumer-group membership of the classic protocol (protocol type "consumer",
// range assignor), driven by the Consumer (consumer.ts), which decides when to commit and rejoin.
// Used with brokers that do not serve the consumer group protocol (group-848.ts; the choice is
// group-member.ts's). In this order (kafka-protocol.md §1.3d):
//
//   FindCoordinator(key=group, type 0) → connect to the coordinator (a connection of the member's
//               own, KafkaClient.ownConnection: a JoinGroup waiting there holds up no one else)
//   JoinGroup (memberId "" first; MEMBER_ID_REQUIRED hands us an id to join again with)
//   SyncGroup — the leader sends every member's assignment, computed here with rangeAssign over
//               the members' subscriptions; followers send none; everyone gets its own back
//   OffsetFetch for the assigned partitions (-1 = nothing committed)
//   Heartbeat every HEARTBEAT_INTERVAL_MS; REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION /
//               UNKNOWN_MEMBER_ID set `needsRejoin`, and the consumer commits, then joins again
//   OffsetCommit of processed offsets (next offset to read), periodically and at the end
//   LeaveGroup on exit, so the others rebalance at once instead of after the session timeout
//
// NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS anywhere: find the
// coordinator again and retry.
import { ErrorCode } from "../protocol/errors.ts";
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "../protocol/consumer-protocol.ts";
import { Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, SyncGroup } from "../protocol/messages/index.ts";
import { rangeAssign, type MemberSubscription } from "./assignor.ts";
import type { KafkaClient } from "./client.ts";
import { HEARTBEAT_INTERVAL_MS, REBALANCE_TIMEOUT_MS, RETRIES_MAX, SESSION_TIMEOUT_MS } from "./constants.ts";
import { KafkaClientError, kafkaError } from "./errors.ts";
import { COORDINATOR_ERRORS, commitTopics, CoordinatorLink, type GroupMembership } from "./group-coordinator.ts";

const PROTOCOL_TYPE = "consumer";
const ASSIGNOR = "range";
const REJOIN_ERRORS = new Set<number>([ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID]);

export class GroupMember implements GroupMembership {
  memberId = "";
  generationId = -1;
  /** Set when the coordinator says the group is rebalancing (or forgot us): join again. */
  needsRejoin = false;
  readonly protocol = "classic" as const;
  private readonly link: CoordinatorLink;
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  /** false: never joins; only OffsetFetch and OffsetCommit with generation -1 and no member id
   * (Kafka's "simple" consumer, which a broker accepts while the group has no members). */
  private readonly joins: boolean;

  constructor(
    private readonly client: KafkaClient,
    readonly groupId: string,
    readonly topics: string[],
    opts: { join?: boolean } = {},
  ) {
    this.joins = opts.join !== false;
    this.link = new CoordinatorLink(client, groupId);
  }

  /** Joins (or rejoins) the group; resolves to this member's partitions of each topic. */
  async join(): Promise<Map<string, number[]>> {
    this.stopHeartbeats();
    for (let attempt = 0; ; attempt++) {
      try {
        const assignment = await this.joinOnce();
        this.needsRejoin = false;
        this.startHeartbeats();
        return assignment;
      } catch (err) {
        const code = err instanceof KafkaClientError ? err.code : null;
        if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION) this.memberId = "";
        if (code !== null && (REJOIN_ERRORS.has(code) || code === ErrorCode.MEMBER_ID_REQUIRED) && attempt < RETRIES_MAX) continue;
        throw err;
      }
    }
  }

  private async joinOnce(): Promise<Map<string, number[]>> {
    const subscription = encodeSubscription(0, { topics: this.topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null });
    const joined = await this.link.with("join", async (conn) => {
      const res = await conn.request(JoinGroup, {
        groupId: this.groupId,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: PROTOCOL_TYPE,
        protocols: [{ name: ASSIGNOR, metadata: subscription }],
        reason: null,
      });
      if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = res.memberId;
        throw new KafkaClientError(res.errorCode, "member id required");
      }
      return { code: res.errorCode, value: res };
    });
    this.memberId = joined.memberId;
    this.generationId = joined.generationId;
    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    if (joined.leader === joined.memberId) assignments = await this.assign(joined.members);
    const synced = await this.link.with("sync", async (conn) => {
      const res = await conn.request(SyncGroup, {
        groupId: this.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: PROTOCOL_TYPE,
        protocolName: ASSIGNOR,
        assignments,
      });
      return { code: res.errorCode, value: res };
    });
    const out = new Map<string, number[]>();
    if (synced.assignment.length === 0) return out;
    const decoded = decodeAssignment(synced.assignment);
    if ("error" in decoded) throw new Error(`group ${this.groupId}: unreadable assignment: ${decoded.error}`);
    for (const tp of decoded.message.assignedPartitions) out.set(tp.topic, [...tp.partitions].sort((a, b) => a - b));
    return out;
  }

  /** The leader's job: read every member's subscription, assign ranges, encode. */
  private async assign(members: { memberId: string; metadata: Uint8Array }[]): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const subs: MemberSubscription[] = members.map((m) => {
      const d = decodeSubscription(m.metadata);
      return { memberId: m.memberId, topics: "error" in d ? [] : d.message.topics };
    });
    const counts = new Map<string, number>();
    for (const topic of new Set(subs.flatMap((s) => s.topics))) {
      try {
        counts.set(topic, (await this.client.topic(topic, { autoCreate: false })).partitions.length);
      } catch {
        // a topic that does not exist gets nobody
      }
    }
    const plan = rangeAssign(subs, counts);
    return [...plan].map(([memberId, topics]) => ({
      memberId,
      assignment: encodeAssignment(0, { assignedPartitions: [...topics].map(([topic, partitions]) => ({ topic, partitions })), userData: null }),
    }));
  }

  /** Committed offsets (-1 for none) of the given partitions, topic → partition → offset. */
  committed(partitions: ReadonlyMap<string, readonly number[]>): Promise<Map<string, Map<number, number>>> {
    return this.link.committed(partitions);
  }

  /** Commits next-offsets to read, topic → partition → offset. A rebalance in progress marks
   * `needsRejoin` and still commits where the coordinator accepts it (Kafka accepts commits from
   * current members while rebalancing). */
  async commit(offsets: ReadonlyMap<string, ReadonlyMap<number, number>>): Promise<void> {
    const topics = commitTopics(offsets);
    if (topics.length === 0 || (this.joins && this.generationId < 0)) return;
    await this.link.with("offset commit", async (conn) => {
      const res = await conn.request(OffsetCommit, {
        groupId: this.groupId,
        generationIdOrMemberEpoch: this.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics,
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === 0) continue;
          if (REJOIN_ERRORS.has(p.errorCode)) {
            this.needsRejoin = true;
            throw kafkaError(p.errorCode, `commit ${t.name}/${p.partitionIndex} (group ${this.groupId})`);
          }
          return { code: p.errorCode, value: undefined };
        }
      }
      return { code: 0, value: undefined };
    });
  }

  private startHeartbeats(): void {
    if (this.stopped) return;
    this.heartbeatTimer = setTimeout(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async beat(): Promise<void> {
    this.heartbeatTimer = null;
    try {
      const conn = await this.link.find();
      const res = await conn.request(Heartbeat, { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
      if (REJOIN_ERRORS.has(res.errorCode)) this.needsRejoin = true;
      else if (COORDINATOR_ERRORS.has(res.errorCode)) this.link.drop();
    } catch {
      this.link.drop();
    }
    if (!this.needsRejoin) this.startHeartbeats();
  }

  /** Stops heartbeats and leaves the group (best effort: the session timeout covers a failure). */
  async leave(): Promise<void> {
    this.stopped = true;
    this.stopHeartbeats();
    if (this.memberId !== "") {
      try {
        const conn = await this.link.find();
        await conn.request(LeaveGroup, { groupId: this.groupId, memberId: this.memberId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: null }] });
      } catch {
        // leaving is a courtesy
      }
    }
    this.link.drop();
  }
}
