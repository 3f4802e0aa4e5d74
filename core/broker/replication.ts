// Replication on this broker (cluster mode, issue #19), in domain terms: what this broker is for
// each partition it holds a replica of (leader or follower, under which leader epoch, with which
// ISR), the followers' progress as the leader sees it, the high watermark, acks=all waits, and
// ISR shrink/expand proposals. The cluster's state itself lives elsewhere (etcd, net/cluster): it
// reaches this class through `apply`, and ISR changes leave it through `IsrProposer`, taking effect
// only once the store has committed them (a proposal is answered by the next `apply`).
//
// Leader side, for each partition it leads:
//
// | event                                  | effect                                                  |
// |----------------------------------------|---------------------------------------------------------|
// | becomes leader under epoch E           | the log records E at its end (beginEpoch), followers'   |
// |                                        |   progress unknown; serves produce and consumers        |
// | a follower F fetches from offset O     | F has everything below O on disk: F.end = O; F caught   |
// |                                        |   up at this time if O ≥ the leader's end at F's last   |
// |                                        |   fetch; F not in the ISR and O ≥ HW → propose F in     |
// | the leader's own sync                  | recompute the HW                                        |
// | tick: an ISR follower not caught up    | propose the ISR without it                              |
// |   for replica.lag.time.max.ms          |                                                         |
// | HW = min(own durable end, F.end for F  | raise the log's HW; acks=all waiters at or below it     |
// |   in ISR)                              |   are answered                                          |
// | loses leadership (another leader or    | acks=all waiters fail NOT_LEADER                        |
// |   epoch)                               |                                                         |
//
// A follower's log is fed by the replica fetcher (net/cluster), which also moves its HW to what
// the leader says; nothing else appends to it.
import { assert } from "../assert.ts";
import { CoreError } from "../errors.ts";
import type { PartitionLog } from "../log/partition-log.ts";

/** A partition's state as the cluster's store holds it. */
export interface PartitionState {
  topic: string;
  partition: number;
  replicas: readonly number[];
  /** -1: offline (no live replica in the ISR). */
  leader: number;
  leaderEpoch: number;
  isr: readonly number[];
  /** The store's version of this state: a proposal names the version it was based on. */
  version: number;
}

export interface IsrProposer {
  /** Asks the store to set `isr` if the partition is still at `basedOn.version`; resolves whether it did. */
  proposeIsr(basedOn: PartitionState, isr: readonly number[]): Promise<boolean>;
}

export interface ReplicationConfig {
  /** Kafka's replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
  replicaLagMaxMs: number;
}

interface Follower {
  /** Everything below this is on the follower's disk (its last fetch offset); -1: unknown. */
  end: number;
  /** When it last was caught up (ms). */
  caughtUpAt: number;
  /** The leader's end when the follower's last fetch was answered. */
  leaderEndAtLastFetch: number;
}

interface Waiter {
  offset: number;
  resolve(): void;
  reject(e: unknown): void;
}

class Replica {
  state: PartitionState;
  followers = new Map<number, Follower>();
  waiters: Waiter[] = [];
  /** A proposal in flight: no second one until the store answers. */
  proposing = false;
  unsubscribe: (() => void) | null = null;

  constructor(
    readonly log: PartitionLog,
    state: PartitionState,
  ) {
    this.state = state;
  }
}

export class ReplicaManager {
  private readonly replicas = new Map<string, Replica>();

  constructor(
    readonly nodeId: number,
    private readonly proposer: IsrProposer,
    private readonly config: ReplicationConfig,
    private readonly now: () => number = Date.now,
    private readonly warn: (line: string) => void = () => {},
  ) {}

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** The state this broker acts on for a partition, if it holds a replica of it. */
  state(topic: string, partition: number): PartitionState | undefined {
    return this.replicas.get(ReplicaManager.key(topic, partition))?.state;
  }

  isLeader(topic: string, partition: number): boolean {
    return this.replicas.get(ReplicaManager.key(topic, partition))?.state.leader === this.nodeId;
  }

