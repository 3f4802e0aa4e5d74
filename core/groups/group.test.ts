// The group state machine's assertions (issue #17): Kafka's table of legal transitions, and that a
// step outside it, or one into a state the group does not satisfy, is an AssertionError: a bug in
// the coordinator, never an answer to a client (coordinator.test.ts shows clients get Kafka errors).
import { describe, expect, test } from "bun:test";
import { AssertionError } from "../assert.ts";
import { MemoryFileLayer } from "../testing/memory-fs.ts";
import { GROUP_MEMBERS_MAX } from "../limits.ts";
import { SyncScheduler } from "../log/durability.ts";
import { GroupCoordinator } from "./coordinator.ts";
import { Group, Member, VALID_PREVIOUS_STATES } from "./group.ts";
import { ManualTimers } from "../testing/manual-time.ts";
import { GROUP_STATES, type GroupState, type JoinRequest } from "./types.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function member(id: string, protocols = ["range"]): Member {
  return new Member(id, null, "client", "/127.0.0.1", 6000, 4000, "consumer", protocols.map((name) => ({ name, metadata: enc(id) })));
}

/** A group put straight into `state` (only the assertions' tests do this), with nothing in it. */
function groupIn(state: GroupState): Group {
  const g = new Group("g");
  (g as unknown as { current: GroupState }).current = state;
  return g;
}

/** A group with one member (its leader) whose rebalance just ended: ready for CompletingRebalance. */
function rebalanced(): Group {
  const g = groupIn("PreparingRebalance");
  g.members.set("a", member("a"));
  g.leaderId = "a";
  g.protocolType = "consumer";
  g.nextGeneration();
  g.protocolName = g.selectProtocol();
  return g;
}

describe("group transitions (issue #17)", () => {
  test("the table is Kafka's GroupMetadata.validPreviousStates", () => {
    expect(VALID_PREVIOUS_STATES).toEqual({
      Empty: ["PreparingRebalance"],
      PreparingRebalance: ["Empty", "CompletingRebalance", "Stable"],
      CompletingRebalance: ["PreparingRebalance"],
      Stable: ["CompletingRebalance"],
      Dead: ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"],
    });
  });

  const illegal = GROUP_STATES.flatMap((from) => GROUP_STATES.filter((to) => !VALID_PREVIOUS_STATES[to].includes(from)).map((to) => [from, to] as const));
  test("every step outside the table is an AssertionError, and the state stays", () => {
    expect(illegal.length).toBe(25 - 11);
    for (const [from, to] of illegal) {
      const g = groupIn(from);
      expect(() => g.transitionTo(to), `${from} → ${to}`).toThrow(AssertionError);
      expect(() => g.transitionTo(to)).toThrow(`${from} → ${to} is not a transition`);
      expect(g.state).toBe(from);
    }
  });

  test("a legal step into a state the group does not satisfy is an AssertionError", () => {
    // CompletingRebalance and Stable need members, a leader among them and a chosen protocol.
    expect(() => groupIn("PreparingRebalance").transitionTo("CompletingRebalance")).toThrow(AssertionError);
    const noLeader = rebalanced();
    noLeader.leaderId = "gone";
    expect(() => noLeader.transitionTo("CompletingRebalance")).toThrow("leader gone is not a member");
    const unsupported = rebalanced();
    unsupported.protocolName = "roundrobin";
    expect(() => unsupported.transitionTo("CompletingRebalance")).toThrow("does not support protocol roundrobin");
    const parked = rebalanced();
    parked.members.get("a")!.joinWaiter = () => {};
    expect(() => parked.transitionTo("CompletingRebalance")).toThrow("has a JoinGroup parked");
    // Empty and Dead hold no members.
    const left = rebalanced();
    expect(() => left.transitionTo("Empty")).toThrow(AssertionError);
    const full = groupIn("Empty");
    full.pending.set("p", { id: 1 });
    expect(() => full.transitionTo("Dead")).toThrow("pending id(s)");
    // PreparingRebalance has a protocol type (its first member's).
    expect(() => groupIn("Empty").transitionTo("PreparingRebalance")).toThrow("no protocol type");
  });

  test("a whole life through the one transition function", () => {
    const g = new Group("g");
    g.members.set("a", member("a"));
    g.leaderId = "a";
    g.protocolType = "consumer";
    g.transitionTo("PreparingRebalance");
    g.nextGeneration();
    g.protocolName = g.selectProtocol();
    g.transitionTo("CompletingRebalance");
    g.assign(new Map([["a", enc("assignment")]]));
    expect(g.state).toBe("Stable");
    expect(g.members.get("a")!.assignment).toEqual(enc("assignment"));
    g.members.delete("a");
    g.leaderId = null;
    g.transitionTo("PreparingRebalance");
    g.nextGeneration();
    g.protocolName = null;
    g.protocolType = null;
    g.transitionTo("Empty");
    g.transitionTo("Dead");
    g.undoDelete();
    expect([g.state, g.generationId]).toEqual(["Empty", 2]);
  });

  test("generations end only in a rebalance; assignments are given only in CompletingRebalance", () => {
    for (const state of GROUP_STATES.filter((s) => s !== "PreparingRebalance")) {
      expect(() => groupIn(state).nextGeneration(), state).toThrow(AssertionError);
    }
    for (const state of GROUP_STATES.filter((s) => s !== "CompletingRebalance")) {
      expect(() => groupIn(state).assign(new Map()), state).toThrow(AssertionError);
      expect(() => groupIn(state).clearAssignments(), state).toThrow(AssertionError);
    }
    for (const state of GROUP_STATES.filter((s) => s !== "Dead")) expect(() => groupIn(state).undoDelete(), state).toThrow(AssertionError);
  });

  test("members that share no protocol: choosing one is an AssertionError (supports() keeps them out)", () => {
    const g = rebalanced();
    g.members.set("b", member("b", ["roundrobin"]));
    expect(() => g.selectProtocol()).toThrow("share no protocol");
  });

  test("manual time does not move backwards", () => {
    expect(() => new ManualTimers().advance(-1)).toThrow(AssertionError);
  });
});

