// Consumer groups of the new protocol (KIP-848, Kafka 4.x clients with group.protocol=consumer),
// served beside the classic ones: no JoinGroup/SyncGroup rounds and no client-side leader. Each
// member heartbeats (ConsumerGroupHeartbeat) with its subscription and the partitions it owns; the
// coordinator keeps three numbers and converges every member on its own:
//
//   group epoch       rises when the members or their subscriptions (or the subscribed topics'
//                     partition counts) change
//   assignment epoch  the group epoch the target assignment was computed for (server-side
//                     assignor, core/groups/assignors.ts), recomputed when behind
//   member epoch      each member's: reaches the assignment epoch once it may own its target
//
// Reconciliation per member, as Kafka's CurrentAssignmentBuilder (one heartbeat at a time):
//
// | member state          | on a heartbeat                                                        |
// |-----------------------|-----------------------------------------------------------------------|
// | STABLE                | epoch behind the assignment epoch → compute the next step (below)     |
// | UNREVOKED_PARTITIONS  | still reports a partition it must revoke → wait (the rebalance timeout|
// |                       | fences it); else next step towards min(epoch + 1, assignment epoch)   |
// | UNRELEASED_PARTITIONS | next step (partitions others released since are now free to take)    |
//
// Next step: kept = owned ∩ target; revoke = owned − target; take = target − owned that no other
// member still holds (assigned or pending revocation). Anything to revoke (and still reported
// owned) → UNREVOKED_PARTITIONS at the same epoch, answered with `kept` so the client lets the
// rest go. Else the member moves to the assignment epoch with kept ∪ take, in
// UNRELEASED_PARTITIONS while some of its target is still held elsewhere, else STABLE. So a
// partition never has two owners, and members that keep theirs never stop consuming them.
//
// Other rules (Kafka's GroupMetadataManager.consumerGroupHeartbeat): epoch 0 joins (the member id
// from the client (v1, KIP-1082) or made here (v0)); -1 leaves; -2 is a static member leaving for
// a restart: its partitions stay reserved until its session ends, and a join with its instance id
// takes them over (another live member with that instance id → UNRELEASED_INSTANCE_ID; an old
// member id under a taken instance id → FENCED_INSTANCE_ID). An epoch that is neither the
// member's nor its previous one with owned ⊆ assigned (a lost answer) → FENCED_MEMBER_EPOCH.
// A session ends after sessionTimeoutMs without a heartbeat; the member is removed. No initial
// rebalance delay exists in this protocol: a lone member is assigned on its first heartbeat.
import { assert } from "../assert.ts";
import type { Logger } from "../log/types.ts";
import { ASSIGNORS, type AssignorMember, type AssignorName, assign, type TopicPartitionSet } from "./assignors.ts";
import type { TimerHandle, Timers } from "./timers.ts";
import type { GroupErrorName, TopicView } from "./types.ts";

export interface ConsumerGroupsConfig {
  /** group.consumer.heartbeat.interval.ms (Kafka default 5000). */
  heartbeatIntervalMs: number;
  /** group.consumer.session.timeout.ms (Kafka default 45000). */
  sessionTimeoutMs: number;
  maxGroupSize: number;
}

export interface TopicPartitionsWire {
  /** Topic id as a uuid string. */
  topicId: string;
  partitions: number[];
}

export interface ConsumerHeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: TopicPartitionsWire[] | null;
  clientId: string;
  clientHost: string;
}

export interface ConsumerHeartbeatResult {
  error: GroupErrorName | null;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: TopicPartitionsWire[] | null;
}

export type ConsumerGroupState = "Empty" | "Assigning" | "Reconciling" | "Stable";
type MemberState = "STABLE" | "UNREVOKED_PARTITIONS" | "UNRELEASED_PARTITIONS";

export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;

