// Consumer: reads topics, alone or as a member of a consumer group, for any library user and for
// the CLI's consume, tail, replay and bench. It owns the assignment (every partition of each topic,
// chosen partitions, or the group's share), the start and stop offset of each partition
// (offset-spec.ts), the positions, group membership (group-member.ts: KIP-848 or classic),
// commits, and the pipelined fetch (fetcher.ts). For example:
//
//   const consumer = new Consumer(client, { topics: ["orders"], group: { id: "billing" } });
//   try {
//     for await (const r of consumer) handle(r);
//   } finally {
//     await consumer.close(); // a final commit, then LeaveGroup; the client stays open
//   }
//
// Callers read in one of three ways:
//
//   for await (const r of consumer) …      ConsumerRecord copies, simplest; `break` stops
//   await consumer.run((r) => …)            a reused TopicRecordView per record, zero-copy
//   consumer.poll() + consumer.walk(c, fn)  the same, one fetch answer at a time, for callers
//                                           that work between answers (flush, clocks)
//
// A visitor that returns false stops the consumer after that record: poll() returns null from
// then on. A view (and a chunk's bytes) are valid only until the next poll(): copy what you keep.
//
// Positions: `positions()` is, per partition, the offset after the records the caller is done
// with — where the group's next member goes on from once committed. A chunk counts as done when
// walked to its end, or when poll() or close() is next called (as in Kafka: what a poll returned
// is consumed by the next one); when a visitor stops the consumer, exactly the records visited.
// Records past a partition's stop offset are never shown and never counted.
//
// Group order, per poll() (nothing else interleaves):
//   1. the first poll joins (group-member.ts: ConsumerGroupHeartbeat where the coordinator serves
//      KIP-848, else JoinGroup/SyncGroup), committed offsets (OffsetFetch) as starts, `from` for
//      partitions with none, stops if asked; then onAssigned
//   2. classic: a heartbeat that saw a rebalance: onRevoked (everything), commit positions, join
//      again (step 1). KIP-848: a heartbeat that brought a new assignment: onRevoked with only what
//      goes away, commit positions, take the new assignment (the member tells the coordinator);
//      kept partitions read on where they were, added ones start as in step 1; then onAssigned
//      with the whole new assignment. A fenced KIP-848 member loses everything and joins again.
//   3. otherwise, positions are committed every autoCommitIntervalMs
//   4. the next answer is fetched (the one after it is already on its way)
// A group with `join: false` is only a store for offsets (Kafka's "simple" consumer with a group
// id): every (chosen) partition is read, committed offsets are the starts, commits carry generation
// -1 and no member id; no JoinGroup, so no rebalance and no group.initial.rebalance.delay.ms wait.
// `streamctl copy` reads that way, one copier per group.
// close(): onRevoked, a final commit, LeaveGroup. After a failure (a poll or walk threw; poll()
// throws it again) close commits nothing — the chunk being walked is not done, and a broken
// connection would only make the commit retry — and only leaves, best effort.
import { AUTO_COMMIT_INTERVAL_MS, FETCH_MAX_WAIT_MS } from "./constants.ts";
import { sleep, type KafkaClient } from "./client.ts";
import { Fetcher, FetchPartition, type FetchedChunk, type Isolation, isolationLevel } from "./fetcher.ts";
import type { PendingAssignment } from "./group-coordinator.ts";
import { createGroupMember, type GroupMembership, type GroupProtocol } from "./group-member.ts";
import { EARLIEST_OFFSET, LATEST_OFFSET, resolveOffsets, type OffsetSpec, type TopicOffsets } from "./offset-spec.ts";
import { readHeaders, walkBatch, type DecodedHeader, type RecordView } from "./record-walker.ts";

export type { OffsetSpec, TopicOffsets } from "./offset-spec.ts";

/** A record as `run` and `walk` show it: a view valid during the visit only. */
export interface TopicRecordView extends RecordView {
  topic: string;
  partition: number;
}

/** Called per record; false stops the consumer after this record. */
export type RecordVisitor = (r: TopicRecordView) => boolean | void;