  /** Throws NOT_LEADER unless this broker leads the partition (under `epoch`, when given ≥ 0). */
  checkLeader(topic: string, partition: number, epoch = -1): PartitionState {
    const r = this.replicas.get(ReplicaManager.key(topic, partition));
    if (r === undefined || r.state.leader !== this.nodeId) {
      throw new CoreError("NOT_LEADER", `broker ${this.nodeId} does not lead this partition (leader ${r?.state.leader ?? "unknown"})`, { topic, partition });
    }
    if (epoch >= 0 && epoch !== r.state.leaderEpoch) {
      throw new CoreError(epoch < r.state.leaderEpoch ? "FENCED_LEADER_EPOCH" : "UNKNOWN_LEADER_EPOCH", `leader epoch ${epoch}, current ${r.state.leaderEpoch}`, { topic, partition });
    }
    return r.state;
  }

  /**
   * The store's state for a partition this broker has a replica of (its log open). Becoming
   * leader records the epoch in the log before anything is served under it.
   */
  async apply(state: PartitionState, log: PartitionLog): Promise<void> {
    assert(state.replicas.includes(this.nodeId), "a broker applies only partitions it has a replica of");
    const key = ReplicaManager.key(state.topic, state.partition);
    let r = this.replicas.get(key);
    if (r !== undefined && r.log !== log) {
      this.drop(key, r, "the partition was recreated");
      r = undefined;
    }
    const fresh = r === undefined;
    if (r === undefined) {
      log.useExternalHighWatermark();
      r = new Replica(log, state);
      this.replicas.set(key, r);
      const replica = r;
      replica.unsubscribe = log.onDurable(() => this.updateHighWatermark(replica));
    } else if (state.version < r.state.version) {
      return; // an older view of the store than one applied already
    }
    const previous = r.state;
    r.state = state;
    r.proposing = false;
    const leads = state.leader === this.nodeId;
    const led = !fresh && previous.leader === this.nodeId;
    const newTerm = fresh || previous.leaderEpoch !== state.leaderEpoch || previous.leader !== state.leader;
    if (led && (!leads || newTerm)) this.failWaiters(r, `broker ${this.nodeId} no longer leads under epoch ${previous.leaderEpoch}`);
    if (leads && newTerm) {
      if (log.leaderEpoch < state.leaderEpoch) await log.beginEpoch(state.leaderEpoch);
      r.followers = new Map();
      const now = this.now();
      for (const id of state.replicas) if (id !== this.nodeId) r.followers.set(id, { end: -1, caughtUpAt: now, leaderEndAtLastFetch: 0 });
    }
    if (leads) this.updateHighWatermark(r);
  }

  /** The partition is gone from this broker (deleted, or reassigned away). */
  remove(topic: string, partition: number): void {
    const key = ReplicaManager.key(topic, partition);
    const r = this.replicas.get(key);
    if (r !== undefined) this.drop(key, r, "the partition was removed from this broker");
  }

  private drop(key: string, r: Replica, why: string): void {
    r.unsubscribe?.();
    this.failWaiters(r, why);
    this.replicas.delete(key);
  }

  /**
   * Leader side of a follower's fetch from `fetchOffset`: the follower has everything below it.
   * Returns the offset the follower may read up to (the leader's durable end).
   */
  followerFetched(topic: string, partition: number, followerId: number, fetchOffset: number): number {
    const r = this.replicas.get(ReplicaManager.key(topic, partition));
    if (r === undefined || r.state.leader !== this.nodeId) throw new CoreError("NOT_LEADER", `broker ${this.nodeId} does not lead this partition`, { topic, partition });
    if (!r.state.replicas.includes(followerId)) throw new CoreError("NOT_LEADER", `broker ${followerId} is not a replica of this partition`, { topic, partition });
    const f = r.followers.get(followerId) ?? { end: -1, caughtUpAt: 0, leaderEndAtLastFetch: 0 };
    r.followers.set(followerId, f);
    const leaderEnd = r.log.durableEndOffset;
    const now = this.now();
    if (fetchOffset >= leaderEnd) f.caughtUpAt = now;
    else if (fetchOffset >= f.leaderEndAtLastFetch) f.caughtUpAt = Math.max(f.caughtUpAt, now);
    f.end = fetchOffset;
    f.leaderEndAtLastFetch = leaderEnd;
    this.updateHighWatermark(r);
    if (!r.state.isr.includes(followerId) && fetchOffset >= r.log.highWatermark && fetchOffset >= this.epochStart(r)) {
      this.propose(r, [...r.state.isr, followerId]);
    }
    return leaderEnd;
  }

