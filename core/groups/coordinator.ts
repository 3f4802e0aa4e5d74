// The group coordinator: every consumer group of this broker as a state machine driven by
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup and OffsetCommit, and by timers (session expiry,
// rebalance deadline, initial join delay) from an injected `Timers`, so tests drive time by hand.
// No sockets: the broker's handlers call these methods and translate the results.
//
//   Empty ──join──▶ PreparingRebalance ──all known members rejoined, or the rebalance timeout──▶
//   CompletingRebalance ──leader's SyncGroup──▶ Stable ──join / leave / session expiry──▶
//   PreparingRebalance …; a rebalance that ends with no members ─▶ Empty; DeleteGroups ─▶ Dead.
//
// | state               | JoinGroup (known member)        | SyncGroup            | Heartbeat       | OffsetCommit (member)  |
// |---------------------|---------------------------------|----------------------|-----------------|------------------------|
// | Empty               | UNKNOWN_MEMBER_ID               | UNKNOWN_MEMBER_ID    | UNKNOWN_MEMBER  | gen -1: stored         |
// | PreparingRebalance  | waits for the rebalance         | REBALANCE_IN_PROGRESS| REBALANCE_IN_PR | stored (KafkaApis)     |
// | CompletingRebalance | same protocols: answered at once| waits for the leader | NONE            | REBALANCE_IN_PROGRESS  |
// | Stable              | leader or new protocols: rebal. | its assignment       | NONE            | stored                 |
// | Dead                | COORDINATOR_NOT_AVAILABLE       | COORD_NOT_AVAILABLE  | COORD_NOT_AVAIL | COORDINATOR_NOT_AVAIL  |
//
// Checks before the state: unknown member → UNKNOWN_MEMBER_ID; static member whose instance id now
// maps to another member → FENCED_INSTANCE_ID; generation ≠ the group's → ILLEGAL_GENERATION.
//
// Static membership (group.instance.id, KIP-345), as Kafka's classic coordinator: a static member
// that restarts within its session timeout rejoins with no member id and its instance id; the new
// member id takes the old one's place and assignment, and a Stable group does not rebalance (the
// others never see it). The old member id is fenced: whatever it sends gets FENCED_INSTANCE_ID, so
// of two processes with one instance id the older one stops. Static members never get
// MEMBER_ID_REQUIRED; they leave by session expiry or by LeaveGroup naming their instance id.
//
// Cooperative rebalancing (KIP-429) needs nothing of its own here: the coordinator relays the
// protocols (cooperative-sticky's subscriptions carry the owned partitions); the leader withholds
// partitions that move, members that lose some revoke them and rejoin, and that JoinGroup (its
// metadata changed) starts the second rebalance that hands them over. Members keep fetching and
// committing meanwhile (commits in PreparingRebalance are stored, as Kafka stores them).
//
// Every transition runs synchronously inside one call or timer callback, so nothing interleaves;
// only OffsetCommit/DeleteGroups wait (for the offsets log), after their checks. Transitions go
// through Group.transitionTo, which asserts them against Kafka's table (group.ts); what a client
// sends is answered with an error before it reaches one, so only a bug here can fail them.
import { AssertionError, assert } from "../assert.ts";
import type { Clock } from "../clock.ts";
import { CoreError } from "../errors.ts";
import type { FileLayer } from "../fs.ts";
import { GROUP_MEMBERS_MAX, OFFSET_METADATA_BYTES_MAX } from "../limits.ts";
import type { SyncScheduler } from "../log/durability.ts";
import { type Logger, silentLogger } from "../log/types.ts";
import { subscribedTopics } from "./assignment.ts";
import { ConsumerGroups } from "./consumer-group.ts";
import { describeConsumerGroup, describeForControlPlane, summarize } from "./describe.ts";
import { EMPTY_BYTES, Group, Member } from "./group.ts";
import { OffsetStore } from "./offset-store.ts";
import { type Timers, systemTimers } from "./timers.ts";
import type {
  CommitRequest,
  DeleteOffsetsResult,
  FetchOffsetsResult,
  GroupDescription,
  GroupErrorName,
  GroupListing,
  GroupSummary,
  HeartbeatRequest,
  JoinRequest,
  JoinResult,
  LeaveResult,
  PartitionError,
  SyncRequest,
  SyncResult,
  TopicView,
} from "./types.ts";

export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms (Kafka default 6000). */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms (Kafka default 1800000). */
  maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms (Kafka default 3000): a new group waits this long for more members. */
  initialRebalanceDelayMs: number;
  /** group.max.size. */
  maxGroupSize: number;
  /** group.consumer.heartbeat.interval.ms (Kafka default 5000): the consumer protocol's heartbeat. */
  consumerHeartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms (Kafka default 45000). */
  consumerSessionTimeoutMs: number;
}

export const DEFAULT_GROUP_CONFIG: GroupCoordinatorConfig = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxGroupSize: GROUP_MEMBERS_MAX,
  consumerHeartbeatIntervalMs: 5000,
  consumerSessionTimeoutMs: 45_000,
};

export interface GroupCoordinatorOptions {
  dataDir: string;
  fs: FileLayer;
  clock: Clock;
  scheduler: SyncScheduler;
  topics: TopicView;
  timers?: Timers;
  logger?: Logger;
  config?: Partial<GroupCoordinatorConfig>;
  /** Member ids are `${prefix}-${uuid}`; tests make them predictable. */
  newMemberId?: (prefix: string) => string;
  /** Passed to the offsets store (tests lower it to exercise compaction). */
  compactRecordsMin?: number;
}

type Result<T> = T | Promise<T>;

/** Replicates accepted commits before they count (cluster mode); rejects when it cannot. */
export type CommitReplicator = (
  groupId: string,
  offsets: ReadonlyArray<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null; commitTimestamp: number }>,
) => Promise<void>;

type TxnOffsets = ReadonlyArray<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null; commitTimestamp: number }>;

/**
 * Replicates transactional offsets (cluster mode) before they count: a TxnOffsetCommit's pending
 * offsets, and a transaction's end with what it had pending (committed or dropped); rejects when
 * it cannot.
 */
