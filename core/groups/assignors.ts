// The server-side assignors of the consumer group protocol (KIP-848): the coordinator computes a
// target assignment whenever the group epoch moves past the assignment epoch. Two, named as in
// Kafka (group.consumer.assignors, default uniform first):
//
// | name    | what it does                                                                          |
// |---------|---------------------------------------------------------------------------------------|
// | uniform | every member as many partitions as possible, ±1, across all its topics; sticky: a     |
// |         | partition stays with the member that had it in the previous target while balance     |
// |         | allows (Kafka's UniformAssignor: optimized when all subscribe alike, general if not)  |
// | range   | per topic, the subscribed members sorted by id take contiguous ranges, the first     |
// |         | (partitions mod members) one more: co-partitioned topics line up (Kafka's RangeAssignor)|
//
// Pure functions over plain data: topic ids (uuid strings) and partition numbers, no I/O.
import { assert } from "../assert.ts";

/** topic id → partitions. */
export type TopicPartitionSet = Map<string, Set<number>>;

export interface AssignorMember {
  memberId: string;
  /** Topic ids the member subscribes to that exist. */
  topics: ReadonlySet<string>;
  /** The member's previous target assignment (stickiness). */
  previous: TopicPartitionSet;
}

export type AssignorName = "uniform" | "range";
export const ASSIGNORS: readonly AssignorName[] = ["uniform", "range"];

/** Runs `name` over `members` and `topics` (topic id → partition count); every member gets an entry. */
export function assign(name: AssignorName, members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, TopicPartitionSet> {
  const out = name === "range" ? rangeAssign(members, topics) : uniformAssign(members, topics);
  assertValid(out, members, topics);
  return out;
}

function rangeAssign(members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, TopicPartitionSet> {
  const out = new Map<string, TopicPartitionSet>(members.map((m) => [m.memberId, new Map()]));
  for (const [topicId, count] of topics) {
    const subs = members.filter((m) => m.topics.has(topicId)).map((m) => m.memberId).sort();
    if (subs.length === 0) continue;
    const per = Math.floor(count / subs.length);
    const extra = count % subs.length;
    let next = 0;
    subs.forEach((memberId, i) => {
      const n = per + (i < extra ? 1 : 0);
      if (n === 0) return;
      const set = new Set<number>();
      for (let p = next; p < next + n; p++) set.add(p);
      next += n;
      out.get(memberId)!.set(topicId, set);
    });
  }
  return out;
}

function uniformAssign(members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, TopicPartitionSet> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const owner = new Map<string, string>(); // "topicId/p" → member id
  const load = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
  const key = (t: string, p: number) => `${t}/${p}`;
  // Every partition of a topic someone subscribes to, in topic then partition order.
  const all: Array<[string, number]> = [];
  for (const [topicId, count] of [...topics].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!sorted.some((m) => m.topics.has(topicId))) continue;
    for (let p = 0; p < count; p++) all.push([topicId, p]);
  }
  // The fair share if everyone could take anything: nobody keeps more than its ceiling.
  const ceiling = sorted.length === 0 ? 0 : Math.ceil(all.length / sorted.length);
  for (const m of sorted) {
    for (const [topicId, parts] of m.previous) {
      if (!m.topics.has(topicId)) continue;
      for (const p of [...parts].sort((a, b) => a - b)) {
        if (p >= (topics.get(topicId) ?? 0) || owner.has(key(topicId, p)) || load.get(m.memberId)! >= ceiling) continue;
        owner.set(key(topicId, p), m.memberId);
        load.set(m.memberId, load.get(m.memberId)! + 1);
      }
    }
  }
  for (const [topicId, p] of all) {
    if (owner.has(key(topicId, p))) continue;
    const to = leastLoaded(sorted.filter((m) => m.topics.has(topicId)), load);
    owner.set(key(topicId, p), to);
    load.set(to, load.get(to)! + 1);
  }
  // Balance: move from the most to the least loaded member able to take it, while the gap is > 1.
  for (let moves = 0; moves < all.length * Math.max(1, sorted.length); moves++) {
    let moved = false;
    for (const [topicId, p] of all) {
      const from = owner.get(key(topicId, p))!;
      const to = leastLoaded(sorted.filter((m) => m.topics.has(topicId)), load);
      if (load.get(from)! - load.get(to)! > 1) {
        owner.set(key(topicId, p), to);
        load.set(from, load.get(from)! - 1);
        load.set(to, load.get(to)! + 1);
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  const out = new Map<string, TopicPartitionSet>(sorted.map((m) => [m.memberId, new Map()]));
  for (const [topicId, p] of all) {
    const target = out.get(owner.get(key(topicId, p))!)!;
    let set = target.get(topicId);
    if (!set) target.set(topicId, (set = new Set()));
    set.add(p);
  }
  return out;
}

function leastLoaded(candidates: readonly AssignorMember[], load: ReadonlyMap<string, number>): string {
  assert(candidates.length > 0, "a partition of a subscribed topic has a member to take it");
  let best = candidates[0]!.memberId;
  for (const m of candidates) if (load.get(m.memberId)! < load.get(best)!) best = m.memberId;
  return best;
}

/** Every partition at most once, only to a member subscribed to its topic, only partitions that exist. */
function assertValid(out: ReadonlyMap<string, TopicPartitionSet>, members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): void {
  const seen = new Set<string>();
  for (const m of members) {
    for (const [topicId, parts] of out.get(m.memberId) ?? []) {
      assert(m.topics.has(topicId), `assignor gave ${m.memberId} topic ${topicId} it does not subscribe to`);
      for (const p of parts) {
        assert(p >= 0 && p < (topics.get(topicId) ?? 0), `assignor gave ${topicId}/${p}, which does not exist`);
        assert(!seen.has(`${topicId}/${p}`), `assignor gave ${topicId}/${p} twice`);
        seen.add(`${topicId}/${p}`);
      }
    }
  }
}
