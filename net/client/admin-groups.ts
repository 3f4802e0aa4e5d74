// Consumer-group administration over Kafka's APIs, as Kafka's AdminClient does it:
//
//   ListGroups                         every broker (each lists the groups it coordinates)
//   FindCoordinator (key type 0)       any broker, once per group
//   DescribeGroups, OffsetFetch,       the group's coordinator
//   OffsetCommit, DeleteGroups
//
// A group's view (`describe`) joins DescribeGroups (state, members and their assignments), the
// committed offsets (OffsetFetch, every topic) and the end offsets (ListOffsets, latest) into the
// document streamctl's control plane answers: per partition committed, end and lag = end −
// committed; a partition assigned to a member but never committed has committed and lag null.
//
// Resetting offsets is an OffsetCommit from outside the group (generation -1, no member id),
// which Kafka accepts only while the group has no members; the caller checks that first so the
// answer can say so. A group that does not exist reads as Dead from DescribeGroups (the classic
// coordinator's answer): `describe` turns that into GROUP_ID_NOT_FOUND. A consumer-protocol group
// (KIP-848) is not a classic one: DescribeGroups says GROUP_ID_NOT_FOUND (Kafka 3.8, and this
// broker), and ConsumerGroupDescribe describes it, where the coordinator serves that.
import { decodeAssignment } from "../protocol/consumer-protocol.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { ConsumerGroupDescribe, DeleteGroups, DescribeGroups, FindCoordinator, ListGroups, OffsetCommit, OffsetFetch } from "../protocol/messages/index.ts";
import type { AdminClient } from "./admin.ts";
import { LATEST, sleep, backoffMs } from "./client.ts";
import type { Connection } from "./connection.ts";
import { KafkaClientError, kafkaError } from "./errors.ts";

const COORDINATOR_ERRORS = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
const COORDINATOR_RETRIES_MAX = 10;

export interface GroupListing {
  group: string;
  state: string;
  protocolType: string;
}

export interface GroupMemberView {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  assignment: Array<{ topic: string; partitions: number[] }>;
}

export interface PartitionLag {
  partition: number;
  committed: number | null;
  end: number;
  lag: number | null;
}

/** The control plane's group document (net/http/groups.ts), as far as Kafka's APIs tell it. */
export interface GroupView {
  group: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberView[];
  offsets: Array<{ topic: string; partitions: PartitionLag[] }>;
  lag: number;
}

export function groupNotFound(group: string): KafkaClientError {
  return new KafkaClientError(ErrorCode.GROUP_ID_NOT_FOUND, `group '${group}' does not exist`);
}

export class GroupAdmin {
  private readonly coordinators = new Map<string, Connection>();

  constructor(readonly admin: AdminClient) {}

  /** Every group of every broker, sorted by id. */
  async list(): Promise<GroupListing[]> {
    const md = await this.admin.metadata([]);
    const seen = new Map<string, GroupListing>();
    await Promise.all(
      md.brokers.map(async (b) => {
        const conn = await this.admin.nodeConnection(b.nodeId);
        const res = await this.admin.request(conn, ListGroups, { statesFilter: [], typesFilter: [] });
        if (res.errorCode !== 0) throw kafkaError(res.errorCode, `list groups on broker ${b.nodeId}`);
        for (const g of res.groups) seen.set(g.groupId, { group: g.groupId, state: g.groupState || "", protocolType: g.protocolType });
      }),
    );
    return [...seen.values()].sort((a, b) => a.group.localeCompare(b.group));
  }

