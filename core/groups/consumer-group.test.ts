// The consumer group protocol (KIP-848) in-process: heartbeats driven by hand with manual timers,
// then simulated clients under seeded random joins, leaves, restarts and heartbeats, checking that
// no partition is ever owned by two clients and that the group converges on a complete, balanced
// assignment (issue #21).
import { describe, expect, test } from "bun:test";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { ManualTimers } from "../testing/manual-time.ts";
import { SyncScheduler } from "../log/durability.ts";
import { GroupCoordinator } from "./coordinator.ts";
import type { ConsumerHeartbeatRequest, ConsumerHeartbeatResult, TopicPartitionsWire } from "./consumer-group.ts";
import { assign } from "./assignors.ts";
import type { TopicView } from "./types.ts";

const T1 = "00000000-0000-4000-8000-000000000001";
const T2 = "00000000-0000-4000-8000-000000000002";
const TOPICS: Record<string, { id: string; partitions: number }> = { orders: { id: T1, partitions: 6 }, payments: { id: T2, partitions: 6 } };
const VIEW: TopicView = {
  partitionCount: (t) => TOPICS[t]?.partitions ?? null,
  highWatermark: (t, p) => (TOPICS[t] && p < TOPICS[t]!.partitions ? 10 : null),
  topicId: (t) => TOPICS[t]?.id ?? null,
  topicNames: () => Object.keys(TOPICS),
};
const G = "cg";

async function coordinator() {
  const timers = new ManualTimers();
  let n = 0;
  const c = await GroupCoordinator.open({
    dataDir: "/data",
    fs: new MemoryFileLayer(),
    clock: timers.clock,
    scheduler: new SyncScheduler({ mode: "always" }),
    topics: VIEW,
    timers,
    config: { consumerHeartbeatIntervalMs: 1000, consumerSessionTimeoutMs: 10_000, minSessionTimeoutMs: 1000, initialRebalanceDelayMs: 3000 },
    newMemberId: (prefix) => `${prefix}-${++n}`,
  });
  return { c, timers };
}

function hb(over: Partial<ConsumerHeartbeatRequest>): ConsumerHeartbeatRequest {
  return {
    groupId: G,
    memberId: "",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 5000,
    subscribedTopicNames: ["orders"],
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
    clientId: "client",
    clientHost: "/127.0.0.1",
    ...over,
  };
}

const parts = (a: TopicPartitionsWire[] | null) => (a ?? []).flatMap((t) => t.partitions.map((p) => `${t.topicId === T1 ? "o" : "p"}${p}`)).sort();