export interface TxnOffsetReplicator {
  pending(groupId: string, producerId: number, offsets: TxnOffsets): Promise<void>;
  end(groupId: string, producerId: number, commit: boolean, pending: TxnOffsets): Promise<void>;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private closed = false;
  private replicator: CommitReplicator | null = null;
  private txnReplicator: TxnOffsetReplicator | null = null;
  readonly config: GroupCoordinatorConfig;
  /** Groups of the consumer group protocol (KIP-848), in the same id space as the classic ones. */
  readonly consumer: ConsumerGroups;

  private constructor(
    readonly offsets: OffsetStore,
    private readonly timers: Timers,
    private topics: TopicView,
    private readonly logger: Logger,
    config: GroupCoordinatorConfig,
    private readonly newMemberId: (prefix: string) => string,
  ) {
    this.config = config;
    this.consumer = new ConsumerGroups(
      timers,
      () => this.topics,
      logger,
      { heartbeatIntervalMs: config.consumerHeartbeatIntervalMs, sessionTimeoutMs: config.consumerSessionTimeoutMs, maxGroupSize: config.maxGroupSize },
      {
        active: (id) => (this.groups.get(id)?.size ?? 0) > 0,
        drop: (id) => {
          const g = this.groups.get(id);
          if (g !== undefined && g.state === "Empty" && g.size === 0) this.groups.delete(id);
        },
      },
      () => newMemberId("consumer"),
      (id) => !this.offsets.hasGroup(id),
    );
  }

  static async open(opts: GroupCoordinatorOptions): Promise<GroupCoordinator> {
    const logger = opts.logger ?? silentLogger;
    const offsets = await OffsetStore.open({
      dataDir: opts.dataDir,
      fs: opts.fs,
      clock: opts.clock,
      scheduler: opts.scheduler,
      logger,
      compactRecordsMin: opts.compactRecordsMin,
    });
    const config = { ...DEFAULT_GROUP_CONFIG, ...opts.config };
    assert(
      Number.isSafeInteger(config.maxGroupSize) && config.maxGroupSize >= 1 && config.maxGroupSize <= GROUP_MEMBERS_MAX,
      `group.max.size ${config.maxGroupSize} is within 1..${GROUP_MEMBERS_MAX}`,
    );
    const newMemberId = opts.newMemberId ?? ((prefix: string) => `${prefix}-${crypto.randomUUID()}`);
    const c = new GroupCoordinator(offsets, opts.timers ?? systemTimers(), opts.topics, logger, config, newMemberId);
    // Offsets of topics deleted while a tombstone was not yet durable.
    for (const topic of offsets.topics()) if (opts.topics.partitionCount(topic) === null) await offsets.deleteTopic(topic);
    for (const id of offsets.groups()) c.groups.set(id, new Group(id));
    return c;
  }

  // --- JoinGroup ------------------------------------------------------------------------------

  join(req: JoinRequest): Result<JoinResult> {
    const fail = (error: GroupErrorName, memberId = req.memberId): JoinResult => joinError(error, memberId);
    if (this.closed) return fail("NOT_COORDINATOR");
    if (req.groupId === "") return fail("INVALID_GROUP_ID");
    const { minSessionTimeoutMs: min, maxSessionTimeoutMs: max } = this.config;
    if (req.sessionTimeoutMs < min || req.sessionTimeoutMs > max) return fail("INVALID_SESSION_TIMEOUT");
    // A consumer-protocol group with members admits no classic member; an Empty one becomes classic.
    if (this.consumer.active(req.groupId)) return fail("INCONSISTENT_GROUP_PROTOCOL");
    if (this.consumer.has(req.groupId)) this.consumer.forget(req.groupId);
    let group = this.groups.get(req.groupId);
    if (group === undefined) {
      if (req.memberId !== "") return fail("UNKNOWN_MEMBER_ID");
      group = new Group(req.groupId);
      this.groups.set(req.groupId, group);
    }
    if (group.state === "Dead") return fail("COORDINATOR_NOT_AVAILABLE");
    const result = req.memberId === "" ? this.joinNew(group, req) : this.joinKnown(group, req);
    if (!(result instanceof Promise)) this.dropIfUnused(group);
    return result;
  }

  private joinNew(group: Group, req: JoinRequest): Result<JoinResult> {
    if (group.size >= this.config.maxGroupSize) return joinError("GROUP_MAX_SIZE_REACHED", "");
    if (!group.supports(req.protocolType, req.protocols)) return joinError("INCONSISTENT_GROUP_PROTOCOL", "");
    const memberId = this.newMemberId(req.groupInstanceId ?? (req.clientId || "member"));
    assert(!group.members.has(memberId) && !group.pending.has(memberId), `member id ${memberId} is new to group '${group.groupId}'`);
    if (req.groupInstanceId !== null) {
      const old = group.instances.get(req.groupInstanceId);
      if (old !== undefined && group.members.has(old)) return this.replaceStaticMember(group, group.members.get(old)!, memberId, req);
      return this.addMemberAndRebalance(group, req, memberId);
    }
    if (req.requireKnownMemberId) {
      group.pending.set(
        memberId,
        this.timers.set(req.sessionTimeoutMs, () => this.expirePending(group, memberId)),
      );
      assert(group.size <= this.config.maxGroupSize, `group '${group.groupId}': ${group.size} members and pending ids, above group.max.size`);
      return joinError("MEMBER_ID_REQUIRED", memberId);
    }
    return this.addMemberAndRebalance(group, req, memberId);
  }

  private joinKnown(group: Group, req: JoinRequest): Result<JoinResult> {
    if (group.pending.has(req.memberId)) {
      if (!group.supports(req.protocolType, req.protocols)) return joinError("INCONSISTENT_GROUP_PROTOCOL", req.memberId);
      return this.addMemberAndRebalance(group, req, req.memberId);
    }
    const check = this.checkMember(group, req.memberId, req.groupInstanceId);
    if (check !== null) return joinError(check, req.memberId);
    const member = group.members.get(req.memberId)!;
    if (!group.supports(req.protocolType, req.protocols)) {
      return joinError("INCONSISTENT_GROUP_PROTOCOL", req.memberId);
    }
    switch (group.state) {
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(group, member, req);
      case "CompletingRebalance":
        if (member.sameProtocols(req.protocols)) return this.joinResultFor(group, member);
        return this.updateMemberAndRebalance(group, member, req);
      case "Stable":
        if (member.memberId === group.leaderId || !member.sameProtocols(req.protocols)) return this.updateMemberAndRebalance(group, member, req);
        this.touch(group, member);
        return this.joinResultFor(group, member);
      default:
        return joinError("UNKNOWN_MEMBER_ID", req.memberId);
    }
  }