  /** The coordinator of `group`, found once per GroupAdmin (again after a coordinator error). */
  private async coordinator(group: string): Promise<Connection> {
    const known = this.coordinators.get(group);
    if (known?.isOpen) return known;
    for (let attempt = 0; ; attempt++) {
      const conn = await this.admin.anyConnection();
      const v = conn.version(FindCoordinator);
      const res = await this.admin.request(conn, FindCoordinator, { key: group, keyType: 0, coordinatorKeys: [group] }, v);
      const c = v >= 4 ? res.coordinators[0] : { errorCode: res.errorCode, host: res.host, port: res.port, errorMessage: res.errorMessage };
      const code = c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
      if (code === 0 && c) {
        const found = await this.admin.bounded(`connect to the coordinator of group ${group} (${c.host}:${c.port})`, () => this.admin.client.connectionTo({ host: c.host, port: c.port }));
        this.coordinators.set(group, found);
        return found;
      }
      if (!COORDINATOR_ERRORS.has(code) || attempt >= COORDINATOR_RETRIES_MAX) throw kafkaError(code, `find the coordinator of group ${group}`, c?.errorMessage);
      await sleep(backoffMs(attempt));
    }
  }

  /** Runs `fn` on the group's coordinator; a coordinator error code (returned by `fn`) finds it again. */
  private async onCoordinator<T>(group: string, fn: (conn: Connection) => Promise<{ code: number; value: T }>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const r = await fn(await this.coordinator(group));
      if (!COORDINATOR_ERRORS.has(r.code) || attempt >= COORDINATOR_RETRIES_MAX) {
        if (r.code !== 0) throw kafkaError(r.code, `group ${group}`);
        return r.value;
      }
      this.coordinators.delete(group);
      await sleep(backoffMs(attempt));
    }
  }

  /** DescribeGroups for one group: state, protocol, members with decoded assignments. */
  async summary(group: string): Promise<{ state: string; protocolType: string; protocol: string; members: GroupMemberView[] }> {
    return this.onCoordinator(group, async (conn) => {
      const res = await this.admin.request(conn, DescribeGroups, { groups: [group], includeAuthorizedOperations: false });
      const g = res.groups.find((x) => x.groupId === group);
      if (!g) return { code: ErrorCode.UNKNOWN_SERVER_ERROR, value: null as never };
      if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) {
        // A consumer-protocol group (KIP-848): Kafka describes it only with ConsumerGroupDescribe.
        if (conn.supports(ConsumerGroupDescribe)) return this.consumerGroupSummary(conn, group);
        throw groupNotFound(group);
      }
      const members = g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: g.protocolType === "consumer" ? assignmentOf(m.memberAssignment) : [],
      }));
      return { code: g.errorCode, value: { state: g.groupState, protocolType: g.protocolType, protocol: g.protocolData, members } };
    });
  }

  /** ConsumerGroupDescribe for one consumer-protocol group (KIP-848): its members and what each owns. */
  private async consumerGroupSummary(conn: Connection, group: string): Promise<{ code: number; value: { state: string; protocolType: string; protocol: string; members: GroupMemberView[] } }> {
    const res = await this.admin.request(conn, ConsumerGroupDescribe, { groupIds: [group], includeAuthorizedOperations: false });
    const g = res.groups.find((x) => x.groupId === group);
    if (!g) return { code: ErrorCode.UNKNOWN_SERVER_ERROR, value: null as never };
    if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) throw groupNotFound(group);
    const members = g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: m.assignment.topicPartitions
        .filter((t) => t.partitions.length > 0)
        .map((t) => ({ topic: t.topicName, partitions: [...t.partitions].sort((x, y) => x - y) }))
        .sort((x, y) => x.topic.localeCompare(y.topic)),
    }));
    return { code: g.errorCode, value: { state: g.groupState, protocolType: "consumer", protocol: g.assignorName, members } };
  }

  /** Committed offsets of every topic the group has any for, topic → partition → offset. */
  async committed(group: string): Promise<Map<string, Map<number, number>>> {
    return this.onCoordinator(group, async (conn) => {
      const res = await this.admin.request(conn, OffsetFetch, { groupId: group, topics: null, groups: [], requireStable: false });
      const out = new Map<string, Map<number, number>>();
      for (const t of res.topics) {
        const byPart = new Map<number, number>();
        for (const p of t.partitions) {
          if (COORDINATOR_ERRORS.has(p.errorCode)) return { code: p.errorCode, value: out };
          if (p.errorCode !== 0) throw kafkaError(p.errorCode, `committed offset of ${t.name}/${p.partitionIndex} (group ${group})`);
          if (p.committedOffset >= 0n) byPart.set(p.partitionIndex, Number(p.committedOffset));
        }
        if (byPart.size > 0) out.set(t.name, byPart);
      }
      return { code: res.errorCode, value: out };
    });
  }

  /** The whole view: members, committed and end offsets, lag. Throws GROUP_ID_NOT_FOUND for a Dead group. */
  async describe(group: string): Promise<GroupView> {
    const [summary, committed] = await Promise.all([this.summary(group), this.committed(group)]);
    if (summary.state === "Dead" && committed.size === 0) throw groupNotFound(group);
    const rows = new Map<string, Map<number, number | null>>();
    for (const [topic, byPart] of committed) rows.set(topic, new Map(byPart));
    for (const m of summary.members) {
      for (const a of m.assignment) {
        let byPart = rows.get(a.topic);
        if (!byPart) rows.set(a.topic, (byPart = new Map()));
        for (const p of a.partitions) if (!byPart.has(p)) byPart.set(p, null);
      }
    }
    const topics = [...rows.keys()].sort();
    const ends = await Promise.all(topics.map((t) => this.admin.offsetsAt(t, [...rows.get(t)!.keys()], LATEST).catch(() => new Map<number, number>())));
    const offsets: GroupView["offsets"] = [];
    topics.forEach((topic, i) => {
      const partitions: PartitionLag[] = [];
      for (const [partition, c] of [...rows.get(topic)!].sort((a, b) => a[0] - b[0])) {
        const end = ends[i]!.get(partition);
        if (end === undefined) continue; // the topic or partition is gone
        partitions.push({ partition, committed: c, end, lag: c === null ? null : Math.max(0, end - c) });
      }
      if (partitions.length > 0) offsets.push({ topic, partitions });
    });
    const lag = offsets.reduce((n, t) => n + t.partitions.reduce((m, p) => m + (p.lag ?? 0), 0), 0);
    return { group, state: summary.state, protocolType: summary.protocolType, protocol: summary.protocol, members: summary.members, offsets, lag };
  }

  /** Commits offsets from outside the group (generation -1): only while it has no members. */
  async commit(group: string, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    await this.onCoordinator(group, async (conn) => {
      const res = await this.admin.request(conn, OffsetCommit, {
        groupId: group,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [...byTopic].map(([name, ps]) => ({
          name,
          partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: BigInt(p.offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })),
        })),
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === 0) continue;
          if (COORDINATOR_ERRORS.has(p.errorCode)) return { code: p.errorCode, value: undefined };
          if (p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || p.errorCode === ErrorCode.ILLEGAL_GENERATION || p.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
            throw new KafkaClientError(ErrorCode.NON_EMPTY_GROUP, `group '${group}' has members: offsets can only be reset while it has none; stop its consumers first`);
          }
          if (p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new KafkaClientError(p.errorCode, `topic '${t.name}' has no partition ${p.partitionIndex}`);
          throw kafkaError(p.errorCode, `commit ${t.name}/${p.partitionIndex} (group ${group})`);
        }
      }
      return { code: 0, value: undefined };
    });
  }

  async delete(group: string): Promise<void> {
    await this.onCoordinator(group, async (conn) => {
      const res = await this.admin.request(conn, DeleteGroups, { groupsNames: [group] });
      const r = res.results.find((x) => x.groupId === group);
      const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code === ErrorCode.GROUP_ID_NOT_FOUND) throw groupNotFound(group);
      if (code === ErrorCode.NON_EMPTY_GROUP) throw new KafkaClientError(code, `group '${group}' has members: stop its consumers before deleting it`);
      return { code, value: undefined };
    });
  }
}

/** A consumer-protocol assignment as topic → partitions (empty when it does not decode). */
function assignmentOf(bytes: Uint8Array): Array<{ topic: string; partitions: number[] }> {
  if (bytes.length === 0) return [];
  const d = decodeAssignment(bytes);
  if ("error" in d) return [];
  return d.message.assignedPartitions.map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }));
}
