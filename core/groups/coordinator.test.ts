// The group coordinator as a decision table: (state, event) → (state after, response), every
// row run against a coordinator built into that state with a manual clock and timers (no
// sleeping), on the in-memory file layer. Then the flows the table cannot show in one step:
// MEMBER_ID_REQUIRED, the initial join delay, protocol choice, static members, session expiry.
import { describe, expect, test } from "bun:test";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { SyncScheduler } from "../log/durability.ts";
import { GroupCoordinator } from "./coordinator.ts";
import { ManualTimers } from "../testing/manual-time.ts";
import type { GroupErrorName, JoinRequest, JoinResult, SyncResult, TopicView } from "./types.ts";

const G = "g";
const SESSION_MS = 6000;
const REBALANCE_MS = 4000;
const TOPICS: TopicView = {
  partitionCount: (t) => (t === "t" ? 4 : null),
  highWatermark: (t, p) => (t === "t" && p < 4 ? 100 : null),
};
const enc = (s: string) => new TextEncoder().encode(s);

interface Fx {
  c: GroupCoordinator;
  timers: ManualTimers;
  /** Current generation, and ids of the members a (leader), b, c as the setup made them. */
  gen: number;
}

async function coordinator(opts: { initialRebalanceDelayMs?: number; maxGroupSize?: number } = {}) {
  const timers = new ManualTimers();
  let n = 0;
  const c = await GroupCoordinator.open({
    dataDir: "/data",
    fs: new MemoryFileLayer(),
    clock: timers.clock,
    scheduler: new SyncScheduler({ mode: "always" }),
    topics: TOPICS,
    timers,
    config: { minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 60_000, initialRebalanceDelayMs: opts.initialRebalanceDelayMs ?? 0, maxGroupSize: opts.maxGroupSize ?? 3 },
    newMemberId: (prefix) => `${prefix}-${++n}`,
  });
  return { c, timers };
}

function joinReq(clientId: string, over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: G,
    memberId: "",
    groupInstanceId: null,
    clientId,
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: enc(`meta-${clientId}`) }],
    requireKnownMemberId: false,
    ...over,
  };
}

type Outcome<T> = T | "pending";

/** A join or sync either answers inside the call or parks; a couple of microtasks tell which. */
async function settle<T>(r: T | Promise<T>): Promise<Outcome<T>> {
  if (!(r instanceof Promise)) return r;
  let v: Outcome<T> = "pending";
  void r.then((x) => (v = x));
  for (let i = 0; i < 3; i++) await Promise.resolve();
  return v;
}

/** A generation that is not the current one (and not -1, which means "no generation"). */
const stale = (fx: Fx) => Math.max(fx.gen - 1, 0);
const answer = (e: GroupErrorName | null) => e ?? "ok";

// --- building each state ------------------------------------------------------------------------

/** a (leader) and b in generation 2, both synced. */
async function stable(): Promise<Fx> {
  const { c, timers } = await coordinator();
  const a1 = (await settle(c.join(joinReq("a")))) as JoinResult; // generation 1, alone
  const b = c.join(joinReq("b"));
  const a2 = c.join(joinReq("a", { memberId: a1.memberId }));
  const [ra, rb] = (await Promise.all([a2, b])) as JoinResult[];
  expect([ra!.generationId, rb!.generationId, ra!.leaderId]).toEqual([2, 2, "a-1"]);
  const sa = c.sync({ groupId: G, generationId: 2, memberId: "a-1", groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: "a-1", assignment: enc("A") }, { memberId: "b-2", assignment: enc("B") }] });
  const sb = c.sync({ groupId: G, generationId: 2, memberId: "b-2", groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
  await Promise.all([sa, sb]);
  expect(c.stateOf(G)).toBe("Stable");
  return { c, timers, gen: 2 };
}

async function completing(): Promise<Fx> {
  const { c, timers } = await coordinator();
  const a1 = (await settle(c.join(joinReq("a")))) as JoinResult;
  const b = c.join(joinReq("b"));
  await Promise.all([c.join(joinReq("a", { memberId: a1.memberId })), b]);
  expect(c.stateOf(G)).toBe("CompletingRebalance");
  return { c, timers, gen: 2 };
}

/** Stable a, b; then c joins: PreparingRebalance, c waiting, a and b not yet rejoined. */
async function preparing(): Promise<Fx> {
  const fx = await stable();
  expect(await settle(fx.c.join(joinReq("c")))).toBe("pending");
  expect(fx.c.stateOf(G)).toBe("PreparingRebalance");
  return fx;
}

/** No members, offsets committed the simple way. */
async function empty(): Promise<Fx> {
  const { c, timers } = await coordinator();
  const r = await c.commitOffsets({ groupId: G, generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] });
  expect(r[0]!.error).toBeNull();
  expect(c.stateOf(G)).toBe("Empty");
  return { c, timers, gen: 0 };
}