describe("coordinator assertions (issue #17)", () => {
  const open = (opts: { maxGroupSize?: number; newMemberId?: (prefix: string) => string }) =>
    GroupCoordinator.open({
      dataDir: "/data",
      fs: new MemoryFileLayer(),
      clock: new ManualTimers().clock,
      scheduler: new SyncScheduler({ mode: "always" }),
      topics: { partitionCount: () => null, highWatermark: () => null },
      timers: new ManualTimers(),
      config: { minSessionTimeoutMs: 1000, initialRebalanceDelayMs: 0, maxGroupSize: opts.maxGroupSize ?? 3 },
      newMemberId: opts.newMemberId,
    });
  const join = (memberId = ""): JoinRequest => ({
    groupId: "g",
    memberId,
    groupInstanceId: null,
    clientId: "c",
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: 6000,
    rebalanceTimeoutMs: 4000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: enc("m") }],
    requireKnownMemberId: true,
  });

  test("group.max.size above GROUP_MEMBERS_MAX is a programmer error", async () => {
    await expect(open({ maxGroupSize: GROUP_MEMBERS_MAX + 1 })).rejects.toThrow(AssertionError);
    await expect(open({ maxGroupSize: 0 })).rejects.toThrow(AssertionError);
  });

  test("a member id generator that repeats itself is caught before it merges two members", async () => {
    const c = await open({ newMemberId: () => "same" });
    expect(await c.join(join())).toMatchObject({ error: "MEMBER_ID_REQUIRED", memberId: "same" });
    expect(() => c.join(join())).toThrow(AssertionError);
    await c.close();
  });

  test("garbage from a client is still answered, never asserted: unknown ids, wrong generations, a full group", async () => {
    const c = await open({ maxGroupSize: 1, newMemberId: (p) => `${p}-${crypto.randomUUID()}` });
    const first = await c.join(join());
    expect(first.error).toBe("MEMBER_ID_REQUIRED");
    expect((await c.join(join())).error).toBe("GROUP_MAX_SIZE_REACHED");
    expect((await c.join(join("nobody"))).error).toBe("UNKNOWN_MEMBER_ID");
    expect(await c.sync({ groupId: "g", generationId: 7, memberId: first.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).toMatchObject({ error: "UNKNOWN_MEMBER_ID" });
    expect(c.heartbeat({ groupId: "g", generationId: -5, memberId: "", groupInstanceId: "x" })).toBe("UNKNOWN_MEMBER_ID");
    expect((await c.commitOffsets({ groupId: "g", generationId: 3, memberId: "x", groupInstanceId: null, offsets: [{ topic: "t", partition: -1, offset: -9, leaderEpoch: 0, metadata: null }] }))[0]!.error).toBe("UNKNOWN_MEMBER_ID");
    expect((await c.deleteGroup("g")).error).toBe("NON_EMPTY_GROUP");
    await c.close();
  });
});
