// The "range" assignor, as Kafka's RangeAssignor: per topic, the members subscribed to it are
// sorted by member id and the partitions, in order, are cut into consecutive ranges — the first
// (partitions % members) members get one partition more than the rest. Deterministic: every
// leader computes the same answer for the same input.

export interface MemberSubscription {
  memberId: string;
  topics: string[];
}

/** memberId → topic → partitions (every member appears, possibly with nothing). */
export type Assignment = Map<string, Map<string, number[]>>;

export function rangeAssign(members: MemberSubscription[], partitionCounts: ReadonlyMap<string, number>): Assignment {
  const out: Assignment = new Map(members.map((m) => [m.memberId, new Map<string, number[]>()]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic);
    if (count === undefined || count <= 0) continue;
    const subscribers = members
      .filter((m) => m.topics.includes(topic))
      .map((m) => m.memberId)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const each = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    let next = 0;
    subscribers.forEach((memberId, i) => {
      const n = each + (i < extra ? 1 : 0);
      const partitions = Array.from({ length: n }, (_, k) => next + k);
      next += n;
      if (partitions.length > 0) out.get(memberId)!.set(topic, partitions);
    });
  }
  return out;
}