/** Being deleted: Dead until the tombstone is durable. */
async function dead(): Promise<Fx> {
  const fx = await empty();
  void fx.c.deleteGroup(G);
  expect(fx.c.stateOf(G)).toBe("Dead");
  return fx;
}

async function none(): Promise<Fx> {
  const { c, timers } = await coordinator();
  return { c, timers, gen: 0 };
}

const SETUPS = { none, Empty: empty, PreparingRebalance: preparing, CompletingRebalance: completing, Stable: stable, Dead: dead } as const;
type SetupName = keyof typeof SETUPS;

// --- events -------------------------------------------------------------------------------------

type Event = (fx: Fx) => Promise<string>;

const syncReq = (fx: Fx, memberId: string, generationId: number) => ({
  groupId: G, generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null,
  assignments: [{ memberId: "a-1", assignment: enc("A") }, { memberId: "b-2", assignment: enc("B") }],
});
const commit = (fx: Fx, memberId: string, generationId: number) =>
  fx.c.commitOffsets({ groupId: G, generationId, memberId, groupInstanceId: null, offsets: [{ topic: "t", partition: 1, offset: 9, leaderEpoch: -1, metadata: "m" }] }).then((r) => answer(r[0]!.error));
const joinOutcome = async (r: JoinResult | Promise<JoinResult>) => {
  const o = await settle(r);
  return o === "pending" ? o : answer(o.error);
};
const syncOutcome = async (r: SyncResult | Promise<SyncResult>) => {
  const o = await settle(r);
  return o === "pending" ? o : answer(o.error);
};

const EVENTS: Record<string, Event> = {
  "join new, v4+": (fx) => joinOutcome(fx.c.join(joinReq("n", { requireKnownMemberId: true }))),
  "join new, v0-3": (fx) => joinOutcome(fx.c.join(joinReq("n"))),
  "join leader a, same protocols": (fx) => joinOutcome(fx.c.join(joinReq("a", { memberId: "a-1" }))),
  "join follower b, same protocols": (fx) => joinOutcome(fx.c.join(joinReq("b", { memberId: "b-2" }))),
  "join unknown member id": (fx) => joinOutcome(fx.c.join(joinReq("x", { memberId: "x-99" }))),
  "join, session timeout below min": (fx) => joinOutcome(fx.c.join(joinReq("n", { sessionTimeoutMs: 500 }))),
  "join, other protocol type": (fx) => joinOutcome(fx.c.join(joinReq("n", { protocolType: "connect" }))),
  "sync leader a": (fx) => syncOutcome(fx.c.sync(syncReq(fx, "a-1", fx.gen))),
  "sync follower b": (fx) => syncOutcome(fx.c.sync(syncReq(fx, "b-2", fx.gen))),
  "sync a, stale generation": (fx) => syncOutcome(fx.c.sync(syncReq(fx, "a-1", stale(fx)))),
  "heartbeat a": async (fx) => answer(fx.c.heartbeat({ groupId: G, generationId: fx.gen, memberId: "a-1", groupInstanceId: null })),
  "heartbeat a, stale generation": async (fx) => answer(fx.c.heartbeat({ groupId: G, generationId: stale(fx), memberId: "a-1", groupInstanceId: null })),
  "heartbeat unknown member": async (fx) => answer(fx.c.heartbeat({ groupId: G, generationId: fx.gen, memberId: "x-99", groupInstanceId: null })),
  "leave a": async (fx) => {
    const r = fx.c.leave(G, [{ memberId: "a-1", groupInstanceId: null }]);
    return answer(r.error ?? r.members[0]!.error);
  },
  "commit a, current generation": (fx) => commit(fx, "a-1", fx.gen),
  "commit a, stale generation": (fx) => commit(fx, "a-1", stale(fx)),
  "commit unknown member": (fx) => commit(fx, "x-99", fx.gen),
  "commit simple (generation -1)": (fx) => commit(fx, "", -1),
  "delete group": async (fx) => answer((await fx.c.deleteGroup(G)).error),
  "session timeout passes, only a heartbeats": async (fx) => {
    for (let t = 0; t < SESSION_MS + 1000; t += 1000) {
      fx.timers.advance(1000);
      fx.c.heartbeat({ groupId: G, generationId: fx.gen, memberId: "a-1", groupInstanceId: null });
    }
    return "ok";
  },
  "rebalance timeout passes": async (fx) => {
    fx.timers.advance(REBALANCE_MS);
    return "ok";
  },
};