class ConsumerMember {
  memberEpoch = 0;
  previousMemberEpoch = -1;
  state: MemberState = "STABLE";
  rebalanceTimeoutMs = 0;
  rackId: string | null = null;
  subscribedTopicNames: string[] = [];
  subscribedTopicRegex: string | null = null;
  serverAssignor: string | null = null;
  assigned: TopicPartitionSet = new Map();
  pendingRevocation: TopicPartitionSet = new Map();
  session: TimerHandle | null = null;
  revocationDeadline: TimerHandle | null = null;

  constructor(
    readonly memberId: string,
    readonly instanceId: string | null,
    public clientId: string,
    public clientHost: string,
  ) {}
}

class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  readonly instances = new Map<string, string>();
  target = new Map<string, TopicPartitionSet>();
  /** The subscribed topics as last seen (name:id:partitions), to notice a topic change. */
  topicsSignature = "";

  constructor(readonly groupId: string) {}

  get state(): ConsumerGroupState {
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) if (m.memberEpoch !== this.assignmentEpoch || m.state !== "STABLE") return "Reconciling";
    return "Stable";
  }
}

/** What the consumer groups need to know of the classic ones sharing the group id space. */
export interface ClassicGroups {
  /** A classic group with members (or pending ids) under this id. */
  active(groupId: string): boolean;
  /** An Empty classic group becomes a consumer group: forget its classic state (offsets stay). */
  drop(groupId: string): void;
}

export interface ConsumerMemberView {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  assignment: Array<{ topicId: string; topic: string; partitions: number[] }>;
  targetAssignment: Array<{ topicId: string; topic: string; partitions: number[] }>;
}

export interface ConsumerGroupView {
  groupId: string;
  state: ConsumerGroupState;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: ConsumerMemberView[];
}

export class ConsumerGroups {
  private readonly groups = new Map<string, ConsumerGroup>();
  private closed = false;

  constructor(
    private readonly timers: Timers,
    private topics: () => TopicView,
    private readonly logger: Logger,
    readonly config: ConsumerGroupsConfig,
    private readonly classic: ClassicGroups,
    private readonly newMemberId: () => string,
    /** Called when a group with no members may be forgotten (the owner checks for offsets). */
    private readonly onEmpty: (groupId: string) => boolean,
  ) {}

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  /** A group with at least one member. */
  active(groupId: string): boolean {
    return (this.groups.get(groupId)?.members.size ?? 0) > 0;
  }

  /** Forgets an Empty group (DeleteGroups, or a classic member joining its id). */
  forget(groupId: string): void {
    const g = this.groups.get(groupId);
    assert(g === undefined || g.members.size === 0, `consumer group '${groupId}' is forgotten only when Empty`);
    this.groups.delete(groupId);
  }

  ids(): string[] {
    return [...this.groups.keys()];
  }