  /** Where this leader's epoch began: a follower below it has not caught up with this leader yet. */
  private epochStart(r: Replica): number {
    const entries = r.log.leaderEpochs();
    const mine = entries.find(([e]) => e === r.state.leaderEpoch);
    return mine?.[1] ?? 0;
  }

  /** Resolves once the high watermark reaches `offset` (acks=all), or fails if leadership goes. */
  waitReplicated(topic: string, partition: number, offset: number): Promise<void> {
    const r = this.replicas.get(ReplicaManager.key(topic, partition));
    if (r === undefined || r.state.leader !== this.nodeId) return Promise.reject(new CoreError("NOT_LEADER", "leadership moved", { topic, partition }));
    if (r.log.highWatermark >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => r.waiters.push({ offset, resolve, reject }));
  }

  /** Shrinks the ISR of every led partition whose followers fell behind; call every lag/2 or so. */
  tick(): void {
    const now = this.now();
    for (const r of this.replicas.values()) {
      if (r.state.leader !== this.nodeId || r.proposing) continue;
      const lagging = r.state.isr.filter((id) => {
        if (id === this.nodeId) return false;
        const f = r.followers.get(id);
        return f === undefined || now - f.caughtUpAt > this.config.replicaLagMaxMs;
      });
      if (lagging.length > 0) this.propose(r, r.state.isr.filter((id) => !lagging.includes(id)));
    }
  }

  /** ISR size now, for min.insync.replicas. */
  isrSize(topic: string, partition: number): number {
    return this.replicas.get(ReplicaManager.key(topic, partition))?.state.isr.length ?? 0;
  }

  /** Partitions led here with their followers' ends (for `cluster status` and metrics). */
  ledPartitions(): Array<{ state: PartitionState; highWatermark: number; followers: Array<{ id: number; end: number }> }> {
    const out = [];
    for (const r of this.replicas.values()) {
      if (r.state.leader !== this.nodeId) continue;
      out.push({ state: r.state, highWatermark: r.log.highWatermark, followers: [...r.followers].map(([id, f]) => ({ id, end: f.end })) });
    }
    return out;
  }

  private propose(r: Replica, isr: number[]): void {
    if (r.proposing) return;
    const sorted = [...new Set(isr)].sort((a, b) => a - b);
    if (sorted.length === r.state.isr.length && sorted.every((id) => r.state.isr.includes(id))) return;
    assert(sorted.includes(this.nodeId), "a leader never proposes an ISR without itself");
    r.proposing = true;
    const basedOn = r.state;
    this.proposer.proposeIsr(basedOn, sorted).then(
      (done) => {
        // Success shows up as the store's next state (apply); a refusal means the state moved.
        if (!done && r.state === basedOn) r.proposing = false;
      },
      (e) => {
        if (r.state === basedOn) r.proposing = false;
        this.warn(`ISR change for ${basedOn.topic}/${basedOn.partition} failed: ${String(e)}`);
      },
    );
  }

  private updateHighWatermark(r: Replica): void {
    if (r.state.leader !== this.nodeId) return;
    let hw = r.log.durableEndOffset;
    for (const id of r.state.isr) {
      if (id === this.nodeId) continue;
      const f = r.followers.get(id);
      hw = Math.min(hw, f === undefined || f.end < 0 ? r.log.highWatermark : f.end);
    }
    if (hw > r.log.highWatermark) r.log.advanceHighWatermark(hw);
    const reached = r.log.highWatermark;
    if (r.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of r.waiters) {
      if (w.offset <= reached) w.resolve();
      else still.push(w);
    }
    r.waiters = still;
  }

  private failWaiters(r: Replica, why: string): void {
    const waiters = r.waiters;
    r.waiters = [];
    for (const w of waiters) w.reject(new CoreError("NOT_LEADER", why, { topic: r.state.topic, partition: r.state.partition }));
  }
}