  /**
   * A static member restarted within its session (Kafka's updateStaticMemberAndRebalance): the new
   * member id takes the old one's place and assignment, the old id is fenced (its parked
   * JoinGroup/SyncGroup and every later request get FENCED_INSTANCE_ID). A Stable group whose
   * chosen protocol stays the same does not rebalance: the member is answered at once with the
   * current generation and no member list, and the old leader id, so that a restarted leader does
   * not assign (a Stable group would not pass its assignment on); its SyncGroup gets its old
   * assignment. CompletingRebalance rebalances again (the leader may be assigning to the old id);
   * PreparingRebalance goes on with the new id in the old one's place.
   */
  private replaceStaticMember(group: Group, old: Member, memberId: string, req: JoinRequest): Result<JoinResult> {
    const instanceId = req.groupInstanceId!;
    const currentLeader = group.leaderId;
    this.timers.clear(old.expiry);
    old.expiry = null;
    const oldJoin = old.joinWaiter;
    old.joinWaiter = null;
    const member = group.replaceStaticMember(instanceId, old.memberId, memberId);
    oldJoin?.(joinError("FENCED_INSTANCE_ID", old.memberId));
    this.answerSync(old, { error: "FENCED_INSTANCE_ID", protocolType: null, protocolName: null, assignment: EMPTY_BYTES });
    this.logger.info(`group ${group.groupId}: static member ${instanceId} rejoined in ${group.state} as ${memberId}, replacing ${old.memberId}`);
    if (group.state === "Stable") {
      member.protocols = req.protocols;
      if (group.selectProtocol() === group.protocolName) {
        member.sessionTimeoutMs = req.sessionTimeoutMs;
        member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
        member.clientId = req.clientId;
        member.clientHost = req.clientHost;
        this.touch(group, member);
        return { error: null, generationId: group.generationId, protocolType: group.protocolType, protocolName: group.protocolName, leaderId: currentLeader ?? "", memberId, members: [] };
      }
    }
    this.touch(group, member);
    return this.updateMemberAndRebalance(group, member, req);
  }

  private addMemberAndRebalance(group: Group, req: JoinRequest, memberId: string): Promise<JoinResult> {
    assert(group.state !== "Dead", `group '${group.groupId}': a member joins a Dead group`);
    this.timers.clear(group.pending.get(memberId) ?? null);
    group.pending.delete(memberId);
    const member = new Member(memberId, req.groupInstanceId, req.clientId, req.clientHost, req.sessionTimeoutMs, req.rebalanceTimeoutMs, req.protocolType, req.protocols);
    if (group.members.size === 0) group.protocolType = req.protocolType;
    group.members.set(memberId, member);
    if (req.groupInstanceId !== null) group.instances.set(req.groupInstanceId, memberId);
    if (group.leaderId === null) group.leaderId = memberId;
    if (group.initialDelay) group.initialDelay.newMemberAdded = true;
    assert(group.size <= this.config.maxGroupSize, `group '${group.groupId}': ${group.size} members and pending ids, above group.max.size`);
    const waiting = new Promise<JoinResult>((resolve) => {
      member.joinWaiter = resolve;
    });
    this.prepareOrCheck(group);
    return waiting;
  }

  private updateMemberAndRebalance(group: Group, member: Member, req: JoinRequest): Promise<JoinResult> {
    // A second JoinGroup while one waits: the newer one stands for the member.
    member.joinWaiter?.(joinError("REBALANCE_IN_PROGRESS", member.memberId));
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    const waiting = new Promise<JoinResult>((resolve) => {
      member.joinWaiter = resolve;
    });
    this.prepareOrCheck(group);
    return waiting;
  }

  /** Starts a rebalance, or (already rebalancing) completes it if every member is in. */
  private prepareOrCheck(group: Group): void {
    if (group.state === "PreparingRebalance") this.maybeCompleteJoin(group);
    else this.prepareRebalance(group);
  }

  private prepareRebalance(group: Group): void {
    if (group.state === "CompletingRebalance") {
      group.clearAssignments();
      for (const m of group.members.values()) {
        this.answerSync(m, { error: "REBALANCE_IN_PROGRESS", protocolType: group.protocolType, protocolName: group.protocolName, assignment: EMPTY_BYTES });
      }
    }
    const wasEmpty = group.state === "Empty";
    group.transitionTo("PreparingRebalance");
    this.timers.clear(group.rebalanceTimer);
    const timeoutMs = group.rebalanceTimeoutMs();
    const delayMs = this.config.initialRebalanceDelayMs;
    if (wasEmpty && delayMs > 0) {
      group.initialDelay = { remainingMs: Math.max(timeoutMs - delayMs, 0), newMemberAdded: false };
      group.rebalanceTimer = this.timers.set(Math.min(delayMs, timeoutMs), () => this.initialDelayElapsed(group));
      return;
    }
    group.rebalanceTimer = this.timers.set(timeoutMs, () => this.completeJoin(group));
    this.maybeCompleteJoin(group);
  }