// state before, event, state after ("none": no such group), response
type Row = [SetupName, string, string, string];
const ROWS: Row[] = [
  ["none", "join new, v4+", "Empty", "MEMBER_ID_REQUIRED"],
  ["Empty", "join new, v4+", "Empty", "MEMBER_ID_REQUIRED"],
  ["PreparingRebalance", "join new, v4+", "PreparingRebalance", "GROUP_MAX_SIZE_REACHED"],
  ["CompletingRebalance", "join new, v4+", "CompletingRebalance", "MEMBER_ID_REQUIRED"],
  ["Stable", "join new, v4+", "Stable", "MEMBER_ID_REQUIRED"],
  ["Dead", "join new, v4+", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "join new, v0-3", "CompletingRebalance", "ok"],
  ["Empty", "join new, v0-3", "CompletingRebalance", "ok"],
  ["PreparingRebalance", "join new, v0-3", "PreparingRebalance", "GROUP_MAX_SIZE_REACHED"],
  ["CompletingRebalance", "join new, v0-3", "PreparingRebalance", "pending"],
  ["Stable", "join new, v0-3", "PreparingRebalance", "pending"],
  ["Dead", "join new, v0-3", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "join leader a, same protocols", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "join leader a, same protocols", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "join leader a, same protocols", "PreparingRebalance", "pending"],
  ["CompletingRebalance", "join leader a, same protocols", "CompletingRebalance", "ok"],
  ["Stable", "join leader a, same protocols", "PreparingRebalance", "pending"],
  ["Dead", "join leader a, same protocols", "Dead", "COORDINATOR_NOT_AVAILABLE"],
  ["Stable", "join follower b, same protocols", "Stable", "ok"],
  ["CompletingRebalance", "join follower b, same protocols", "CompletingRebalance", "ok"],

  ["none", "join unknown member id", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "join unknown member id", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "join unknown member id", "PreparingRebalance", "UNKNOWN_MEMBER_ID"],
  ["CompletingRebalance", "join unknown member id", "CompletingRebalance", "UNKNOWN_MEMBER_ID"],
  ["Stable", "join unknown member id", "Stable", "UNKNOWN_MEMBER_ID"],
  ["Dead", "join unknown member id", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "join, session timeout below min", "none", "INVALID_SESSION_TIMEOUT"],
  ["Empty", "join, session timeout below min", "Empty", "INVALID_SESSION_TIMEOUT"],
  ["PreparingRebalance", "join, session timeout below min", "PreparingRebalance", "INVALID_SESSION_TIMEOUT"],
  ["CompletingRebalance", "join, session timeout below min", "CompletingRebalance", "INVALID_SESSION_TIMEOUT"],
  ["Stable", "join, session timeout below min", "Stable", "INVALID_SESSION_TIMEOUT"],
  ["Dead", "join, session timeout below min", "Dead", "INVALID_SESSION_TIMEOUT"],

  ["Empty", "join, other protocol type", "CompletingRebalance", "ok"],
  ["CompletingRebalance", "join, other protocol type", "CompletingRebalance", "INCONSISTENT_GROUP_PROTOCOL"],
  ["Stable", "join, other protocol type", "Stable", "INCONSISTENT_GROUP_PROTOCOL"],

  ["none", "sync leader a", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "sync leader a", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "sync leader a", "PreparingRebalance", "REBALANCE_IN_PROGRESS"],
  ["CompletingRebalance", "sync leader a", "Stable", "ok"],
  ["Stable", "sync leader a", "Stable", "ok"],
  ["Dead", "sync leader a", "Dead", "COORDINATOR_NOT_AVAILABLE"],
  ["CompletingRebalance", "sync follower b", "CompletingRebalance", "pending"],
  ["Stable", "sync follower b", "Stable", "ok"],

  ["none", "sync a, stale generation", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "sync a, stale generation", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "sync a, stale generation", "PreparingRebalance", "ILLEGAL_GENERATION"],
  ["CompletingRebalance", "sync a, stale generation", "CompletingRebalance", "ILLEGAL_GENERATION"],
  ["Stable", "sync a, stale generation", "Stable", "ILLEGAL_GENERATION"],
  ["Dead", "sync a, stale generation", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "heartbeat a", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "heartbeat a", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "heartbeat a", "PreparingRebalance", "REBALANCE_IN_PROGRESS"],
  ["CompletingRebalance", "heartbeat a", "CompletingRebalance", "ok"],
  ["Stable", "heartbeat a", "Stable", "ok"],
  ["Dead", "heartbeat a", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "heartbeat a, stale generation", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "heartbeat a, stale generation", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "heartbeat a, stale generation", "PreparingRebalance", "ILLEGAL_GENERATION"],
  ["CompletingRebalance", "heartbeat a, stale generation", "CompletingRebalance", "ILLEGAL_GENERATION"],
  ["Stable", "heartbeat a, stale generation", "Stable", "ILLEGAL_GENERATION"],
  ["Dead", "heartbeat a, stale generation", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "heartbeat unknown member", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "heartbeat unknown member", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "heartbeat unknown member", "PreparingRebalance", "UNKNOWN_MEMBER_ID"],
  ["CompletingRebalance", "heartbeat unknown member", "CompletingRebalance", "UNKNOWN_MEMBER_ID"],
  ["Stable", "heartbeat unknown member", "Stable", "UNKNOWN_MEMBER_ID"],
  ["Dead", "heartbeat unknown member", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "leave a", "none", "UNKNOWN_MEMBER_ID"],
  ["Empty", "leave a", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "leave a", "PreparingRebalance", "ok"],
  ["CompletingRebalance", "leave a", "PreparingRebalance", "ok"],
  ["Stable", "leave a", "PreparingRebalance", "ok"],
  ["Dead", "leave a", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "commit a, current generation", "none", "ILLEGAL_GENERATION"],
  ["Empty", "commit a, current generation", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "commit a, current generation", "PreparingRebalance", "ok"],
  ["CompletingRebalance", "commit a, current generation", "CompletingRebalance", "REBALANCE_IN_PROGRESS"],
  ["Stable", "commit a, current generation", "Stable", "ok"],
  ["Dead", "commit a, current generation", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "commit a, stale generation", "none", "ILLEGAL_GENERATION"],
  ["Empty", "commit a, stale generation", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "commit a, stale generation", "PreparingRebalance", "ILLEGAL_GENERATION"],
  ["CompletingRebalance", "commit a, stale generation", "CompletingRebalance", "ILLEGAL_GENERATION"],
  ["Stable", "commit a, stale generation", "Stable", "ILLEGAL_GENERATION"],
  ["Dead", "commit a, stale generation", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "commit unknown member", "none", "ILLEGAL_GENERATION"],
  ["Empty", "commit unknown member", "Empty", "UNKNOWN_MEMBER_ID"],
  ["PreparingRebalance", "commit unknown member", "PreparingRebalance", "UNKNOWN_MEMBER_ID"],
  ["CompletingRebalance", "commit unknown member", "CompletingRebalance", "UNKNOWN_MEMBER_ID"],
  ["Stable", "commit unknown member", "Stable", "UNKNOWN_MEMBER_ID"],
  ["Dead", "commit unknown member", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "commit simple (generation -1)", "Empty", "ok"],
  ["Empty", "commit simple (generation -1)", "Empty", "ok"],
  ["PreparingRebalance", "commit simple (generation -1)", "PreparingRebalance", "UNKNOWN_MEMBER_ID"],
  ["CompletingRebalance", "commit simple (generation -1)", "CompletingRebalance", "UNKNOWN_MEMBER_ID"],
  ["Stable", "commit simple (generation -1)", "Stable", "UNKNOWN_MEMBER_ID"],
  ["Dead", "commit simple (generation -1)", "Dead", "COORDINATOR_NOT_AVAILABLE"],

  ["none", "delete group", "none", "GROUP_ID_NOT_FOUND"],
  ["Empty", "delete group", "none", "ok"],
  ["PreparingRebalance", "delete group", "PreparingRebalance", "NON_EMPTY_GROUP"],
  ["CompletingRebalance", "delete group", "CompletingRebalance", "NON_EMPTY_GROUP"],
  ["Stable", "delete group", "Stable", "NON_EMPTY_GROUP"],
  ["Dead", "delete group", "Dead", "GROUP_ID_NOT_FOUND"],

  // b stops heartbeating: evicted after its session timeout, the group rebalances.
  ["none", "session timeout passes, only a heartbeats", "none", "ok"],
  ["Empty", "session timeout passes, only a heartbeats", "Empty", "ok"],
  ["PreparingRebalance", "session timeout passes, only a heartbeats", "CompletingRebalance", "ok"],
  ["CompletingRebalance", "session timeout passes, only a heartbeats", "PreparingRebalance", "ok"],
  ["Stable", "session timeout passes, only a heartbeats", "PreparingRebalance", "ok"],
  // Rebalance timeout: members that did not rejoin are dropped, the others form the generation.
  ["none", "rebalance timeout passes", "none", "ok"],
  ["Empty", "rebalance timeout passes", "Empty", "ok"],
  ["PreparingRebalance", "rebalance timeout passes", "CompletingRebalance", "ok"],
  ["CompletingRebalance", "rebalance timeout passes", "CompletingRebalance", "ok"],
  ["Stable", "rebalance timeout passes", "Stable", "ok"],
];