/** A record of its own (what iterating a Consumer yields). */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: DecodedHeader[];
}

/** One partition's whole batches from one fetch answer (fetcher.ts): walk them with `walk`. */
export type FetchedPartition = Omit<FetchedChunk, "source">;

/** topic → partitions. */
export type Assignment = Map<string, number[]>;

export interface ConsumerGroupOptions {
  id: string;
  /** false: do not join; read every (chosen) partition and use the group only to keep offsets, as
   * Kafka's "simple" consumer with a group id does (commits carry generation -1 and no member id,
   * which a broker accepts while the group has no members). No rebalance, so no
   * group.initial.rebalance.delay.ms wait either. Default true. */
  join?: boolean;
  /** On the first assignment only, start at `from` even where the group has committed offsets
   * (later rebalances start from the commits, which by then are this run's). */
  ignoreCommitted?: boolean;
  /** Commit positions() at close, before a rejoin and every autoCommitIntervalMs (default true);
   * false: only commit() commits. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** The group protocol (group-member.ts): "auto" (default) speaks the consumer group protocol
   * (KIP-848: no initial rebalance delay) where the coordinator serves it, else the classic one. */
  protocol?: GroupProtocol;
}

export interface ConsumerOptions {
  /** Topics to read: every partition of each, or the group's share of them. */
  topics: readonly string[];
  /** Without a group: only these partitions of a topic (topics it does not name are read whole). */
  partitions?: ReadonlyMap<string, readonly number[]>;
  group?: ConsumerGroupOptions;
  /** Where each partition starts (default earliest); in a group, only partitions with no committed offset. */
  from?: OffsetSpec;
  /** Stop each partition at the end offset it had when assigned. */
  stopAtEnd?: boolean;
  /** Stop each partition here (exclusive); with stopAtEnd, at whichever comes first. */
  stopAt?: OffsetSpec;
  /** read_committed (default): only committed transactions' records, up to the last stable offset,
   * which is also "latest" and stopAtEnd's end; read_uncommitted: everything up to the high watermark. */
  isolation?: Isolation;
  /** Fetch long-poll and sizes (constants.ts has the defaults). */
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  /** A fetch's OFFSET_OUT_OF_RANGE moved a partition (retention deleted what it pointed at, or it pointed past the end). */
  onReset?: (topic: string, partition: number, from: number, to: number) => void;
  /** Group only: after each join, once the new partitions' starts are known; `committed` holds the
   * assigned partitions that had a committed offset (whether or not it was used: ignoreCommitted). */
  onAssigned?: (assigned: Assignment, committed: TopicOffsets) => void | Promise<void>;
  /** Group only: before a rejoin's or close's commit gives the partitions up. */
  onRevoked?: (revoked: Assignment) => void | Promise<void>;
  /** A periodic, rejoin or final commit failed (they do not throw; commit() does). */
  onCommitError?: (err: unknown) => void;
}

/** How often a member with nothing assigned looks for a rebalance. */
const IDLE_CHECK_MS = 100;
const NONE: readonly FetchedChunk[] = [];

export class Consumer {
  private readonly fetcher: Fetcher;
  private readonly member: GroupMembership | null;
  /** A member that joins the group (false for no group, and for a group used only for offsets). */
  private readonly joins: boolean;
  private firstAssignment = true;
  private readonly from: OffsetSpec;
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private parts: FetchPartition[] = [];
  private assigned: Assignment = new Map();
  /** What the last poll() returned, until it counts as processed. */
  private handed: readonly FetchedChunk[] = NONE;
  private started = false;
  /** Every partition reached its stop, or a visitor said stop: poll() returns null. */
  private ended = false;
  /** What a poll or walk threw: poll() throws it again, close() commits nothing. */
  private failure: { error: unknown } | null = null;
  private closed = false;
  /** interrupt(): no more waiting for the group. */
  private interrupted = false;
  private lastCommit = performance.now();
  private readonly view: TopicRecordView = {
    topic: "",
    partition: 0,
    offset: 0,
    timestamp: 0,
    buf: new Uint8Array(0),
    keyStart: -1,
    keyEnd: -1,
    valueStart: -1,
    valueEnd: -1,
    headerCount: 0,
    headersStart: 0,
  };

