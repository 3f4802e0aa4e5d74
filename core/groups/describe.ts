// Read-only views of a group: DescribeGroups' summary (Kafka's GroupMetadata.summary) and the
// control plane's description with committed offsets, end offsets and lag.
import { assignedPartitions } from "./assignment.ts";
import type { ConsumerGroupView } from "./consumer-group.ts";
import { EMPTY_BYTES, type Group } from "./group.ts";
import type { CommittedOffset } from "./offset-store.ts";
import type { GroupDescription, GroupSummary, TopicView } from "./types.ts";

/**
 * Stable: the chosen protocol, members with their metadata and assignment. Other states: no
 * protocol, members without either (as Kafka). Unknown: Dead, no error (Kafka's classic answer).
 */
export function summarize(group: Group | undefined, groupId: string): GroupSummary {
  if (group === undefined) return { groupId, error: null, state: "Dead", protocolType: "", protocolData: "", members: [] };
  const stable = group.state === "Stable";
  return {
    groupId,
    error: null,
    state: group.state,
    protocolType: group.protocolType ?? "",
    protocolData: stable ? (group.protocolName ?? "") : "",
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable ? m.metadataFor(group.protocolName) : EMPTY_BYTES,
      assignment: stable ? m.assignment : EMPTY_BYTES,
    })),
  };
}

/** The control plane's view of a consumer-protocol group (KIP-848): members with their current assignment. */
export function describeConsumerGroup(view: ConsumerGroupView, committed: ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>>, topics: TopicView): GroupDescription {
  const members = view.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.instanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: m.assignment.map((a) => ({ topic: a.topic, partitions: a.partitions })),
  }));
  return {
    group: view.groupId,
    state: view.state,
    protocolType: "consumer",
    protocol: view.assignorName,
    generationId: view.groupEpoch,
    members,
    offsets: lagRows(members, committed, topics),
  };
}

export function describeForControlPlane(
  group: Group,
  committed: ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>>,
  topics: TopicView,
): GroupDescription {
  const consumer = group.protocolType === "consumer" && group.state === "Stable";
  const members = [...group.members.values()].map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: consumer ? (assignedPartitions(m.assignment) ?? []) : [],
  }));
  const offsets = lagRows(members, committed, topics);
  return {
    group: group.groupId,
    state: group.state,
    protocolType: group.protocolType ?? "",
    protocol: group.protocolName ?? "",
    generationId: group.generationId,
    members,
    offsets,
  };
}

function lagRows(
  members: ReadonlyArray<{ assignment: Array<{ topic: string; partitions: number[] }> }>,
  committed: ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>>,
  topics: TopicView,
): GroupDescription["offsets"] {
  // topic → partition → committed offset (null: assigned, nothing committed yet)
  const rows = new Map<string, Map<number, number | null>>();
  for (const [topic, byPart] of committed) rows.set(topic, new Map([...byPart].map(([p, c]) => [p, c.offset])));
  for (const m of members) {
    for (const a of m.assignment) {
      let byPart = rows.get(a.topic);
      if (!byPart) rows.set(a.topic, (byPart = new Map()));
      for (const p of a.partitions) if (!byPart.has(p)) byPart.set(p, null);
    }
  }
  const offsets: GroupDescription["offsets"] = [];
  for (const topic of [...rows.keys()].sort()) {
    const partitions: GroupDescription["offsets"][number]["partitions"] = [];
    for (const [partition, offset] of [...rows.get(topic)!].sort((a, b) => a[0] - b[0])) {
      const end = topics.highWatermark(topic, partition);
      if (end === null) continue;
      partitions.push({ partition, committed: offset, end, lag: offset === null ? null : Math.max(0, end - offset) });
    }
    if (partitions.length > 0) offsets.push({ topic, partitions });
  }
  return offsets;
}