  stateOf(groupId: string): ConsumerGroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  heartbeat(req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    const fail = (error: GroupErrorName, errorMessage: string | null = null): ConsumerHeartbeatResult => ({ error, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null });
    if (this.closed) return fail("NOT_COORDINATOR");
    const invalid = validate(req);
    if (invalid !== null) return fail("INVALID_REQUEST", invalid);
    if (req.serverAssignor !== null && !ASSIGNORS.includes(req.serverAssignor as AssignorName)) return fail("UNSUPPORTED_ASSIGNOR", `assignor ${req.serverAssignor} is not one of ${ASSIGNORS.join(", ")}`);
    if (req.subscribedTopicRegex !== null && compileRegex(req.subscribedTopicRegex) === null) return fail("INVALID_REQUEST", `invalid regular expression ${req.subscribedTopicRegex}`); // Kafka 4.0: INVALID_REGULAR_EXPRESSION (128), past the 3.8 error table
    if (this.classic.active(req.groupId)) return fail("GROUP_ID_NOT_FOUND", `group ${req.groupId} is not a consumer group`);
    let group = this.groups.get(req.groupId);
    if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) return this.leave(group, req);
    if (group === undefined) {
      if (req.memberEpoch !== 0) return fail("UNKNOWN_MEMBER_ID", `group ${req.groupId} has no member ${req.memberId}`);
      this.classic.drop(req.groupId);
      group = new ConsumerGroup(req.groupId);
      this.groups.set(req.groupId, group);
    }
    const found = this.memberFor(group, req);
    if (typeof found === "string") {
      this.forgetIfUnused(group);
      return fail(found, null);
    }
    const { member, changed } = found;
    const subscriptionChanged = this.updateSubscription(member, req);
    let bump = changed || subscriptionChanged;
    const topics = this.subscribedTopics(group);
    if (topics.signature !== group.topicsSignature) {
      group.topicsSignature = topics.signature;
      bump = true;
    }
    if (bump) group.groupEpoch++;
    if (group.groupEpoch > group.assignmentEpoch) this.computeTarget(group, topics.byId);
    this.touch(group, member);
    const assignedBefore = member.assigned;
    this.reconcile(group, member, req.topicPartitions);
    const send = req.topicPartitions !== null || req.memberEpoch === 0 || !sameSet(assignedBefore, member.assigned);
    return {
      error: null,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignment: send ? toWire(member.assigned) : null,
    };
  }

  /** The member a heartbeat speaks for (created, replaced or found), or the error to answer with. */
  private memberFor(group: ConsumerGroup, req: ConsumerHeartbeatRequest): { member: ConsumerMember; changed: boolean } | GroupErrorName {
    if (req.memberEpoch > 0) {
      const member = group.members.get(req.memberId);
      if (member === undefined) return "UNKNOWN_MEMBER_ID";
      if (req.instanceId !== null && group.instances.get(req.instanceId) !== req.memberId) return "FENCED_INSTANCE_ID";
      if (req.memberEpoch > member.memberEpoch) return "FENCED_MEMBER_EPOCH";
      if (req.memberEpoch < member.memberEpoch && (req.memberEpoch !== member.previousMemberEpoch || !isSubset(req.topicPartitions, member.assigned))) return "FENCED_MEMBER_EPOCH";
      return { member, changed: false };
    }
    // Epoch 0: a join, or a rejoin after the member lost its state.
    const memberId = req.memberId !== "" ? req.memberId : this.newMemberId();
    if (req.instanceId !== null) {
      const previousId = group.instances.get(req.instanceId);
      const previous = previousId === undefined ? undefined : group.members.get(previousId);
      if (previous !== undefined && previous.memberId !== memberId) {
        if (previous.memberEpoch !== STATIC_LEAVE_EPOCH) return "UNRELEASED_INSTANCE_ID";
        return { member: this.replaceStatic(group, previous, memberId, req), changed: false };
      }
    }
    const existing = group.members.get(memberId);
    if (existing !== undefined) {
      // A member that starts over owns nothing (a join reports no partitions): release what it had.
      existing.assigned = new Map();
      existing.pendingRevocation = new Map();
      existing.state = "STABLE";
      existing.previousMemberEpoch = existing.memberEpoch;
      existing.memberEpoch = 0;
      this.clearRevocationDeadline(existing);
      return { member: existing, changed: false };
    }
    if (group.members.size >= this.config.maxGroupSize) return "GROUP_MAX_SIZE_REACHED";
    const member = new ConsumerMember(memberId, req.instanceId, req.clientId, req.clientHost);
    group.members.set(memberId, member);
    if (req.instanceId !== null) group.instances.set(req.instanceId, memberId);
    this.logger.info(`consumer group ${group.groupId}: member ${memberId}${req.instanceId ? ` (instance ${req.instanceId})` : ""} joined`);
    return { member, changed: true };
  }

  /** A static member back from a restart (it left with epoch -2): the new id takes over its partitions and target. */
  private replaceStatic(group: ConsumerGroup, previous: ConsumerMember, memberId: string, req: ConsumerHeartbeatRequest): ConsumerMember {
    const member = new ConsumerMember(memberId, req.instanceId, req.clientId, req.clientHost);
    member.assigned = previous.assigned;
    member.rebalanceTimeoutMs = previous.rebalanceTimeoutMs;
    member.rackId = previous.rackId;
    member.subscribedTopicNames = previous.subscribedTopicNames;
    member.subscribedTopicRegex = previous.subscribedTopicRegex;
    member.serverAssignor = previous.serverAssignor;
    member.memberEpoch = 0;
    this.timers.clear(previous.session);
    this.clearRevocationDeadline(previous);
    group.members.delete(previous.memberId);
    group.members.set(memberId, member);
    group.instances.set(req.instanceId!, memberId);
    const target = group.target.get(previous.memberId);
    group.target.delete(previous.memberId);
    if (target !== undefined) group.target.set(memberId, target);
    this.logger.info(`consumer group ${group.groupId}: static member ${req.instanceId} rejoined as ${memberId}, replacing ${previous.memberId}`);
    return member;
  }

  /** Applies what the heartbeat says of the subscription; true when it changed. */
  private updateSubscription(member: ConsumerMember, req: ConsumerHeartbeatRequest): boolean {
    let changed = false;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.rackId !== null && req.rackId !== member.rackId) {
      member.rackId = req.rackId;
      changed = true;
    }
    if (req.subscribedTopicNames !== null) {
      const names = [...new Set(req.subscribedTopicNames)].sort();
      if (names.join("\u0000") !== member.subscribedTopicNames.join("\u0000")) {
        member.subscribedTopicNames = names;
        changed = true;
      }
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== (member.subscribedTopicRegex ?? "")) {
      member.subscribedTopicRegex = req.subscribedTopicRegex === "" ? null : req.subscribedTopicRegex;
      changed = true;
    }
    if (req.serverAssignor !== null && req.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = req.serverAssignor;
      changed = true;
    }
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    return changed;
  }

  /** Topics some member subscribes to (by name or regex) that exist: id → (name, partitions). */
  private subscribedTopics(group: ConsumerGroup): { byId: Map<string, { name: string; partitions: number }>; signature: string } {
    const view = this.topics();
    const names = new Set<string>();
    for (const m of group.members.values()) {
      for (const n of m.subscribedTopicNames) names.add(n);
      if (m.subscribedTopicRegex !== null) {
        const re = compileRegex(m.subscribedTopicRegex);
        for (const n of view.topicNames?.() ?? []) if (re?.test(n)) names.add(n);
      }
    }
    const byId = new Map<string, { name: string; partitions: number }>();
    for (const name of [...names].sort()) {
      const id = view.topicId?.(name) ?? null;
      const partitions = view.partitionCount(name) ?? 0;
      if (id !== null && partitions > 0) byId.set(id, { name, partitions });
    }
    return { byId, signature: [...byId].map(([id, t]) => `${t.name}:${id}:${t.partitions}`).join(",") };
  }

  private computeTarget(group: ConsumerGroup, topics: Map<string, { name: string; partitions: number }>): void {
    const members: AssignorMember[] = [];
    for (const m of group.members.values()) {
      const subscribed = new Set<string>();
      const re = m.subscribedTopicRegex === null ? null : compileRegex(m.subscribedTopicRegex);
      for (const [id, t] of topics) if (m.subscribedTopicNames.includes(t.name) || re?.test(t.name)) subscribed.add(id);
      members.push({ memberId: m.memberId, topics: subscribed, previous: group.target.get(m.memberId) ?? new Map() });
    }
    const name = preferredAssignor(group);
    group.target = assign(name, members, new Map([...topics].map(([id, t]) => [id, t.partitions])));
    group.assignmentEpoch = group.groupEpoch;
    this.logger.debug?.(`consumer group ${group.groupId}: target assignment for epoch ${group.groupEpoch} by ${name}`);
  }

  /** One reconciliation step for `member` (the table at the top). */
  private reconcile(group: ConsumerGroup, member: ConsumerMember, owned: TopicPartitionsWire[] | null): void {
    switch (member.state) {
      case "STABLE":
        if (member.memberEpoch !== group.assignmentEpoch) this.nextStep(group, member, member.memberEpoch, owned);
        return;
      case "UNREVOKED_PARTITIONS":
        if (owned === null || ownsAny(owned, member.pendingRevocation)) return;
        this.nextStep(group, member, Math.min(member.memberEpoch + 1, group.assignmentEpoch), owned);
        return;
      case "UNRELEASED_PARTITIONS":
        this.nextStep(group, member, member.memberEpoch, owned);
        return;
    }
  }

  private nextStep(group: ConsumerGroup, member: ConsumerMember, epoch: number, owned: TopicPartitionsWire[] | null): void {
    const target = group.target.get(member.memberId) ?? new Map<string, Set<number>>();
    const held = this.heldByOthers(group, member);
    const kept: TopicPartitionSet = new Map();
    const revoke: TopicPartitionSet = new Map();
    const take: TopicPartitionSet = new Map();
    let unreleased = false;
    for (const topicId of new Set([...target.keys(), ...member.assigned.keys()])) {
      const want = target.get(topicId) ?? new Set<number>();
      const had = member.assigned.get(topicId) ?? new Set<number>();
      for (const p of had) (want.has(p) ? addTo(kept, topicId, p) : addTo(revoke, topicId, p));
      for (const p of want) {
        if (had.has(p)) continue;
        if (held.has(`${topicId}/${p}`)) unreleased = true;
        else addTo(take, topicId, p);
      }
    }
    const revoking = revoke.size > 0 && (owned === null || ownsAny(owned, revoke));
    if (revoking) {
      member.state = "UNREVOKED_PARTITIONS";
      member.assigned = kept;
      member.pendingRevocation = revoke;
      this.setRevocationDeadline(group, member);
    } else {
      for (const [t, ps] of take) for (const p of ps) addTo(kept, t, p);
      member.state = unreleased ? "UNRELEASED_PARTITIONS" : "STABLE";
      member.assigned = kept;
      member.pendingRevocation = new Map();
      this.clearRevocationDeadline(member);
    }
    // Revoking: the epoch the step was for; otherwise the member has reached the target's epoch.
    const next = revoking ? epoch : group.assignmentEpoch;
    if (next !== member.memberEpoch) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = next;
    }
  }

  /** Partitions other members hold: assigned, or pending revocation (not yet let go). */
  private heldByOthers(group: ConsumerGroup, member: ConsumerMember): Set<string> {
    const out = new Set<string>();
    for (const m of group.members.values()) {
      if (m === member) continue;
      for (const set of [m.assigned, m.pendingRevocation]) for (const [t, ps] of set) for (const p of ps) out.add(`${t}/${p}`);
    }
    return out;
  }

  private setRevocationDeadline(group: ConsumerGroup, member: ConsumerMember): void {
    if (member.revocationDeadline !== null) return;
    member.revocationDeadline = this.timers.set(Math.max(member.rebalanceTimeoutMs, 1), () => {
      member.revocationDeadline = null;
      if (group.members.get(member.memberId) !== member || member.state !== "UNREVOKED_PARTITIONS") return;
      this.logger.info(`consumer group ${group.groupId}: member ${member.memberId} did not revoke its partitions within ${member.rebalanceTimeoutMs} ms: removed`);
      this.remove(group, member);
    });
  }

  private clearRevocationDeadline(member: ConsumerMember): void {
    this.timers.clear(member.revocationDeadline);
    member.revocationDeadline = null;
  }

  private touch(group: ConsumerGroup, member: ConsumerMember): void {
    this.timers.clear(member.session);
    member.session = this.timers.set(this.config.sessionTimeoutMs, () => {
      member.session = null;
      if (group.members.get(member.memberId) !== member) return;
      this.logger.info(`consumer group ${group.groupId}: member ${member.memberId} expired after ${this.config.sessionTimeoutMs} ms without a heartbeat`);
      this.remove(group, member);
    });
  }

  private leave(group: ConsumerGroup | undefined, req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    const answer = (error: GroupErrorName | null): ConsumerHeartbeatResult => ({ error, errorMessage: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null });
    const memberId = req.instanceId !== null ? group?.instances.get(req.instanceId) : req.memberId;
    const member = memberId === undefined ? undefined : group?.members.get(memberId);
    if (group === undefined || member === undefined) return answer("UNKNOWN_MEMBER_ID");
    if (req.instanceId !== null && member.memberId !== req.memberId) return answer("FENCED_INSTANCE_ID");
    if (req.memberEpoch === STATIC_LEAVE_EPOCH) {
      // Back soon: keep its partitions and target until its session ends.
      member.memberEpoch = STATIC_LEAVE_EPOCH;
      this.touch(group, member);
      this.logger.info(`consumer group ${group.groupId}: static member ${req.instanceId} left for a restart`);
      return answer(null);
    }
    this.logger.info(`consumer group ${group.groupId}: member ${member.memberId} left`);
    this.remove(group, member);
    return answer(null);
  }

  /** Takes a member out; its partitions are free and the group epoch rises. */
  private remove(group: ConsumerGroup, member: ConsumerMember): void {
    this.timers.clear(member.session);
    this.clearRevocationDeadline(member);
    group.members.delete(member.memberId);
    group.target.delete(member.memberId);
    if (member.instanceId !== null && group.instances.get(member.instanceId) === member.memberId) group.instances.delete(member.instanceId);
    group.groupEpoch++;
    this.forgetIfUnused(group);
  }

  private forgetIfUnused(group: ConsumerGroup): void {
    if (group.members.size === 0 && this.groups.get(group.groupId) === group && this.onEmpty(group.groupId)) this.groups.delete(group.groupId);
  }

  // --- offsets, describe ---------------------------------------------------------------------

  /**
   * OffsetCommit by a member of a consumer group (Kafka's ConsumerGroup.validateOffsetCommit):
   * epoch < 0 from outside only while the group is Empty; else the member must exist, use
   * OffsetCommit v9+ and give its current epoch (STALE_MEMBER_EPOCH otherwise).
   */
  validateCommit(groupId: string, memberId: string, memberEpoch: number, apiVersion: number): GroupErrorName | null {
    const group = this.groups.get(groupId);
    if (group === undefined) return null;
    if (memberEpoch < 0 && group.members.size === 0) return null;
    const member = group.members.get(memberId);
    if (member === undefined) return "UNKNOWN_MEMBER_ID";
    if (apiVersion < 9) return "UNSUPPORTED_VERSION";
    return memberEpoch === member.memberEpoch ? null : "STALE_MEMBER_EPOCH";
  }

  /** OffsetFetch v9+ with a member epoch (≥ 0: a member's own fetch): it must be current. */
  validateFetch(groupId: string, memberId: string, memberEpoch: number): GroupErrorName | null {
    if (memberEpoch < 0) return null;
    const member = this.groups.get(groupId)?.members.get(memberId);
    if (member === undefined) return "UNKNOWN_MEMBER_ID";
    return memberEpoch === member.memberEpoch ? null : "STALE_MEMBER_EPOCH";
  }

  /** Topics the members subscribe to by name (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC). */
  subscribedTopicNames(groupId: string): Set<string> {
    const group = this.groups.get(groupId);
    const names = new Set<string>();
    if (group === undefined) return names;
    for (const m of group.members.values()) for (const n of m.subscribedTopicNames) names.add(n);
    return names;
  }

  describe(groupId: string): ConsumerGroupView | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined) return undefined;
    const names = this.subscribedTopics(group).byId;
    const named = (set: TopicPartitionSet) =>
      [...set].map(([topicId, ps]) => ({ topicId, topic: names.get(topicId)?.name ?? "", partitions: [...ps].sort((a, b) => a - b) })).sort((a, b) => (a.topic < b.topic ? -1 : 1));
    return {
      groupId,
      state: group.state,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: preferredAssignor(group),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: named(m.assigned),
        targetAssignment: named(group.target.get(m.memberId) ?? new Map()),
      })),
    };
  }

  stopServing(): void {
    this.closed = true;
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        this.timers.clear(m.session);
        this.clearRevocationDeadline(m);
      }
    }
  }

  useTopics(view: () => TopicView): void {
    this.topics = view;
  }
}

/** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid: the message of INVALID_REQUEST, or null. */
function validate(req: ConsumerHeartbeatRequest): string | null {
  if (req.groupId === "") return "GroupId can't be empty.";
  if (req.instanceId === "") return "InstanceId can't be empty.";
  if (req.rackId === "") return "RackId can't be empty.";
  if (req.memberEpoch > 0 || req.memberEpoch === LEAVE_EPOCH) {
    if (req.memberId === "") return "MemberId can't be empty.";
  } else if (req.memberEpoch === 0) {
    if (req.rebalanceTimeoutMs === -1) return "RebalanceTimeoutMs must be provided in first request.";
    if (req.topicPartitions !== null && req.topicPartitions.length > 0) return "TopicPartitions must be empty when (re-)joining.";
    if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) return "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.";
  } else if (req.memberEpoch === STATIC_LEAVE_EPOCH) {
    if (req.instanceId === null) return "InstanceId can't be null.";
  } else {
    return "MemberEpoch is invalid.";
  }
  return null;
}

/** The assignor most members ask for; uniform (Kafka's default, first in group.consumer.assignors) when none does. */
function preferredAssignor(group: ConsumerGroup): AssignorName {
  const votes = new Map<AssignorName, number>();
  for (const m of group.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor as AssignorName, (votes.get(m.serverAssignor as AssignorName) ?? 0) + 1);
  let best: AssignorName = ASSIGNORS[0]!;
  let most = 0;
  for (const name of ASSIGNORS) if ((votes.get(name) ?? 0) > most) [best, most] = [name, votes.get(name)!];
  return best;
}