  constructor(
    private readonly client: KafkaClient,
    private readonly opts: ConsumerOptions,
  ) {
    if (opts.topics.length === 0) throw new Error("consumer: no topic to read");
    if (opts.group !== undefined && opts.group.join !== false && opts.partitions !== undefined) throw new Error("consumer: a group member reads the partitions the group assigns, not chosen ones");
    if (opts.group !== undefined && opts.group.id === "") throw new Error("consumer: the group id must not be empty");
    this.from = opts.from ?? EARLIEST_OFFSET;
    this.member = opts.group === undefined ? null : createGroupMember(client, opts.group.id, [...opts.topics], { join: opts.group.join !== false, protocol: opts.group.protocol });
    this.joins = opts.group !== undefined && opts.group.join !== false;
    this.autoCommit = opts.group?.autoCommit ?? true;
    this.autoCommitIntervalMs = opts.group?.autoCommitIntervalMs ?? AUTO_COMMIT_INTERVAL_MS;
    this.fetcher = new Fetcher(client, { isolation: opts.isolation, maxWaitMs: opts.maxWaitMs, minBytes: opts.minBytes, maxBytes: opts.maxBytes, partitionMaxBytes: opts.partitionMaxBytes, onReset: opts.onReset });
  }

  /**
   * The next fetched partitions (possibly none: an empty long-poll, a retried error, a member
   * waiting for partitions), or null once done: every partition at its stop, a visitor said
   * stop, or close(). What the previous poll returned is invalid from this call on.
   */
  async poll(): Promise<FetchedPartition[] | null> {
    if (this.failure !== null) throw this.failure.error;
    this.settleHanded();
    try {
      return await this.next();
    } catch (err) {
      this.failure = { error: err };
      throw err;
    }
  }

  private async next(): Promise<FetchedChunk[] | null> {
    for (;;) {
      if (this.ended || this.closed) return null;
      if (!this.started) await this.start();
      else if (this.member?.needsRejoin) await this.rebalance();
      else if (this.autoCommitDue()) await this.commitQuietly();
      if (this.closed) return null;
      if (this.fetcher.done) {
        // Nothing left to read — unless this member has nothing yet and nothing bounds it.
        const waiting = this.joins && this.parts.length === 0 && !this.opts.stopAtEnd && this.opts.stopAt === undefined;
        if (!waiting) {
          this.ended = true;
          return null;
        }
        await this.idle();
        return [];
      }
      const chunks = await this.fetcher.poll();
      if (this.closed) return null;
      if (chunks === null) continue; // the last partition reached its stop
      this.handed = chunks;
      return chunks;
    }
  }

  /**
   * Calls `visit` for each record of `chunk` (from the last poll) below its stop, until `visit`
   * returns false (then the consumer stops after that record). True when walked to the end.
   */
  walk(chunk: FetchedPartition, visit: RecordVisitor): boolean {
    const c = chunk as FetchedChunk;
    const view = this.view;
    view.topic = c.topic;
    view.partition = c.partition;
    const stop = c.stop;
    // Only a chunk that runs past its stop needs each offset checked (once per bounded partition).
    const bounded = c.nextOffset > stop;
    const fn: RecordVisitor = bounded ? (r) => r.offset < stop && visit(r) !== false : visit;
    let from = c.fetchOffset;
    try {
      for (let i = 0; i < c.batches.length; i++) {
        const b = c.batches[i]!;
        if (!walkBatch(b.bytes, b.baseOffset, from, fn, view)) {
          if (bounded && view.offset >= stop) break;
          this.stopAfter(c, view.offset);
          return false;
        }
        from = 0;
      }
    } catch (err) {
      // A corrupt batch, or the visitor threw: nothing of this chunk counts as done.
      this.failure = { error: err };
      throw err;
    }
    markProcessed(c);
    return true;
  }