describe("consumer group protocol (KIP-848)", () => {
  test("a lone member is assigned everything on its first heartbeat: no initial rebalance delay", async () => {
    const { c } = await coordinator();
    const r = c.consumer.heartbeat(hb({}));
    expect([r.error, r.memberId, r.memberEpoch, r.heartbeatIntervalMs]).toEqual([null, "consumer-1", 1, 1000]);
    expect(parts(r.assignment)).toEqual(["o0", "o1", "o2", "o3", "o4", "o5"]);
    expect(c.consumer.stateOf(G)).toBe("Stable");
    // Nothing changed: no assignment in the answer, same epoch.
    const again = c.consumer.heartbeat(hb({ memberId: "consumer-1", memberEpoch: 1, topicPartitions: null, subscribedTopicNames: null, rebalanceTimeoutMs: -1 }));
    expect([again.error, again.memberEpoch, again.assignment]).toEqual([null, 1, null]);
  });

  test("a second member: the first revokes before the second is given anything (never two owners)", async () => {
    const { c } = await coordinator();
    const a = c.consumer.heartbeat(hb({ clientId: "a" }));
    const b = c.consumer.heartbeat(hb({ clientId: "b" }));
    // b joins at group epoch 2; everything is still a's: b waits with nothing, at the new epoch.
    expect([b.error, b.memberEpoch, parts(b.assignment)]).toEqual([null, 2, []]);
    expect(c.consumer.stateOf(G)).toBe("Reconciling");
    // a's next heartbeat: keep three, revoke three; a stays at epoch 1 until it has let them go.
    const a2 = c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: a.assignment }));
    expect(a2.memberEpoch).toBe(1);
    const kept = parts(a2.assignment);
    expect(kept.length).toBe(3);
    // b is still waiting: a has not reported the revocation.
    const b2 = c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: 2, topicPartitions: [] }));
    expect(parts(b2.assignment)).toEqual([]);
    const a3 = c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: a2.assignment }));
    expect([a3.memberEpoch, parts(a3.assignment)]).toEqual([2, kept]);
    const b3 = c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: 2, topicPartitions: [] }));
    expect(parts(b3.assignment)).toEqual(["o0", "o1", "o2", "o3", "o4", "o5"].filter((p) => !kept.includes(p)));
    expect(c.consumer.stateOf(G)).toBe("Stable");
    const d = c.consumer.describe(G)!;
    expect([d.groupEpoch, d.assignmentEpoch, d.assignorName, d.members.length]).toEqual([2, 2, "uniform", 2]);
    expect(d.members[0]!.assignment[0]!.topic).toBe("orders");
  });

  test("leave (-1), session expiry, unknown members and fenced epochs", async () => {
    const { c, timers } = await coordinator();
    const a = c.consumer.heartbeat(hb({}));
    const b = c.consumer.heartbeat(hb({}));
    expect(c.consumer.heartbeat(hb({ memberId: "nobody", memberEpoch: 1 })).error).toBe("UNKNOWN_MEMBER_ID");
    expect(c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: 7 })).error).toBe("FENCED_MEMBER_EPOCH");
    const left = c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: -1 }));
    expect([left.error, left.memberEpoch]).toEqual([null, -1]);
    const a2 = c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, topicPartitions: a.assignment }));
    expect([a2.memberEpoch, parts(a2.assignment).length]).toEqual([3, 6]);
    timers.advance(10_000);
    expect(c.consumer.stateOf(G)).toBeUndefined(); // no members, no offsets: gone
    expect(c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: 3 })).error).toBe("UNKNOWN_MEMBER_ID");
  });

  test("requests Kafka refuses: INVALID_REQUEST with its message, UNSUPPORTED_ASSIGNOR", async () => {
    const { c } = await coordinator();
    const cases: Array<[Partial<ConsumerHeartbeatRequest>, string]> = [
      [{ groupId: "" }, "GroupId can't be empty."],
      [{ rebalanceTimeoutMs: -1 }, "RebalanceTimeoutMs must be provided in first request."],
      [{ topicPartitions: [{ topicId: T1, partitions: [0] }] }, "TopicPartitions must be empty when (re-)joining."],
      [{ subscribedTopicNames: null }, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."],
      [{ memberEpoch: 3 }, "MemberId can't be empty."],
      [{ memberEpoch: -2 }, "InstanceId can't be null."],
      [{ memberEpoch: -3 }, "MemberEpoch is invalid."],
    ];
    for (const [over, message] of cases) expect([c.consumer.heartbeat(hb(over)).error, c.consumer.heartbeat(hb(over)).errorMessage]).toEqual(["INVALID_REQUEST", message]);
    expect(c.consumer.heartbeat(hb({ serverAssignor: "sticky" })).error).toBe("UNSUPPORTED_ASSIGNOR");
  });

  test("static member: -2 keeps its partitions for a restart; another live member with its instance id is refused", async () => {
    const { c } = await coordinator();
    const a = c.consumer.heartbeat(hb({ instanceId: "i-a" }));
    const b = c.consumer.heartbeat(hb({ instanceId: "i-b" }));
    let a2 = c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: 1, instanceId: "i-a", topicPartitions: a.assignment }));
    a2 = c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: a2.memberEpoch, instanceId: "i-a", topicPartitions: a2.assignment }));
    const b2 = c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: b.memberEpoch, instanceId: "i-b", topicPartitions: [] }));
    expect(c.consumer.stateOf(G)).toBe("Stable");
    const before = c.consumer.describe(G)!;
    expect(c.consumer.heartbeat(hb({ instanceId: "i-b" })).error).toBe("UNRELEASED_INSTANCE_ID");
    expect(c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: -2, instanceId: "i-b" })).error).toBeNull();
    const back = c.consumer.heartbeat(hb({ instanceId: "i-b" }));
    expect([back.error, parts(back.assignment)]).toEqual([null, parts(b2.assignment)]);
    const after = c.consumer.describe(G)!;
    expect(after.groupEpoch).toBe(before.groupEpoch); // no rebalance for anyone else
    expect(c.consumer.heartbeat(hb({ memberId: b.memberId!, memberEpoch: b2.memberEpoch, instanceId: "i-b" })).error).toBe("UNKNOWN_MEMBER_ID");
  });

  test("range: co-partitioned topics line up; the group follows what its members ask for", async () => {
    const { c } = await coordinator();
    const sub = { subscribedTopicNames: ["orders", "payments"], serverAssignor: "range" };
    const a = c.consumer.heartbeat(hb({ ...sub, memberId: "m-a" }));
    const b = c.consumer.heartbeat(hb({ ...sub, memberId: "m-b" }));
    let a2 = c.consumer.heartbeat(hb({ ...sub, memberId: "m-a", memberEpoch: a.memberEpoch, topicPartitions: a.assignment }));
    a2 = c.consumer.heartbeat(hb({ ...sub, memberId: "m-a", memberEpoch: a2.memberEpoch, topicPartitions: a2.assignment }));
    const b2 = c.consumer.heartbeat(hb({ ...sub, memberId: "m-b", memberEpoch: b.memberEpoch, topicPartitions: [] }));
    expect(parts(a2.assignment)).toEqual(["o0", "o1", "o2", "p0", "p1", "p2"]);
    expect(parts(b2.assignment)).toEqual(["o3", "o4", "o5", "p3", "p4", "p5"]);
    expect(c.consumer.describe(G)!.assignorName).toBe("range");
  });

  test("offsets: a member commits with its current epoch and OffsetCommit v9+; classic and consumer groups exclude each other", async () => {
    const { c } = await coordinator();
    const a = c.consumer.heartbeat(hb({}));
    const commit = (generationId: number, apiVersion: number, memberId = a.memberId!) =>
      c.commitOffsets({ groupId: G, apiVersion, generationId, memberId, groupInstanceId: null, offsets: [{ topic: "orders", partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] });
    expect((await commit(0, 9))[0]!.error).toBe("STALE_MEMBER_EPOCH");
    expect((await commit(1, 8))[0]!.error).toBe("UNSUPPORTED_VERSION");
    expect((await commit(1, 9, "other"))[0]!.error).toBe("UNKNOWN_MEMBER_ID");
    expect((await commit(-1, 9, ""))[0]!.error).toBe("UNKNOWN_MEMBER_ID"); // not Empty: members only
    expect((await commit(1, 9))[0]!.error).toBeNull();
    expect(c.fetchOffsets(G, null, { memberId: a.memberId!, memberEpoch: 0 }).error).toBe("STALE_MEMBER_EPOCH");
    expect(c.fetchOffsets(G, null, { memberId: a.memberId!, memberEpoch: 1 }).topics[0]!.partitions[0]!.offset).toBe(5);
    expect(c.listGroups()).toEqual([{ groupId: G, protocolType: "consumer", state: "Stable", groupType: "consumer" }]);
    const join = await c.join({ groupId: G, memberId: "", groupInstanceId: null, clientId: "x", clientHost: "", sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array(0) }], requireKnownMemberId: false });
    expect(join.error).toBe("INCONSISTENT_GROUP_PROTOCOL");
    expect((await c.deleteGroup(G)).error).toBe("NON_EMPTY_GROUP");
    c.consumer.heartbeat(hb({ memberId: a.memberId!, memberEpoch: -1 }));
    expect(c.describeGroup(G)!.state).toBe("Empty"); // offsets keep it
    expect((await c.deleteGroup(G)).error).toBeNull();
    expect(c.consumer.has(G)).toBe(false);
  });
});

