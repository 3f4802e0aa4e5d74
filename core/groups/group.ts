// One consumer group's state as data: members, generation, leader, chosen protocol, and the
// pure decisions on it (which protocols every member supports, which one wins). The transitions
// themselves live in coordinator.ts, which owns the timers.
import type { TimerHandle } from "./timers.ts";
import type { GroupState, JoinResult, ProtocolMetadata, SyncResult } from "./types.ts";

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
  state: GroupState = "Empty";
  generationId = 0;
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
    return best!;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