  /** Kafka's InitialDelayedJoin: keep waiting while members keep arriving, within the rebalance timeout. */
  private initialDelayElapsed(group: Group): void {
    const d = group.initialDelay;
    if (d === null || group.state !== "PreparingRebalance") return;
    if (d.newMemberAdded && d.remainingMs > 0) {
      const delay = Math.min(this.config.initialRebalanceDelayMs, d.remainingMs);
      group.initialDelay = { remainingMs: Math.max(d.remainingMs - delay, 0), newMemberAdded: false };
      group.rebalanceTimer = this.timers.set(delay, () => this.initialDelayElapsed(group));
      return;
    }
    this.completeJoin(group);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state === "PreparingRebalance" && group.initialDelay === null && group.allJoined()) this.completeJoin(group);
  }

  /** The rebalance ends: members that did not rejoin are out, the next generation begins. */
  private completeJoin(group: Group): void {
    if (group.state !== "PreparingRebalance") return;
    this.timers.clear(group.rebalanceTimer);
    group.rebalanceTimer = null;
    group.initialDelay = null;
    for (const m of [...group.members.values()]) if (m.joinWaiter === null) this.dropMember(group, m, "UNKNOWN_MEMBER_ID");
    group.nextGeneration();
    if (group.members.size === 0) {
      // The protocol type stays, as Kafka keeps it: ListGroups and DescribeGroups still call an
      // Empty consumer group "consumer" (clients take a group without one for a simple group).
      group.protocolName = null;
      group.transitionTo("Empty");
      this.dropIfUnused(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    // Each answer settles a promise (its reader runs later, after the transition below), so the
    // JoinGroups are answered first: CompletingRebalance begins with none parked.
    for (const m of group.members.values()) {
      const waiter = m.joinWaiter;
      assert(waiter !== null, `group '${group.groupId}': member ${m.memberId} is in the new generation without a JoinGroup`);
      m.joinWaiter = null;
      waiter(this.joinResultFor(group, m));
      this.touch(group, m);
    }
    group.transitionTo("CompletingRebalance");
  }

  private joinResultFor(group: Group, member: Member): JoinResult {
    assert(group.members.get(member.memberId) === member, `group '${group.groupId}': a JoinGroup answer for ${member.memberId}, not a member`);
    assert(group.leaderId !== null && group.members.has(group.leaderId), `group '${group.groupId}': leader ${group.leaderId} is not a member`);
    assert(group.protocolName !== null && group.generationId > 0, `group '${group.groupId}': a JoinGroup answered before a protocol and generation were chosen`);
    const leader = member.memberId === group.leaderId;
    return {
      error: null,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? "",
      memberId: member.memberId,
      members: leader
        ? [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(group.protocolName) }))
        : [],
    };
  }

  // --- SyncGroup ------------------------------------------------------------------------------

  sync(req: SyncRequest): Result<SyncResult> {
    const group = this.groups.get(req.groupId);
    const fail = (error: GroupErrorName): SyncResult => ({ error, protocolType: null, protocolName: null, assignment: EMPTY_BYTES });
    if (this.closed) return fail("NOT_COORDINATOR");
    if (group === undefined) return fail("UNKNOWN_MEMBER_ID");
    const check = this.checkMember(group, req.memberId, req.groupInstanceId) ?? (req.generationId !== group.generationId ? "ILLEGAL_GENERATION" : null);
    if (check !== null) return fail(check);
    if ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)) {
      return fail("INCONSISTENT_GROUP_PROTOCOL");
    }
    const member = group.members.get(req.memberId)!;
    const ok = (assignment: Uint8Array): SyncResult => ({ error: null, protocolType: group.protocolType, protocolName: group.protocolName, assignment });
    switch (group.state) {
      case "PreparingRebalance":
        return fail("REBALANCE_IN_PROGRESS");
      case "Stable":
        this.touch(group, member);
        return ok(member.assignment);
      case "CompletingRebalance": {
        this.answerSync(member, fail("REBALANCE_IN_PROGRESS"));
        const waiting = new Promise<SyncResult>((resolve) => {
          member.syncWaiter = resolve;
        });
        if (member.memberId === group.leaderId) {
          group.assign(new Map(req.assignments.map((a) => [a.memberId, a.assignment])));
          for (const m of group.members.values()) {
            if (m.syncWaiter !== null) {
              this.answerSync(m, ok(m.assignment));
              this.touch(group, m);
            }
          }
        }
        return waiting;
      }
      default:
        return fail("UNKNOWN_MEMBER_ID");
    }
  }

  private answerSync(member: Member, result: SyncResult): void {
    const waiter = member.syncWaiter;
    member.syncWaiter = null;
    waiter?.(result);
  }

  // --- Heartbeat and LeaveGroup ---------------------------------------------------------------

  heartbeat(req: HeartbeatRequest): GroupErrorName | null {
    if (this.closed) return "NOT_COORDINATOR";
    const group = this.groups.get(req.groupId);
    if (group === undefined) return "UNKNOWN_MEMBER_ID";
    const check = this.checkMember(group, req.memberId, req.groupInstanceId) ?? (req.generationId !== group.generationId ? "ILLEGAL_GENERATION" : null);
    if (check !== null) return check;
    const member = group.members.get(req.memberId)!;
    switch (group.state) {
      case "PreparingRebalance":
        this.touch(group, member);
        return "REBALANCE_IN_PROGRESS";
      case "CompletingRebalance":
      case "Stable":
        this.touch(group, member);
        return null;
      default:
        return "UNKNOWN_MEMBER_ID";
    }
  }

  /** Removes members (LeaveGroup v3+ names several; by member id, or by instance id for static ones). */
  leave(groupId: string, leaving: Array<{ memberId: string; groupInstanceId: string | null }>): LeaveResult {
    if (this.closed) return { error: "NOT_COORDINATOR", members: [] };
    const group = this.groups.get(groupId);
    if (group?.state === "Dead") return { error: "COORDINATOR_NOT_AVAILABLE", members: [] };
    const members = leaving.map((l) => ({ ...l, error: group === undefined ? ("UNKNOWN_MEMBER_ID" as const) : this.leaveOne(group, l.memberId, l.groupInstanceId) }));
    if (group !== undefined) this.dropIfUnused(group);
    return { error: null, members };
  }

  private leaveOne(group: Group, memberId: string, instanceId: string | null): GroupErrorName | null {
    if (instanceId !== null) {
      const mapped = group.instances.get(instanceId);
      if (mapped === undefined) return "UNKNOWN_MEMBER_ID";
      if (memberId !== "" && memberId !== mapped) return "FENCED_INSTANCE_ID";
      memberId = mapped;
    }
    if (group.pending.has(memberId)) {
      this.expirePending(group, memberId);
      return null;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return "UNKNOWN_MEMBER_ID";
    this.removeMember(group, member, "UNKNOWN_MEMBER_ID");
    return null;
  }

  /** null when `memberId` is a current member (and, for a static member, still its instance's). */
  private checkMember(group: Group, memberId: string, instanceId: string | null): GroupErrorName | null {
    if (group.state === "Dead") return "COORDINATOR_NOT_AVAILABLE";
    if (instanceId !== null) {
      const mapped = group.instances.get(instanceId);
      if (mapped !== undefined && mapped !== memberId) return "FENCED_INSTANCE_ID";
    }
    return group.members.has(memberId) ? null : "UNKNOWN_MEMBER_ID";
  }

  // --- liveness -------------------------------------------------------------------------------

  /** A sign of life: the member's session starts over. */
  private touch(group: Group, member: Member): void {
    this.timers.clear(member.expiry);
    member.expiry = this.timers.set(member.sessionTimeoutMs, () => this.sessionExpired(group, member));
  }

  private sessionExpired(group: Group, member: Member): void {
    member.expiry = null;
    if (group.members.get(member.memberId) !== member) return;
    // A member parked in a JoinGroup or SyncGroup long poll is alive; the rebalance bounds it.
    if (member.joinWaiter !== null || member.syncWaiter !== null) return this.touch(group, member);
    this.logger.info(`group ${group.groupId}: member ${member.memberId} expired after ${member.sessionTimeoutMs} ms without a heartbeat`);
    this.removeMember(group, member, "UNKNOWN_MEMBER_ID");
    this.dropIfUnused(group);
  }

  private expirePending(group: Group, memberId: string): void {
    this.timers.clear(group.pending.get(memberId) ?? null);
    if (!group.pending.delete(memberId)) return;
    this.maybeCompleteJoin(group);
    this.dropIfUnused(group);
  }

  /** Takes a member out and rebalances what is left (or finishes the rebalance under way). */
  private removeMember(group: Group, member: Member, answer: GroupErrorName): void {
    this.dropMember(group, member, answer);
    if (group.state === "Stable" || group.state === "CompletingRebalance") this.prepareRebalance(group);
    else if (group.state === "PreparingRebalance") this.maybeCompleteJoin(group);
  }

  private dropMember(group: Group, member: Member, answer: GroupErrorName): void {
    this.timers.clear(member.expiry);
    member.expiry = null;
    const joinWaiter = member.joinWaiter;
    member.joinWaiter = null;
    joinWaiter?.(joinError(answer, member.memberId));
    this.answerSync(member, { error: answer, protocolType: null, protocolName: null, assignment: EMPTY_BYTES });
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.instances.get(member.groupInstanceId) === member.memberId) group.instances.delete(member.groupInstanceId);
    if (group.leaderId === member.memberId) {
      const next = [...group.members.values()].find((m) => m.joinWaiter !== null) ?? group.members.values().next().value;
      group.leaderId = next?.memberId ?? null;
    }
  }

  /** An Empty group with no members, no pending ids and no offsets is gone (Kafka's cleanup). */
  private dropIfUnused(group: Group): void {
    if (group.state === "Empty" && group.size === 0 && !this.offsets.hasGroup(group.groupId) && this.groups.get(group.groupId) === group) {
      group.transitionTo("Dead");
      this.groups.delete(group.groupId);
    }
  }

  // --- offsets --------------------------------------------------------------------------------

  /** OffsetCommit: Kafka's validateOffsetCommit, then one durable batch for the valid partitions. */
  async commitOffsets(req: CommitRequest): Promise<PartitionError[]> {
    const all = (error: GroupErrorName | null) => req.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error }));
    if (this.closed) return all("NOT_COORDINATOR");
    if (req.groupId === "") return all("INVALID_GROUP_ID");
    let group = this.groups.get(req.groupId);
    if (this.consumer.has(req.groupId)) {
      const refused = this.consumer.validateCommit(req.groupId, req.memberId, req.generationId, req.apiVersion ?? 9);
      if (refused !== null) return all(refused);
    } else {
      if (group === undefined) {
        if (req.generationId >= 0) return all("ILLEGAL_GENERATION");
        group = new Group(req.groupId);
        this.groups.set(req.groupId, group);
      }
      const refused = this.validateCommit(group, req);
      if (refused !== null) return all(refused);
    }
    const results: PartitionError[] = [];
    const accepted: typeof req.offsets = [];
    for (const o of req.offsets) {
      const count = this.topics.partitionCount(o.topic);
      let error: GroupErrorName | null = null;
      if (count === null || o.partition < 0 || o.partition >= count) error = "UNKNOWN_TOPIC_OR_PARTITION";
      else if (o.metadata !== null && new TextEncoder().encode(o.metadata).length > OFFSET_METADATA_BYTES_MAX) error = "OFFSET_METADATA_TOO_LARGE";
      else accepted.push(o);
      results.push({ topic: o.topic, partition: o.partition, error });
    }
    try {
      const now = this.timers.clock.now();
      const entries = accepted.map((o) => ({ ...o, commitTimestamp: now }));
      // Cluster mode: durable on the replicated offsets topic first; only then is it this
      // coordinator's to answer with (a new coordinator loads it from there).
      if (this.replicator !== null && entries.length > 0) await this.replicator(req.groupId, entries);
      await this.offsets.commit(req.groupId, entries);
    } catch (e) {
      if (e instanceof AssertionError) throw e; // a bug, not a storage error to answer with
      this.logger.error(`group ${req.groupId}: offset commit failed: ${e instanceof Error ? e.message : String(e)}`);
      const moved = e instanceof CoreError && (e.code === "CLOSED" || e.code === "NOT_LEADER" || e.code === "NOT_ENOUGH_REPLICAS" || e.code === "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
      for (const r of results) if (r.error === null) r.error = moved ? "NOT_COORDINATOR" : "KAFKA_STORAGE_ERROR";
    }
    assert(results.length === req.offsets.length, "an OffsetCommit answers every partition it names");
    if (group !== undefined) this.dropIfUnused(group);
    return results;
  }

  private validateCommit(group: Group, req: CommitRequest): GroupErrorName | null {
    if (group.state === "Dead") return "COORDINATOR_NOT_AVAILABLE";
    if (req.generationId < 0 && group.state === "Empty") return null;
    if (req.generationId >= 0 || req.memberId !== "" || req.groupInstanceId !== null) {
      const check = this.checkMember(group, req.memberId, req.groupInstanceId);
      if (check !== null) return check;
      if (req.generationId !== group.generationId) return "ILLEGAL_GENERATION";
    } else if (group.state !== "Empty") {
      return "UNKNOWN_MEMBER_ID";
    }
    if (group.state === "CompletingRebalance") return "REBALANCE_IN_PROGRESS";
    const member = group.members.get(req.memberId);
    if (member !== undefined) this.touch(group, member);
    return null;
  }

  /**
   * OffsetDelete, as Kafka's GroupCoordinator.handleDeleteOffsets: an Empty group loses the
   * offsets of every partition named; a consumer group with members keeps those of topics its
   * members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC per partition) and loses the others; any
   * other group with members is NON_EMPTY_GROUP. Unknown or Dead → GROUP_ID_NOT_FOUND. The
   * deletion is one durable batch of tombstones before the answer.
   */
  async deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<DeleteOffsetsResult> {
    if (this.closed) return { error: "NOT_COORDINATOR", partitions: [] };
    if (groupId === "") return { error: "INVALID_GROUP_ID", partitions: [] };
    const group = this.groups.get(groupId);
    if (this.consumer.has(groupId)) return this.deleteOffsetsOf(groupId, partitions, this.consumer.subscribedTopicNames(groupId), null);
    if (group === undefined || group.state === "Dead") return { error: "GROUP_ID_NOT_FOUND", partitions: [] };
    let subscribed: Set<string> | null = new Set();
    if (group.state !== "Empty") {
      if (group.protocolType !== "consumer") return { error: "NON_EMPTY_GROUP", partitions: [] };
      subscribed = subscriptionsOf(group);
    }
    return this.deleteOffsetsOf(groupId, partitions, subscribed, group);
  }

  private async deleteOffsetsOf(groupId: string, partitions: Array<{ topic: string; partition: number }>, subscribed: Set<string> | null, group: Group | null): Promise<DeleteOffsetsResult> {
    const results = partitions.map((p) => ({ ...p, error: subscribed === null || subscribed.has(p.topic) ? ("GROUP_SUBSCRIBED_TO_TOPIC" as const) : null }));
    const eligible = results.filter((r) => r.error === null).map(({ topic, partition }) => ({ topic, partition }));
    try {
      await this.offsets.deleteOffsets(groupId, eligible);
    } catch (e) {
      if (e instanceof AssertionError) throw e; // a bug, not a storage error to answer with
      this.logger.error(`group ${groupId}: offset delete failed: ${e instanceof Error ? e.message : String(e)}`);
      return { error: e instanceof CoreError && e.code === "CLOSED" ? "NOT_COORDINATOR" : "KAFKA_STORAGE_ERROR", partitions: [] };
    }
    if (eligible.length > 0) this.logger.info(`group ${groupId}: deleted the offsets of ${eligible.map((p) => `${p.topic}/${p.partition}`).join(", ")}`);
    if (group !== null) this.dropIfUnused(group);
    return { error: null, partitions: results };
  }

  /**
   * TxnOffsetCommit (KIP-98, member checks of KIP-447 as Kafka's doTxnCommitOffsets): the offsets
   * are stored durably as pending in producer `producerId`'s transaction, invisible until
   * endTxnOffsets commits them. The transaction coordinator has checked the producer first.
   */
  async commitTxnOffsets(req: CommitRequest & { producerId: number }): Promise<PartitionError[]> {
    const all = (error: GroupErrorName | null) => req.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error }));
    if (this.closed) return all("NOT_COORDINATOR");
    if (req.groupId === "") return all("INVALID_GROUP_ID");
    const group = this.groups.get(req.groupId);
    if (group !== undefined) {
      if (group.state === "Dead") return all("COORDINATOR_NOT_AVAILABLE");
      if (req.memberId !== "" || req.groupInstanceId !== null) {
        const check = this.checkMember(group, req.memberId, req.groupInstanceId);
        if (check !== null) return all(check);
      }
      if (req.generationId >= 0 && req.generationId !== group.generationId) return all("ILLEGAL_GENERATION");
    } else if (req.generationId >= 0) return all("ILLEGAL_GENERATION");
    const results: PartitionError[] = [];
    const accepted: typeof req.offsets = [];
    for (const o of req.offsets) {
      const count = this.topics.partitionCount(o.topic);
      let error: GroupErrorName | null = null;
      if (count === null || o.partition < 0 || o.partition >= count) error = "UNKNOWN_TOPIC_OR_PARTITION";
      else if (o.metadata !== null && new TextEncoder().encode(o.metadata).length > OFFSET_METADATA_BYTES_MAX) error = "OFFSET_METADATA_TOO_LARGE";
      else accepted.push(o);
      results.push({ topic: o.topic, partition: o.partition, error });
    }
    try {
      const now = this.timers.clock.now();
      const entries = accepted.map((o) => ({ ...o, commitTimestamp: now }));
      if (this.txnReplicator !== null && entries.length > 0) await this.txnReplicator.pending(req.groupId, req.producerId, entries);
      await this.offsets.commitPending(req.groupId, req.producerId, entries);
    } catch (e) {
      if (e instanceof AssertionError) throw e;
      this.logger.error(`group ${req.groupId}: transactional offset commit failed: ${e instanceof Error ? e.message : String(e)}`);
      const moved = e instanceof CoreError && (e.code === "CLOSED" || e.code === "NOT_LEADER" || e.code === "NOT_ENOUGH_REPLICAS" || e.code === "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
      for (const r of results) if (r.error === null) r.error = moved ? "NOT_COORDINATOR" : "KAFKA_STORAGE_ERROR";
    }
    return results;
  }

  /** The transaction of `producerId` ended (the coordinator's marker for this group): its pending offsets count or vanish, durably. */
  async endTxnOffsets(groupId: string, producerId: number, commit: boolean): Promise<void> {
    if (this.txnReplicator !== null) await this.txnReplicator.end(groupId, producerId, commit, this.offsets.pendingOf(groupId, producerId));
    await this.offsets.endTransaction(groupId, producerId, commit);
  }

  /** The groups where producer `producerId`'s transaction has offsets pending (a marker by partition, cluster mode). */
  groupsWithPending(producerId: number): string[] {
    return this.offsets.pendingGroups(producerId);
  }

  /** OffsetFetch: committed offsets of the partitions asked for (or all, when `topics` is null). */
  fetchOffsets(groupId: string, topics: Array<{ topic: string; partitions: number[] }> | null, member?: { memberId: string; memberEpoch: number }, requireStable = false): FetchOffsetsResult {
    if (this.closed) return { error: "NOT_COORDINATOR", topics: [] };
    if (groupId === "" && topics === null) return { error: "INVALID_GROUP_ID", topics: [] };
    // OffsetFetch v9+ from a consumer-protocol member: its epoch must be current (KIP-848).
    if (member !== undefined && member.memberEpoch >= 0 && this.consumer.has(groupId)) {
      const refused = this.consumer.validateFetch(groupId, member.memberId, member.memberEpoch);
      if (refused !== null) return { error: refused, topics: [] };
    }
    const committed = this.offsets.groupOffsets(groupId);
    const wanted = topics ?? [...committed].map(([topic, byPart]) => ({ topic, partitions: [...byPart.keys()].sort((a, b) => a - b) }));
    return {
      error: null,
      topics: wanted.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map((partition) => {
          // KIP-447: a consumer that asks for stable offsets waits out a transaction's pending ones.
          if (requireStable && this.offsets.hasPending(groupId, topic, partition)) return { partition, offset: -1, leaderEpoch: -1, metadata: "", error: "UNSTABLE_OFFSET_COMMIT" as const };
          const c = committed.get(topic)?.get(partition);
          return c
            ? { partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata ?? "", error: null }
            : { partition, offset: -1, leaderEpoch: -1, metadata: "", error: null };
        }),
      })),
    };
  }

  /**
   * Sets a group's committed offsets by hand (`groups reset-offsets`): only while the group has no
   * members, as Kafka's tool requires. Unknown groups are created, as a simple commit would.
   */
  async resetOffsets(groupId: string, topic: string, offsets: Array<{ partition: number; offset: number }>): Promise<{ error: GroupErrorName | null; message: string }> {
    const group = this.groups.get(groupId);
    if (group !== undefined && group.state !== "Empty") {
      return { error: "NON_EMPTY_GROUP", message: `group '${groupId}' is ${group.state} with ${group.members.size} member(s): stop its consumers first` };
    }
    const bad = offsets.find((o) => !Number.isSafeInteger(o.offset) || o.offset < 0);
    if (bad) return { error: "INVALID_COMMIT_OFFSET_SIZE", message: `offset ${bad.offset} for partition ${bad.partition} is not a non-negative integer` };
    const results = await this.commitOffsets({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      offsets: offsets.map((o) => ({ topic, partition: o.partition, offset: o.offset, leaderEpoch: -1, metadata: null })),
    });
    const failed = results.find((r) => r.error !== null);
    if (failed) return { error: failed.error, message: `${failed.topic}/${failed.partition}: ${failed.error}` };
    return { error: null, message: "" };
  }

  // --- listing, describing, deleting ----------------------------------------------------------

  listGroups(): GroupListing[] {
    const classic = [...this.groups.values()].map((g): GroupListing => ({ groupId: g.groupId, protocolType: g.protocolType ?? "", state: g.state, groupType: "classic" }));
    const consumer = this.consumer.ids().map((id): GroupListing => ({ groupId: id, protocolType: "consumer", state: this.consumer.stateOf(id)!, groupType: "consumer" }));
    return [...classic, ...consumer];
  }

  /** DescribeGroups' summary; an unknown group reads as Dead (as Kafka answers). */
  describeGroups(ids: string[]): GroupSummary[] {
    return ids.map((id) => {
      if (this.closed) return { groupId: id, error: "NOT_COORDINATOR", state: "Dead", protocolType: "", protocolData: "", members: [] };
      if (id === "") return { groupId: id, error: "INVALID_GROUP_ID", state: "Dead", protocolType: "", protocolData: "", members: [] };
      // A consumer-protocol group is described by ConsumerGroupDescribe (as Kafka 3.8 answers).
      if (this.consumer.has(id)) return { groupId: id, error: "GROUP_ID_NOT_FOUND", state: "Dead", protocolType: "", protocolData: "", members: [] };
      return summarize(this.groups.get(id), id);
    });
  }

  /** The control plane's view with lag, or null when the group does not exist. */
  describeGroup(id: string): GroupDescription | null {
    const view = this.consumer.describe(id);
    if (view !== undefined) return describeConsumerGroup(view, this.offsets.groupOffsets(id), this.topics);
    const group = this.groups.get(id);
    if (group === undefined) return null;
    return describeForControlPlane(group, this.offsets.groupOffsets(id), this.topics);
  }

  /** DeleteGroups: only Empty groups; their offsets are forgotten durably before the answer. */
  async deleteGroups(ids: string[]): Promise<Array<{ groupId: string; error: GroupErrorName | null }>> {
    const out: Array<{ groupId: string; error: GroupErrorName | null }> = [];
    for (const groupId of ids) out.push({ groupId, error: (await this.deleteGroup(groupId)).error });
    return out;
  }

  async deleteGroup(groupId: string): Promise<{ error: GroupErrorName | null; message: string }> {
    if (this.closed) return { error: "NOT_COORDINATOR", message: "the broker is stopping" };
    if (groupId === "") return { error: "INVALID_GROUP_ID", message: "group id is empty" };
    if (this.consumer.has(groupId)) return this.deleteConsumerGroup(groupId);
    const group = this.groups.get(groupId);
    if (group === undefined) return { error: "GROUP_ID_NOT_FOUND", message: `group '${groupId}' does not exist` };
    if (group.state === "Dead") return { error: "GROUP_ID_NOT_FOUND", message: `group '${groupId}' is being deleted` };
    if (group.state !== "Empty" || group.size > 0) {
      return { error: "NON_EMPTY_GROUP", message: `group '${groupId}' is ${group.state} with ${group.members.size} member(s)` };
    }
    group.transitionTo("Dead");
    try {
      if (this.offsets.hasGroup(groupId)) await this.offsets.deleteGroup(groupId);
    } catch (e) {
      if (e instanceof AssertionError) throw e; // a bug, not a storage error to answer with
      group.undoDelete();
      return { error: "KAFKA_STORAGE_ERROR", message: e instanceof Error ? e.message : String(e) };
    }
    if (this.groups.get(groupId) === group) this.groups.delete(groupId);
    return { error: null, message: "" };
  }

  private async deleteConsumerGroup(groupId: string): Promise<{ error: GroupErrorName | null; message: string }> {
    if (this.consumer.active(groupId)) return { error: "NON_EMPTY_GROUP", message: `consumer group '${groupId}' has members` };
    try {
      if (this.offsets.hasGroup(groupId)) await this.offsets.deleteGroup(groupId);
    } catch (e) {
      if (e instanceof AssertionError) throw e;
      return { error: "KAFKA_STORAGE_ERROR", message: e instanceof Error ? e.message : String(e) };
    }
    if (!this.consumer.active(groupId)) this.consumer.forget(groupId);
    return { error: null, message: "" };
  }

  /**
   * A topic was deleted: every group forgets its offsets of that topic, durably. The tombstone is
   * written even when no offset of the topic is in the table yet: a commit validated before the
   * delete may still be on its way to the log, and lands before the tombstone (issue #7: without
   * it, that commit's offset outlived the delete and applied to a re-created topic of that name).
   */
  async topicDeleted(topic: string): Promise<void> {
    if (this.closed) return;
    await this.offsets.deleteTopic(topic);
    for (const g of [...this.groups.values()]) this.dropIfUnused(g);
  }

  // --- the control plane's GroupSource (net/http/groups.ts): the same operations, throwing ------

  list(): Array<{ group: string; state: string; members: number }> {
    const consumer = this.consumer.ids().map((id) => ({ group: id, state: this.consumer.stateOf(id)!, members: this.consumer.describe(id)!.members.length }));
    return [...[...this.groups.values()].map((g) => ({ group: g.groupId, state: g.state, members: g.members.size })), ...consumer];
  }

  describe(groupId: string):
    | {
        group: string;
        state: string;
        members: Array<{ memberId: string; clientId: string; host: string; assignments: Array<{ topic: string; partitions: number[] }> }>;
        committed: Array<{ topic: string; partition: number; offset: number }>;
      }
    | undefined {
    const d = this.describeGroup(groupId);
    if (d === null) return undefined;
    return {
      group: d.group,
      state: d.state,
      members: d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignments: m.assignment })),
      committed: d.offsets.flatMap((t) => t.partitions.flatMap((p) => (p.committed === null ? [] : [{ topic: t.topic, partition: p.partition, offset: p.committed }]))),
    };
  }

  async delete(groupId: string): Promise<void> {
    const r = await this.deleteGroup(groupId);
    if (r.error !== null) throw controlPlaneError(r.error, r.message);
  }

  /** Cluster mode: commits are replicated with `fn` before they are stored and answered. */
  replicateCommitsWith(fn: CommitReplicator): void {
    this.replicator = fn;
  }

  /** Cluster mode: transactional offsets are replicated with `r` before they are stored and answered. */
  replicateTxnOffsetsWith(r: TxnOffsetReplicator): void {
    this.txnReplicator = r;
  }

  /**
   * Pending transactional offsets read back from the replicated offsets topic (a broker taking over
   * a group's coordination), and the end of those the log no longer has pending: no second
   * replication. `keep` says which of this store's pending transactions the log still has open;
   * the others (left from an earlier term as coordinator) are dropped.
   */
  async restorePending(pending: ReadonlyArray<{ groupId: string; producerId: number; offsets: TxnOffsets }>, keep: (groupId: string, producerId: number) => boolean): Promise<void> {
    if (this.closed) return;
    for (const t of this.offsets.pendingTransactions()) if (!keep(t.group, t.producerId)) await this.offsets.endTransaction(t.group, t.producerId, false);
    for (const p of pending) await this.offsets.commitPending(p.groupId, p.producerId, [...p.offsets]);
  }

  /** Cluster mode: topics are the cluster's, not only those with a replica on this broker. */
  useTopicView(view: TopicView): void {
    this.topics = view;
  }

  /**
   * Stores commits read back from the replicated offsets topic (a broker taking over a group's
   * coordination): no validation and no second replication; a group with members keeps its own.
   */
  async restoreOffsets(groupId: string, offsets: Array<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null; commitTimestamp: number }>): Promise<void> {
    if (this.closed || offsets.length === 0) return;
    if ((this.groups.get(groupId)?.members.size ?? 0) > 0) return;
    await this.offsets.commit(groupId, offsets);
  }

  async commit(groupId: string, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partition: o.partition, offset: o.offset });
    }
    for (const [topic, list] of byTopic) {
      const r = await this.resetOffsets(groupId, topic, list);
      if (r.error !== null) throw controlPlaneError(r.error, r.message);
    }
  }

  // --- shutdown -------------------------------------------------------------------------------

  /**
   * Stops answering as coordinator: every parked JoinGroup/SyncGroup gets NOT_COORDINATOR now (so
   * the listener can drain), timers stop. Offsets stay readable until close().
   */
  stopServing(): void {
    if (this.closed) return;
    this.closed = true;
    this.consumer.stopServing();
    for (const g of this.groups.values()) {
      this.timers.clear(g.rebalanceTimer);
      for (const t of g.pending.values()) this.timers.clear(t);
      for (const m of g.members.values()) {
        this.timers.clear(m.expiry);
        const jw = m.joinWaiter;
        m.joinWaiter = null;
        jw?.(joinError("NOT_COORDINATOR", m.memberId));
        this.answerSync(m, { error: "NOT_COORDINATOR", protocolType: null, protocolName: null, assignment: EMPTY_BYTES });
      }
    }
  }

  async close(): Promise<void> {
    this.stopServing();
    await this.offsets.close();
  }

  /** For tests and the bench: a group's state, or undefined when it does not exist. */
  stateOf(groupId: string): string | undefined {
    return this.groups.get(groupId)?.state ?? this.consumer.stateOf(groupId);
  }
}

