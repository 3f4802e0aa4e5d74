// One consumer group's state as data: members, generation, leader, chosen protocol, and the
// pure decisions on it (which protocols every member supports, which one wins). When a transition
// happens is coordinator.ts's decision (it owns the timers); the transition itself is
// Group.transitionTo, the one writer of `state`, which asserts that the step is in Kafka's table
// below and that the group holds what its new state promises. The generation and the members'
// assignments likewise change only through nextGeneration, assign and clearAssignments, each
// asserting the state it is legal in. A failed assertion is a bug in the coordinator, never a client's doing: every
// request is checked (and answered with a Kafka error) before it changes anything here.
import { assert } from "../assert.ts";
import type { TimerHandle } from "./timers.ts";
import type { GroupState, JoinResult, ProtocolMetadata, SyncResult } from "./types.ts";

/**
 * The states a group may enter each state from: Kafka's GroupMetadata.validPreviousStates
 * (ClassicGroupState in the Java coordinator), row = to, column = from:
 *
 * | to \ from           | Empty | PreparingRebalance | CompletingRebalance | Stable | Dead |
 * |---------------------|-------|--------------------|---------------------|--------|------|
 * | Empty               |       | yes                |                     |        |      |
 * | PreparingRebalance  | yes   |                    | yes                 | yes    |      |
 * | CompletingRebalance |       | yes                |                     |        |      |
 * | Stable              |       |                    | yes                 |        |      |
 * | Dead                | yes   | yes                | yes                 | yes    | yes  |
 *
 * Kafka reaches Dead from any state (a coordinator moving away); this coordinator only from an
 * Empty group with nothing in it, and transitionTo asserts the "nothing in it" on top of the table. The one step outside the
 * table, Dead → Empty when DeleteGroups cannot make its tombstone durable, is undoDelete.
 */