describe("assignors", () => {
  const members = (n: number, topics: string[], previous = new Map<string, Map<string, Set<number>>>()) =>
    Array.from({ length: n }, (_, i) => ({ memberId: `m${i}`, topics: new Set(topics), previous: previous.get(`m${i}`) ?? new Map() }));
  test.each([1, 2, 3, 5, 7, 13])("uniform over %i members: complete, balanced within one, sticky", (n) => {
    const topics = new Map([[T1, 6], [T2, 7]]);
    const first = assign("uniform", members(n, [T1, T2]), topics);
    const counts = [...first.values()].map((a) => [...a.values()].reduce((s, ps) => s + ps.size, 0));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(13);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // One more member: everyone else keeps what balance allows.
    const second = assign("uniform", members(n + 1, [T1, T2], first), topics);
    let moved = 0;
    for (const [m, a] of first) for (const [t, ps] of a) for (const p of ps) if (!second.get(m)?.get(t)?.has(p)) moved++;
    expect(moved).toBeLessThanOrEqual(Math.ceil(13 / (n + 1)));
  });
});

describe("simulated clients under seeded random events (issue #21)", () => {
  const seed = Number(process.env.SEED ?? Date.now() % 100_000);
  test(`no partition has two owners, and the group converges (SEED=${seed})`, async () => {
    const { c, timers } = await coordinator();
    let s = seed;
    const rand = (n: number) => ((s = (s * 1103515245 + 12345) % 2147483648), s % n);
    interface Client { memberId: string; epoch: number; owned: TopicPartitionsWire[]; topics: string[] }
    const clients: Client[] = [];
    const send = (cl: Client, full: boolean): ConsumerHeartbeatResult => {
      const r = c.consumer.heartbeat(hb({ memberId: cl.memberId, memberEpoch: cl.epoch, topicPartitions: full || cl.epoch === 0 ? (cl.epoch === 0 ? [] : cl.owned) : cl.owned, subscribedTopicNames: cl.topics }));
      if (r.error === "FENCED_MEMBER_EPOCH" || r.error === "UNKNOWN_MEMBER_ID") {
        cl.owned = [];
        cl.epoch = 0;
        return r;
      }
      expect(r.error).toBeNull();
      cl.memberId = r.memberId!;
      cl.epoch = r.memberEpoch;
      if (r.assignment !== null) cl.owned = r.assignment;
      return r;
    };
    // Among members the coordinator still counts: one whose session or revocation deadline passed
    // is out, and only learns it from its next heartbeat (as with any Kafka client).
    const checkDisjoint = () => {
      const seen = new Set<string>();
      const live = new Set(c.consumer.describe(G)?.members.map((m) => m.memberId) ?? []);
      for (const cl of clients) for (const t of live.has(cl.memberId) ? cl.owned : []) for (const p of t.partitions) {
        const k = `${t.topicId}/${p}`;
        if (seen.has(k)) throw new Error(`SEED=${seed}: ${k} owned twice`);
        seen.add(k);
      }
    };
    for (let step = 0; step < 400; step++) {
      const roll = rand(10);
      if (roll === 0 && clients.length < 6) {
        const cl: Client = { memberId: "", epoch: 0, owned: [], topics: rand(3) === 0 ? ["orders"] : ["orders", "payments"] };
        clients.push(cl);
        send(cl, true);
      } else if (roll === 1 && clients.length > 1) {
        const [cl] = clients.splice(rand(clients.length), 1);
        c.consumer.heartbeat(hb({ memberId: cl!.memberId, memberEpoch: -1 }));
      } else if (roll === 2) {
        timers.advance(rand(3000));
      } else if (clients.length > 0) {
        send(clients[rand(clients.length)]!, rand(2) === 0);
      }
      checkDisjoint();
    }
    for (let round = 0; round < 20 && c.consumer.stateOf(G) !== "Stable"; round++) for (const cl of clients) send(cl, true), checkDisjoint();
    if (clients.length === 0) return;
    expect(c.consumer.stateOf(G)).toBe("Stable");
    const live = new Set(c.consumer.describe(G)!.members.map((m) => m.memberId));
    const owned = clients.filter((cl) => live.has(cl.memberId)).flatMap((cl) => parts(cl.owned));
    const subscribedToPayments = clients.some((cl) => live.has(cl.memberId) && cl.topics.includes("payments"));
    expect(owned.length).toBe(subscribedToPayments ? 12 : 6);
  });
});