  /**
   * Reads until done, calling `visit` per record; `afterPoll` runs after each poll's records
   * (flush output there), `until` is asked before each poll.
   */
  async run(visit: RecordVisitor, opts: { afterPoll?: () => void | Promise<void>; until?: () => boolean } = {}): Promise<void> {
    while (!(opts.until?.() ?? false)) {
      const chunks = await this.poll();
      if (chunks === null) return;
      for (let i = 0; i < chunks.length; i++) if (!this.walk(chunks[i]!, visit)) break;
      await opts.afterPoll?.();
    }
  }

  /** Every record, copied; breaking out of the loop stops the consumer after the last one seen. */
  async *records(): AsyncGenerator<ConsumerRecord, void, undefined> {
    let current: FetchedChunk | null = null;
    let last = -1;
    let complete = false;
    try {
      for (;;) {
        const chunks = await this.poll();
        if (chunks === null) break;
        for (const c of chunks as FetchedChunk[]) {
          current = c;
          const copies = this.copies(c);
          for (let i = 0; i < copies.length; i++) {
            last = copies[i]!.offset;
            yield copies[i]!;
          }
          markProcessed(c);
          current = null;
        }
      }
      complete = true;
    } finally {
      if (!complete && this.failure === null) {
        if (current !== null && last >= current.fetchOffset) this.stopAfter(current, last);
        else this.stopAfter(null, -1);
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    return this.records();
  }

  private copies(c: FetchedChunk): ConsumerRecord[] {
    try {
      return this.copy(c);
    } catch (err) {
      this.failure = { error: err };
      throw err;
    }
  }

  private copy(c: FetchedChunk): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    const view = this.view;
    let from = c.fetchOffset;
    for (const b of c.batches) {
      const whole = walkBatch(
        b.bytes,
        b.baseOffset,
        from,
        (r) => {
          if (r.offset >= c.stop) return false;
          out.push({
            topic: c.topic,
            partition: c.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.keyStart < 0 ? null : r.buf.slice(r.keyStart, r.keyEnd),
            value: r.valueStart < 0 ? null : r.buf.slice(r.valueStart, r.valueEnd),
            headers: r.headerCount === 0 ? [] : readHeaders(r).map((h) => ({ key: h.key, value: h.value === null ? null : h.value.slice() })),
          });
        },
        view,
      );
      if (!whole) break;
      from = 0;
    }
    return out;
  }

  /** The group protocol the member speaks ("consumer": KIP-848; "classic"), null without a group.
   * With the default "auto" it is known once the first poll has joined. */
  get groupProtocol(): "classic" | "consumer" | null {
    return this.member?.protocol ?? null;
  }

  /** The partitions assigned now, topic → partitions (a group's share changes at each rebalance). */
  assignment(): Assignment {
    return new Map([...this.assigned].map(([t, ps]) => [t, [...ps]]));
  }

  /** Per assigned partition, the offset after the records the caller is done with (see the top). */
  positions(): TopicOffsets {
    const out: TopicOffsets = new Map();
    for (const part of this.parts) {
      let byPartition = out.get(part.topic);
      if (byPartition === undefined) out.set(part.topic, (byPartition = new Map()));
      byPartition.set(part.partition, part.processed);
    }
    return out;
  }

  /** Commits `offsets` (default: positions()) for the group; throws what the coordinator says. */
  async commit(offsets: TopicOffsets = this.positions()): Promise<void> {
    if (this.member === null) throw new Error("consumer: commit needs a group");
    this.lastCommit = performance.now();
    await this.member.commit(offsets);
  }

  /**
   * The caller is about to stop (a signal): a poll waiting for the group — a KIP-848 join waiting
   * for partitions others still hold, a member with nothing assigned — returns soon, so close()
   * can commit and leave (the others get the partitions at once, not after the session timeout).
   */
  interrupt(): void {
    this.interrupted = true;
    this.member?.interrupt?.();
  }

  /**
   * Stops reading; in a group: onRevoked, a final commit (unless something failed), LeaveGroup. The
   * client stays open (it is the caller's).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failure === null) this.settleHanded();
    this.closed = true;
    this.fetcher.close();
    if (this.member === null) return;
    if (!this.joins) {
      if (this.started && this.failure === null && this.autoCommit) await this.commitQuietly();
      return;
    }
    try {
      if (this.started && this.failure === null && this.member.generationId >= 0) await this.revoke();
    } finally {
      await this.member.leave();
    }
  }

  /** The first assignment: the group's, or every (chosen) partition of each topic. */
  private async start(): Promise<void> {
    this.started = true;
    if (this.joins) return this.join();
    const assignment: Assignment = new Map();
    for (const topic of this.opts.topics) {
      const chosen = this.opts.partitions?.get(topic);
      assignment.set(topic, chosen !== undefined ? [...chosen] : (await this.client.topic(topic, { autoCreate: false })).partitions.map((p) => p.partition));
    }
    if (this.member === null) return this.assign(assignment, null);
    const committed = await this.member.committed(assignment);
    await this.assign(assignment, this.opts.group?.ignoreCommitted ? null : committed);
    await this.opts.onAssigned?.(this.assignment(), onlyCommitted(committed));
  }

  private async join(): Promise<void> {
    const assignment = this.subscribed(await this.member!.join());
    if (this.closed || this.interrupted) return; // closing: nothing to assign (close() gives back what the member holds)
    const committed = assignment.size > 0 ? await this.member!.committed(assignment) : null;
    const ignore = this.firstAssignment && this.opts.group?.ignoreCommitted === true;
    this.firstAssignment = false;
    await this.assign(assignment, ignore ? null : committed);
    await this.opts.onAssigned?.(this.assignment(), onlyCommitted(committed));
  }

  /** Resolves each partition's start (committed, else `from`) and stop, then hands them to the fetcher. */
  private async assign(assignment: Assignment, committed: TopicOffsets | null): Promise<void> {
    const parts = await this.partsFor(assignment, committed);
    this.parts = parts;
    this.assigned = assignment;
    this.fetcher.assign(parts);
  }

  /** Each partition's start (committed, else `from`) and stop. */
  private async partsFor(assignment: Assignment, committed: TopicOffsets | null): Promise<FetchPartition[]> {
    const parts: FetchPartition[] = [];
    for (const [topic, partitions] of assignment) {
      const have = committed?.get(topic);
      const missing = partitions.filter((p) => (have?.get(p) ?? -1) < 0);
      const fallback = await resolveOffsets(this.client, topic, missing, this.from, isolationLevel(this.opts.isolation));
      const stops = await this.stopsOf(topic, partitions);
      for (const p of partitions) {
        const c = have?.get(p) ?? -1;
        parts.push(new FetchPartition(topic, p, c >= 0 ? c : fallback.get(p)!, stops?.get(p) ?? Infinity));
      }
    }
    return parts;
  }

  private async stopsOf(topic: string, partitions: number[]): Promise<Map<number, number> | null> {
    const ends = this.opts.stopAtEnd ? await resolveOffsets(this.client, topic, partitions, LATEST_OFFSET, isolationLevel(this.opts.isolation)) : null;
    const at = this.opts.stopAt !== undefined ? await resolveOffsets(this.client, topic, partitions, this.opts.stopAt, isolationLevel(this.opts.isolation)) : null;
    if (ends === null || at === null) return ends ?? at;
    for (const p of partitions) at.set(p, Math.min(at.get(p)!, ends.get(p)!));
    return at;
  }

  private async rebalance(): Promise<void> {
    const pending = (await this.member!.pendingAssignment?.()) ?? null;
    if (pending !== null) return this.reconcile(pending);
    await this.revoke();
    this.fetcher.assign([]);
    await this.join();
  }

  /**
   * An incremental change (KIP-848 members): only the partitions that go away are revoked
   * (onRevoked, a commit); those kept are read on from where the caller is, without a pause; those
   * added start at their committed offsets (else `from`). onAssigned then gets the whole new
   * assignment.
   */
  private async reconcile(pending: PendingAssignment): Promise<void> {
    const next = this.subscribed(pending.partitions);
    const revoked = minus(this.assigned, next);
    const added = minus(next, this.assigned);
    if (revoked.size > 0) {
      await this.opts.onRevoked?.(revoked);
      if (this.autoCommit) await this.commitQuietly();
    }
    await this.member!.take!(pending);
    if (this.member!.generationId < 0) return; // fenced meanwhile: the next poll joins again (eager)
    if (revoked.size === 0 && added.size === 0) return;
    const kept = this.parts.filter((p) => next.get(p.topic)?.includes(p.partition)).map((p) => new FetchPartition(p.topic, p.partition, p.processed, p.stop));
    const committed = added.size > 0 ? await this.member!.committed(added) : null;
    const parts = [...kept, ...(await this.partsFor(added, committed))];
    this.parts = parts;
    this.assigned = next;
    this.fetcher.assign(parts);
    await this.opts.onAssigned?.(this.assignment(), onlyCommitted(committed));
  }

  /** The partitions of the consumer's topics in a member's assignment (topics with none left out). */
  private subscribed(joined: ReadonlyMap<string, number[]>): Assignment {
    const assignment: Assignment = new Map();
    for (const topic of this.opts.topics) {
      const partitions = joined.get(topic);
      if (partitions !== undefined && partitions.length > 0) assignment.set(topic, [...partitions]);
    }
    return assignment;
  }

  private async revoke(): Promise<void> {
    await this.opts.onRevoked?.(this.assignment());
    if (this.autoCommit) await this.commitQuietly();
  }

  private autoCommitDue(): boolean {
    return this.member !== null && this.autoCommit && performance.now() - this.lastCommit >= this.autoCommitIntervalMs;
  }

  private async commitQuietly(): Promise<void> {
    try {
      await this.commit();
    } catch (err) {
      this.opts.onCommitError?.(err);
    }
  }

  /** A member with nothing assigned: back after a long-poll's time, or sooner when the group rebalances. */
  private async idle(): Promise<void> {
    const until = performance.now() + (this.opts.maxWaitMs ?? FETCH_MAX_WAIT_MS);
    while (!this.closed && !this.interrupted && !this.member!.needsRejoin && performance.now() < until) await sleep(IDLE_CHECK_MS);
  }

  private settleHanded(): void {
    for (let i = 0; i < this.handed.length; i++) markProcessed(this.handed[i]!);
    this.handed = NONE;
  }

  /** A visitor said stop at `offset` of `chunk` (null: between chunks): done up to it, nothing after. */
  private stopAfter(chunk: FetchedChunk | null, offset: number): void {
    if (chunk !== null && offset + 1 > chunk.source.processed) chunk.source.processed = offset + 1;
    this.handed = NONE;
    this.ended = true;
  }
}

/** The partitions of `a` that are not in `b`, topic → partitions (topics with none left out). */
function minus(a: Assignment, b: Assignment): Assignment {
  const out: Assignment = new Map();
  for (const [topic, partitions] of a) {
    const left = partitions.filter((p) => !(b.get(topic)?.includes(p) ?? false));
    if (left.length > 0) out.set(topic, left);
  }
  return out;
}

/** The partitions with a committed offset (OffsetFetch says -1 for none). */
function onlyCommitted(committed: TopicOffsets | null): TopicOffsets {
  const out: TopicOffsets = new Map();
  for (const [topic, byPartition] of committed ?? []) {
    const kept = new Map([...byPartition].filter(([, o]) => o >= 0));
    if (kept.size > 0) out.set(topic, kept);
  }
  return out;
}

/** A chunk's records are done: its partition is processed up to the chunk's end (or its stop). */
function markProcessed(c: FetchedChunk): void {
  const next = c.nextOffset < c.stop ? c.nextOffset : c.stop;
  if (next > c.source.processed) c.source.processed = next;
}