const regexCache = new Map<string, RegExp | null>();
/** A subscription regex (Kafka uses RE2/J; JavaScript's syntax agrees on the common subset), whole-name match. */
function compileRegex(source: string): RegExp | null {
  let re = regexCache.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${source})$`);
    } catch {
      re = null;
    }
    if (regexCache.size < 1000) regexCache.set(source, re);
  }
  return re;
}

function addTo(set: TopicPartitionSet, topicId: string, p: number): void {
  let ps = set.get(topicId);
  if (!ps) set.set(topicId, (ps = new Set()));
  ps.add(p);
}

function ownsAny(owned: TopicPartitionsWire[], set: TopicPartitionSet): boolean {
  return owned.some((t) => t.partitions.some((p) => set.get(t.topicId)?.has(p) ?? false));
}

function isSubset(owned: TopicPartitionsWire[] | null, set: TopicPartitionSet): boolean {
  return owned === null || owned.every((t) => t.partitions.every((p) => set.get(t.topicId)?.has(p) ?? false));
}

function sameSet(a: TopicPartitionSet, b: TopicPartitionSet): boolean {
  const count = (s: TopicPartitionSet) => [...s.values()].reduce((n, ps) => n + ps.size, 0);
  if (count(a) !== count(b)) return false;
  for (const [t, ps] of a) for (const p of ps) if (!b.get(t)?.has(p)) return false;
  return true;
}

function toWire(set: TopicPartitionSet): TopicPartitionsWire[] {
  return [...set].filter(([, ps]) => ps.size > 0).map(([topicId, ps]) => ({ topicId, partitions: [...ps].sort((a, b) => a - b) }));
}