export const VALID_PREVIOUS_STATES: Readonly<Record<GroupState, readonly GroupState[]>> = {
  Empty: ["PreparingRebalance"],
  PreparingRebalance: ["Empty", "CompletingRebalance", "Stable"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  Dead: ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"],
};

export const EMPTY_BYTES = new Uint8Array(0);

export class Member {
  assignment: Uint8Array = EMPTY_BYTES;
  /** A JoinGroup long poll waiting for the rebalance to complete. */
  joinWaiter: ((r: JoinResult) => void) | null = null;
  /** A SyncGroup long poll waiting for the leader's assignment. */
  syncWaiter: ((r: SyncResult) => void) | null = null;
  /** Fires sessionTimeoutMs after the last sign of life. */
  expiry: TimerHandle | null = null;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public sessionTimeoutMs: number,
    public rebalanceTimeoutMs: number,
    public protocolType: string,
    public protocols: ProtocolMetadata[],
  ) {}

  metadataFor(protocol: string | null): Uint8Array {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, same order, same metadata bytes. */
  sameProtocols(protocols: ProtocolMetadata[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((p, i) => p.name === this.protocols[i]!.name && bytesEqual(p.metadata, this.protocols[i]!.metadata))
    );
  }
}

export class Group {
  private current: GroupState = "Empty";
  private generation = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order: the first is the default leader. */
  readonly members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED, each expiring after its session timeout. */
  readonly pending = new Map<string, TimerHandle>();
  /** group.instance.id → member id (static members, KIP-345). */
  readonly instances = new Map<string, string>();
  /** The rebalance deadline (or the initial join delay) while PreparingRebalance. */
  rebalanceTimer: TimerHandle | null = null;
  /** In the initial join delay (group.initial.rebalance.delay.ms): a join never completes early. */
  initialDelay: { remainingMs: number; newMemberAdded: boolean } | null = null;

  constructor(readonly groupId: string) {}

  get state(): GroupState {
    return this.current;
  }

  /** Rises by one at the end of each rebalance (nextGeneration); never falls. */
  get generationId(): number {
    return this.generation;
  }

  /**
   * The one place a group changes state: the step must be in VALID_PREVIOUS_STATES, and the group
   * must already hold what `next` promises (callers set members, leader and protocol first).
   */
  transitionTo(next: GroupState): void {
    assert(VALID_PREVIOUS_STATES[next].includes(this.current), `group '${this.groupId}': ${this.current} → ${next} is not a transition`);
    this.current = next;
    this.assertInvariants();
  }

  /**
   * DeleteGroups could not make its tombstone durable: the group is again what it was, Empty with
   * nothing in it. Outside Kafka's table, where Dead is final: here Dead also stands for "being
   * deleted" while the tombstone is written, and nothing joins a Dead group meanwhile.
   */
  undoDelete(): void {
    assert(this.current === "Dead", `group '${this.groupId}': only a Dead group's delete is undone, not a ${this.current} one's`);
    this.current = "Empty";
    this.assertInvariants();
  }

  /** A rebalance ends (to CompletingRebalance, or to Empty when no member is left): the next generation. */
  nextGeneration(): void {
    assert(this.current === "PreparingRebalance", `group '${this.groupId}': a generation ends only in a rebalance, not in ${this.current}`);
    const before = this.generation;
    this.generation = before + 1;
    assert(this.generation > before, "generation ids only rise");
  }

  /** The leader's SyncGroup: each member's assignment for this generation; CompletingRebalance → Stable. */
  assign(given: ReadonlyMap<string, Uint8Array>): void {
    assert(this.current === "CompletingRebalance", `group '${this.groupId}': assignments are given only in CompletingRebalance, not in ${this.current}`);
    for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY_BYTES;
    this.transitionTo("Stable");
  }

  /** A rebalance interrupts CompletingRebalance: the assignments the leader was to give are void. */
  clearAssignments(): void {
    assert(this.current === "CompletingRebalance", `group '${this.groupId}': assignments are voided only in CompletingRebalance, not in ${this.current}`);
    for (const m of this.members.values()) m.assignment = EMPTY_BYTES;
  }

  /**
   * What holds in every state (members and pending ids apart, the leader a member, each static
   * instance id mapped to a member of that id), then what the current state promises. O(members);
   * run at transitions, which are rare next to heartbeats and commits.
   */
  assertInvariants(): void {
    const id = `group '${this.groupId}' (${this.current}, generation ${this.generation})`;
    assert(Number.isSafeInteger(this.generation) && this.generation >= 0, `${id}: generation is a non-negative integer`);
    for (const p of this.pending.keys()) assert(!this.members.has(p), `${id}: ${p} is both a member and a pending id`);
    if (this.members.size === 0) assert(this.leaderId === null, `${id}: no members, yet leader ${this.leaderId}`);
    else assert(this.leaderId !== null && this.members.has(this.leaderId), `${id}: leader ${this.leaderId} is not a member`);
    for (const [instance, memberId] of this.instances) {
      assert(this.members.get(memberId)?.groupInstanceId === instance, `${id}: instance ${instance} maps to ${memberId}, not a member of that instance`);
    }
    switch (this.current) {
      case "Empty":
        assert(this.members.size === 0, `${id}: ${this.members.size} member(s)`);
        // The protocol type may stay (Kafka keeps it for an Empty group that had members).
        assert(this.protocolName === null, `${id}: a protocol is left (${this.protocolName})`);
        assert(this.rebalanceTimer === null && this.initialDelay === null, `${id}: a rebalance timer is left`);
        break;
      case "PreparingRebalance":
        assert(this.protocolType !== null, `${id}: no protocol type`);
        break;
      case "CompletingRebalance":
      case "Stable":
        assert(this.members.size > 0, `${id}: no members`);
        assert(this.generation > 0, `${id}: a rebalance completed without a generation`);
        assert(this.protocolType !== null && this.protocolName !== null, `${id}: no protocol chosen`);
        assert(this.rebalanceTimer === null && this.initialDelay === null, `${id}: a rebalance timer is left`);
        for (const m of this.members.values()) {
          assert(m.protocols.some((p) => p.name === this.protocolName), `${id}: member ${m.memberId} does not support protocol ${this.protocolName}`);
          // CompletingRebalance answers every JoinGroup (completeJoin does, before it enters it).
          assert(m.joinWaiter === null, `${id}: member ${m.memberId} has a JoinGroup parked`);
        }
        break;
      case "Dead":
        assert(this.size === 0, `${id}: ${this.members.size} member(s) and ${this.pending.size} pending id(s)`);
        assert(this.rebalanceTimer === null && this.initialDelay === null, `${id}: a rebalance timer is left`);
        break;
    }
  }

  /**
   * A static member restarted (KIP-345): its instance id comes back with a new member id. The
   * member keeps its place, protocols and assignment under the new id (Kafka's
   * replaceStaticMember); the old id is no member any more, so its polls are fenced. Returns the
   * new Member; the old one's waiters are the caller's to answer.
   */
  replaceStaticMember(instanceId: string, oldMemberId: string, newMemberId: string): Member {
    const old = this.members.get(oldMemberId);
    assert(old !== undefined && old.groupInstanceId === instanceId, `group '${this.groupId}': ${oldMemberId} is not the member of instance ${instanceId}`);
    assert(!this.members.has(newMemberId) && !this.pending.has(newMemberId), `group '${this.groupId}': ${newMemberId} is already known`);
    const fresh = new Member(newMemberId, instanceId, old.clientId, old.clientHost, old.sessionTimeoutMs, old.rebalanceTimeoutMs, old.protocolType, old.protocols);
    fresh.assignment = old.assignment;
    const order = [...this.members.values()];
    this.members.clear();
    for (const m of order) this.members.set(m === old ? newMemberId : m.memberId, m === old ? fresh : m);
    this.instances.set(instanceId, newMemberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    return fresh;
  }

  get size(): number {
    return this.members.size + this.pending.size;
  }

  /** Every known member has a JoinGroup waiting and no MEMBER_ID_REQUIRED id is outstanding. */
  allJoined(): boolean {
    if (this.pending.size > 0) return false;
    for (const m of this.members.values()) if (m.joinWaiter === null) return false;
    return true;
  }

  /** The longest rebalance timeout of the members: how long a rebalance waits for them. */
  rebalanceTimeoutMs(): number {
    let ms = 0;
    for (const m of this.members.values()) ms = Math.max(ms, m.rebalanceTimeoutMs);
    return ms;
  }

  /** Protocols every member supports (in no particular order). */
  candidateProtocols(): Set<string> {
    let out: Set<string> | null = null;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      const prev: Set<string> | null = out;
      out = prev === null ? names : new Set([...prev].filter((n: string) => names.has(n)));
    }
    return out ?? new Set();
  }

  /**
   * Whether a member with these protocols may join: an empty group takes any non-empty type and
   * list; otherwise the type must match and at least one protocol be supported by every member.
   */
  supports(protocolType: string, protocols: ProtocolMetadata[]): boolean {
    if (protocolType === "" || protocols.length === 0) return false;
    const others = [...this.members.values()];
    if (others.length === 0) return true;
    if (this.protocolType !== null && this.protocolType !== protocolType) return false;
    return protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  /**
   * Kafka's vote: each member votes for the first protocol in its own list that every member
   * supports; most votes wins, ties go to the one the leader prefers.
   */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    assert(candidates.size > 0, `group '${this.groupId}': its members share no protocol (supports() admits only members that do)`);
    const leader = (this.leaderId !== null ? this.members.get(this.leaderId) : undefined) ?? this.members.values().next().value!;
    let best: string | null = null;
    let bestVotes = -1;
    for (const p of leader.protocols) {
      const n = votes.get(p.name) ?? 0;
      if (candidates.has(p.name) && n > bestVotes) {
        best = p.name;
        bestVotes = n;
      }
    }
    assert(best !== null, `group '${this.groupId}': the leader supports none of the shared protocols`);
    return best;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