describe("group coordinator decision table", () => {
  test.each(ROWS)("%s + %s → %s, %s", async (before, event, after, response) => {
    const fx = await SETUPS[before]();
    expect(await EVENTS[event]!(fx)).toBe(response);
    expect(fx.c.stateOf(G) ?? "none").toBe(after);
  });

  test("every event and every state appears in the table", () => {
    expect(new Set(ROWS.map((r) => r[1]))).toEqual(new Set(Object.keys(EVENTS)));
    expect(new Set<string>(ROWS.map((r) => r[0]))).toEqual(new Set(Object.keys(SETUPS)));
  });
});

describe("group coordinator flows", () => {
  test("MEMBER_ID_REQUIRED: the second join with the handed-out id enters the group", async () => {
    const { c } = await coordinator();
    const first = (await settle(c.join(joinReq("k", { requireKnownMemberId: true })))) as JoinResult;
    expect([first.error, first.memberId]).toEqual(["MEMBER_ID_REQUIRED", "k-1"]);
    const second = (await settle(c.join(joinReq("k", { requireKnownMemberId: true, memberId: "k-1" })))) as JoinResult;
    expect([second.error, second.memberId, second.leaderId, second.generationId]).toEqual([null, "k-1", "k-1", 1]);
    expect(second.members.map((m) => m.memberId)).toEqual(["k-1"]);
  });

  test("a MEMBER_ID_REQUIRED id that never comes back expires after the session timeout", async () => {
    const { c, timers } = await coordinator();
    await settle(c.join(joinReq("k", { requireKnownMemberId: true })));
    expect(c.stateOf(G)).toBe("Empty");
    timers.advance(SESSION_MS);
    expect(c.stateOf(G)).toBeUndefined();
  });

  test("initial rebalance delay: three members joining within it form one generation", async () => {
    const { c, timers } = await coordinator({ initialRebalanceDelayMs: 1000 });
    const joins = ["a", "b", "c"].map((id) => c.join(joinReq(id)));
    timers.advance(500);
    expect(c.stateOf(G)).toBe("PreparingRebalance");
    timers.advance(1000); // a new member arrived during the first delay: one more delay
    expect(c.stateOf(G)).toBe("PreparingRebalance");
    timers.advance(1000);
    const results = await Promise.all(joins);
    expect(results.map((r) => r.generationId)).toEqual([1, 1, 1]);
    // Only the leader gets the members and their metadata.
    expect(results.map((r) => r.members.length)).toEqual([3, 0, 0]);
    expect(new TextDecoder().decode(results[0]!.members[2]!.metadata)).toBe("meta-c");
  });

  test("protocol choice: the one every member supports, most votes, leader's order on ties", async () => {
    const { c, timers } = await coordinator({ initialRebalanceDelayMs: 100 });
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: enc(name) }));
    const joins = [
      c.join(joinReq("a", { protocols: p("sticky", "range", "roundrobin") })),
      c.join(joinReq("b", { protocols: p("roundrobin", "range") })),
    ];
    timers.advance(1000);
    const [a, b] = await Promise.all(joins);
    // sticky is not supported by b; a votes range, b votes roundrobin: a tie, a (leader) prefers range.
    expect([a!.protocolName, b!.protocolName]).toEqual(["range", "range"]);
    expect(new TextDecoder().decode(a!.members[1]!.metadata)).toBe("range");
  });

  test("a member that stops heartbeating is evicted and the other one gets all of it", async () => {
    const fx = await stable();
    fx.timers.advance(SESSION_MS - 1);
    expect(fx.c.heartbeat({ groupId: G, generationId: 2, memberId: "a-1", groupInstanceId: null })).toBeNull();
    fx.timers.advance(1); // b's session ends
    expect(fx.c.heartbeat({ groupId: G, generationId: 2, memberId: "a-1", groupInstanceId: null })).toBe("REBALANCE_IN_PROGRESS");
    const rejoin = (await settle(fx.c.join(joinReq("a", { memberId: "a-1" })))) as JoinResult;
    expect([rejoin.error, rejoin.generationId, rejoin.members.map((m) => m.memberId)]).toEqual([null, 3, ["a-1"]]);
    const d = fx.c.describeGroup(G)!;
    expect(d.members.map((m) => m.memberId)).toEqual(["a-1"]);
  });

  test("static member: a rejoin while a rebalance waits takes the old id's place; the old id is fenced", async () => {
    const { c } = await coordinator();
    const first = (await settle(c.join(joinReq("s", { groupInstanceId: "inst-1" })))) as JoinResult;
    expect(first.error).toBeNull();
    expect(first.memberId).toBe("inst-1-1");
    const b = c.join(joinReq("b")); // a rebalance: inst-1-1 has not rejoined yet
    const again = c.join(joinReq("s", { groupInstanceId: "inst-1" }));
    expect(c.heartbeat({ groupId: G, generationId: 1, memberId: "inst-1-1", groupInstanceId: "inst-1" })).toBe("FENCED_INSTANCE_ID");
    const [r, rb] = (await Promise.all([again, b])) as JoinResult[];
    expect([r!.error, r!.memberId, r!.generationId, rb!.generationId]).toEqual([null, "inst-1-3", 2, 2]);
    expect(c.leave(G, [{ memberId: "", groupInstanceId: "inst-1" }]).members[0]!.error).toBeNull();
  });

  /** a (static "ia", leader) and b (static "ib") Stable in generation 2 with assignments A and B. */
  async function staticStable() {
    const { c, timers } = await coordinator();
    const a1 = (await settle(c.join(joinReq("a", { groupInstanceId: "ia" })))) as JoinResult;
    const b = c.join(joinReq("b", { groupInstanceId: "ib" }));
    const a2 = c.join(joinReq("a", { memberId: a1.memberId, groupInstanceId: "ia" }));
    const [ra, rb] = (await Promise.all([a2, b])) as JoinResult[];
    expect([ra!.memberId, rb!.memberId, ra!.leaderId, ra!.generationId]).toEqual(["ia-1", "ib-2", "ia-1", 2]);
    const sa = c.sync({ groupId: G, generationId: 2, memberId: "ia-1", groupInstanceId: "ia", protocolType: null, protocolName: null, assignments: [{ memberId: "ia-1", assignment: enc("A") }, { memberId: "ib-2", assignment: enc("B") }] });
    const sb = c.sync({ groupId: G, generationId: 2, memberId: "ib-2", groupInstanceId: "ib", protocolType: null, protocolName: null, assignments: [] });
    await Promise.all([sa, sb]);
    expect(c.stateOf(G)).toBe("Stable");
    return { c, timers };
  }

  test.each([
    ["a follower", "b", "ib", "ib-2", "B"],
    ["the leader", "a", "ia", "ia-1", "A"],
  ])("static member: %s restarting within its session gets its assignment back, no rebalance (KIP-345, issue #21)", async (_what, client, instance, oldId, assignment) => {
    const { c, timers } = await staticStable();
    timers.advance(SESSION_MS - 100); // the old process is gone; its session has not ended
    const other = oldId === "ia-1" ? { memberId: "ib-2", groupInstanceId: "ib" } : { memberId: "ia-1", groupInstanceId: "ia" };
    expect(c.heartbeat({ groupId: G, generationId: 2, ...other })).toBeNull();
    const r = (await settle(c.join(joinReq(client, { groupInstanceId: instance, requireKnownMemberId: true })))) as JoinResult;
    // Answered at once: same generation, no member list, the old leader id (a restarted leader must not assign).
    expect([r.error, r.memberId, r.generationId, r.leaderId, r.members.length]).toEqual([null, `${instance}-3`, 2, "ia-1", 0]);
    expect(c.stateOf(G)).toBe("Stable");
    const s = (await settle(c.sync({ groupId: G, generationId: 2, memberId: r.memberId, groupInstanceId: instance, protocolType: null, protocolName: null, assignments: [] }))) as SyncResult;
    expect([s.error, new TextDecoder().decode(s.assignment)]).toEqual([null, assignment]);
    // The others go on undisturbed; the old id is fenced.
    timers.advance(200);
    expect(c.heartbeat({ groupId: G, generationId: 2, ...other })).toBeNull();
    expect(c.heartbeat({ groupId: G, generationId: 2, memberId: oldId, groupInstanceId: instance })).toBe("FENCED_INSTANCE_ID");
    expect(c.heartbeat({ groupId: G, generationId: 2, memberId: r.memberId, groupInstanceId: instance })).toBeNull();
    expect(c.describeGroup(G)!.members.map((m) => m.memberId).sort()).toEqual([other.memberId, r.memberId].sort());
  });

  test("static member: a restart with other metadata but the same chosen protocol does not rebalance; a lapsed session does", async () => {
    const { c, timers } = await staticStable();
    const same = (await settle(c.join(joinReq("b", { groupInstanceId: "ib", protocols: [{ name: "range", metadata: enc("other") }] })))) as JoinResult;
    expect([same.error, same.generationId, c.stateOf(G)]).toEqual([null, 2, "Stable"]);
    timers.advance(100);
    expect(c.heartbeat({ groupId: G, generationId: 2, memberId: same.memberId, groupInstanceId: "ib" })).toBeNull();
    // a, gone past its session timeout, is removed: the group rebalances without it.
    timers.advance(SESSION_MS - 100);
    expect(c.stateOf(G)).toBe("PreparingRebalance");
    expect(c.heartbeat({ groupId: G, generationId: 2, memberId: "ia-1", groupInstanceId: "ia" })).toBe("UNKNOWN_MEMBER_ID");
  });

  test("static member: two processes with one instance id: the older one is fenced on every call", async () => {
    const { c } = await staticStable();
    const r = (await settle(c.join(joinReq("b", { groupInstanceId: "ib" })))) as JoinResult;
    expect(r.error).toBeNull();
    const stale = { groupId: G, generationId: 2, memberId: "ib-2", groupInstanceId: "ib" };
    expect(c.heartbeat(stale)).toBe("FENCED_INSTANCE_ID");
    expect(((await settle(c.sync({ ...stale, protocolType: null, protocolName: null, assignments: [] }))) as SyncResult).error).toBe("FENCED_INSTANCE_ID");
    expect(((await settle(c.join(joinReq("b", { memberId: "ib-2", groupInstanceId: "ib" })))) as JoinResult).error).toBe("FENCED_INSTANCE_ID");
    expect((await c.commitOffsets({ ...stale, offsets: [{ topic: "t", partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] }))[0]!.error).toBe("FENCED_INSTANCE_ID");
    expect(c.leave(G, [{ memberId: "ib-2", groupInstanceId: "ib" }]).members[0]!.error).toBe("FENCED_INSTANCE_ID");
    expect(c.stateOf(G)).toBe("Stable");
  });

  test("static member in CompletingRebalance: a restart rebalances again (the leader may be assigning the old id)", async () => {
    const { c } = await coordinator();
    const a1 = (await settle(c.join(joinReq("a", { groupInstanceId: "ia" })))) as JoinResult;
    const b = c.join(joinReq("b", { groupInstanceId: "ib" }));
    await Promise.all([c.join(joinReq("a", { memberId: a1.memberId, groupInstanceId: "ia" })), b]);
    expect(c.stateOf(G)).toBe("CompletingRebalance");
    const parked = c.sync({ groupId: G, generationId: 2, memberId: "ib-2", groupInstanceId: "ib", protocolType: null, protocolName: null, assignments: [] });
    const again = c.join(joinReq("b", { groupInstanceId: "ib" }));
    expect(((await settle(parked)) as SyncResult).error).toBe("FENCED_INSTANCE_ID");
    expect(c.stateOf(G)).toBe("PreparingRebalance");
    const ra = c.join(joinReq("a", { memberId: "ia-1", groupInstanceId: "ia" }));
    const [r] = (await Promise.all([again, ra])) as JoinResult[];
    expect([r!.error, r!.memberId, r!.generationId]).toEqual([null, "ib-3", 3]);
  });

  test("commits: unknown partitions and oversized metadata are refused per partition", async () => {
    const { c } = await coordinator();
    const r = await c.commitOffsets({
      groupId: G, generationId: -1, memberId: "", groupInstanceId: null,
      offsets: [
        { topic: "t", partition: 0, offset: 1, leaderEpoch: 3, metadata: "ok" },
        { topic: "t", partition: 9, offset: 1, leaderEpoch: -1, metadata: null },
        { topic: "nope", partition: 0, offset: 1, leaderEpoch: -1, metadata: null },
        { topic: "t", partition: 1, offset: 1, leaderEpoch: -1, metadata: "x".repeat(4097) },
      ],
    });
    expect(r.map((x) => x.error)).toEqual([null, "UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_OR_PARTITION", "OFFSET_METADATA_TOO_LARGE"]);
    expect(c.fetchOffsets(G, [{ topic: "t", partitions: [0, 1] }]).topics[0]!.partitions).toEqual([
      { partition: 0, offset: 1, leaderEpoch: 3, metadata: "ok", error: null },
      { partition: 1, offset: -1, leaderEpoch: -1, metadata: "", error: null },
    ]);
  });

  test("describeGroup reports members, assignments, committed offsets and lag", async () => {
    const fx = await stable();
    // A consumer-protocol assignment: version 0, [t: 0, 1], no user data.
    const w = [0, 0, 0, 0, 0, 1, 0, 1, "t".charCodeAt(0), 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
    const { c } = fx;
    c.join(joinReq("a", { memberId: "a-1" }));
    c.join(joinReq("b", { memberId: "b-2" }));
    const sync = c.sync({ groupId: G, generationId: 3, memberId: "a-1", groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: "a-1", assignment: new Uint8Array(w) }] });
    await sync;
    await c.commitOffsets({ groupId: G, generationId: 3, memberId: "a-1", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, offset: 40, leaderEpoch: -1, metadata: null }] });
    const d = c.describeGroup(G)!;
    expect(d.state).toBe("Stable");
    expect(d.members.find((m) => m.memberId === "a-1")!.assignment).toEqual([{ topic: "t", partitions: [0, 1] }]);
    expect(d.offsets).toEqual([{ topic: "t", partitions: [{ partition: 0, committed: 40, end: 100, lag: 60 }, { partition: 1, committed: null, end: 100, lag: null }] }]);
    expect(c.listGroups()).toEqual([{ groupId: G, protocolType: "consumer", state: "Stable", groupType: "classic" }]);
  });

  test("resetOffsets only while Empty; deleteGroup forgets offsets", async () => {
    const fx = await stable();
    expect((await fx.c.resetOffsets(G, "t", [{ partition: 0, offset: 1 }])).error).toBe("NON_EMPTY_GROUP");
    const e = await empty();
    expect((await e.c.resetOffsets(G, "t", [{ partition: 2, offset: 7 }])).error).toBeNull();
    expect(e.c.fetchOffsets(G, null).topics).toEqual([{ topic: "t", partitions: [
      { partition: 0, offset: 5, leaderEpoch: -1, metadata: "", error: null },
      { partition: 2, offset: 7, leaderEpoch: -1, metadata: "", error: null },
    ] }]);
    expect((await e.c.deleteGroup(G)).error).toBeNull();
    expect(e.c.fetchOffsets(G, null).topics).toEqual([]);
    expect(e.c.describeGroup(G)).toBeNull();
  });

  test("stopServing answers parked joins and syncs with NOT_COORDINATOR", async () => {
    const fx = await completing();
    const parked = fx.c.sync(syncReq(fx, "b-2", 2));
    fx.c.stopServing();
    expect(((await parked) as SyncResult).error).toBe("NOT_COORDINATOR");
    await fx.c.close();
  });
});

test("a commit in flight while its topic is deleted does not outlive the delete (issue #7)", async () => {
  // Found by core/power-loss.test.ts: the delete wrote no tombstone because the commit was not in
  // the table yet; the commit then landed, and a re-created topic of that name inherited it.
  const timers = new ManualTimers();
  let exists = true;
  const c = await GroupCoordinator.open({
    dataDir: "/data",
    fs: new MemoryFileLayer(),
    clock: timers.clock,
    scheduler: new SyncScheduler({ mode: "always" }),
    topics: { partitionCount: (t) => (t === "t" && exists ? 1 : null), highWatermark: () => 0 },
    timers,
  });
  const commit = c.commitOffsets({ groupId: G, generationId: -1, memberId: "", groupInstanceId: null, offsets: [{ topic: "t", partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] });
  exists = false;
  await c.topicDeleted("t");
  expect((await commit)[0]!.error).toBeNull();
  exists = true; // re-created
  expect(c.fetchOffsets(G, [{ topic: "t", partitions: [0] }]).topics[0]!.partitions[0]!.offset).toBe(-1);
  await c.close();
});