function controlPlaneError(error: GroupErrorName, message: string): CoreError {
  switch (error) {
    case "NON_EMPTY_GROUP":
      return new CoreError("GROUP_NOT_EMPTY", message);
    case "GROUP_ID_NOT_FOUND":
      return new CoreError("GROUP_NOT_FOUND", message);
    case "UNKNOWN_TOPIC_OR_PARTITION":
      return new CoreError("UNKNOWN_TOPIC", message);
    case "NOT_COORDINATOR":
      return new CoreError("CLOSED", message);
    case "INVALID_COMMIT_OFFSET_SIZE":
    case "OFFSET_METADATA_TOO_LARGE":
      return new CoreError("INVALID_CONFIG", message);
    default:
      return new CoreError("STORAGE", message);
  }
}

function joinError(error: GroupErrorName, memberId: string): JoinResult {
  return { error, generationId: -1, protocolType: null, protocolName: null, leaderId: "", memberId, members: [] };
}

/**
 * The topics a consumer group's members subscribe to (Kafka's computeSubscribedTopics: each
 * member's metadata for the chosen protocol, read with the v0 layout), or null when they are not
 * known (no protocol chosen yet, or metadata that is not a subscription): then every topic counts
 * as subscribed.
 */
function subscriptionsOf(group: Group): Set<string> | null {
  if (group.protocolName === null) return null;
  const topics = new Set<string>();
  for (const m of group.members.values()) {
    const named = subscribedTopics(m.metadataFor(group.protocolName));
    if (named === null) return null;
    for (const t of named) topics.add(t);
  }
  return topics;
}
