// kcat 1.7.1 (librdkafka 2.0.2) against the classic group protocol's two refinements (issue #21):
// - static membership (KIP-345, `-X group.instance.id=…`): a member killed and restarted within
//   its session timeout gets its partitions back and the other member never sees a rebalance; a
//   second process with an instance id already in use fences the first (librdkafka's fatal
//   "Static consumer fenced by other consumer with same group.instance.id").
// - cooperative incremental rebalancing (KIP-429, `partition.assignment.strategy=
//   cooperative-sticky`): three members join one by one; each rebalance moves only the partitions
//   that must move (a member never revokes a partition it keeps) and the three end up disjoint
//   and complete; when one leaves, the two others take its partitions without revoking any of
//   theirs — all with the coordinator only relaying the protocol. (kafkajs has no cooperative
//   assignor, so librdkafka is the client for this.)
// The static restart fails on main before this issue (the other member revoked everything);
// cooperative-sticky worked there already and is kept here as the regression test it asks for.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { LineChild, waitFor } from "./groups-helpers.ts";

const PARTITIONS = 6;
let broker: BrokerProcess;
let kafka: Kafka;
const children: LineChild[] = [];

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-min-session-timeout-ms", "1000", "--group-initial-rebalance-delay-ms", "300"] });
  kafka = new Kafka({ clientId: "groups-static-test", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "static-t", numPartitions: PARTITIONS }, { topic: "coop-t", numPartitions: PARTITIONS }] });
  await admin.disconnect();
});

afterAll(async () => {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

function consumer(name: string, group: string, topic: string, extra: string[]): LineChild {
  const c = LineChild.spawn(name, [
    "kcat", "-b", broker.kafka, "-G", group, topic, "-u", "-f", "%p|%o|%s\n",
    "-X", "auto.offset.reset=earliest", "-X", "heartbeat.interval.ms=200", ...extra,
  ]);
  children.push(c);
  return c;
}

/** Eager protocol: kcat's "% Group … rebalanced (memberid …): assigned: t [0], t [3]" lines. */
function eagerEvents(c: LineChild): Array<{ kind: "assigned" | "revoked"; partitions: number[] }> {
  return c.stderr
    .split("\n")
    .filter((l) => l.includes("rebalanced") && (l.includes("assigned:") || l.includes("revoked:")))
    .map((l) => ({ kind: l.includes("assigned:") ? "assigned" : "revoked", partitions: [...l.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b) }));
}

/** Cooperative protocol: "incremental assignment of N partition(s) (…): t [2], t [1]" / "incremental revoke of …". */
function incrementalEvents(c: LineChild): Array<{ kind: "assigned" | "revoked"; partitions: number[] }> {
  return c.stderr
    .split("\n")
    .filter((l) => l.includes("rebalanced: incremental"))
    .map((l) => ({ kind: l.includes("incremental assignment") ? "assigned" : "revoked", partitions: [...l.split("):").slice(1).join("):").matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])) }));
}

function holding(events: Array<{ kind: "assigned" | "revoked"; partitions: number[] }>, incremental: boolean): number[] {
  const held = new Set<number>();
  for (const e of events) {
    if (!incremental && e.kind === "assigned") held.clear();
    for (const p of e.partitions) e.kind === "assigned" ? held.add(p) : held.delete(p);
  }
  return [...held].sort((a, b) => a - b);
}

const ALL = [...Array(PARTITIONS).keys()];

test("static membership: a kcat member killed and restarted within its session gets its partitions back; the other one never rebalances (KIP-345)", async () => {
  const opts = (instance: string) => ["-X", "session.timeout.ms=10000", "-X", `group.instance.id=${instance}`];
  const a = consumer("a", "static-g", "static-t", opts("inst-a"));
  const b = consumer("b", "static-g", "static-t", opts("inst-b"));
  // Split, and the group settled on it (Stable with both): a split printed during the first
  // generation can still be followed by the rebalance b's join asked for, which a2 would then meet.
  await waitFor("a and b to split the partitions in a stable group", [a, b], async () => {
    const [pa, pb] = [holding(eagerEvents(a), false), holding(eagerEvents(b), false)];
    if (!(pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort((x, y) => x - y).join() === ALL.join())) return false;
    const g = (await describe("static-g")).groups[0];
    return g?.state === "Stable" && g.members.length === 2;
  }, { describe: () => `a: ${a.stderr}\nb: ${b.stderr}` });
  const before = holding(eagerEvents(a), false);
  const bEvents = eagerEvents(b).length;

  a.kill("SIGKILL"); // a crash: no LeaveGroup (a static member sends none anyway)
  await a.exited;
  const a2 = consumer("a2", "static-g", "static-t", opts("inst-a"));
  await waitFor("the restarted member to be assigned", [a2], () => holding(eagerEvents(a2), false).length > 0, { describe: () => a2.stderr });
  expect(holding(eagerEvents(a2), false)).toEqual(before);
  // A rebalance would have made b revoke (eager) within a heartbeat or two: give it several.
  await Bun.sleep(1500);
  expect(eagerEvents(b).length).toBe(bEvents);
  expect(b.stderr).not.toContain("revoked");
  const { groups } = await describe("static-g");
  expect([groups[0]!.state, groups[0]!.members.length]).toEqual(["Stable", 2]);
  expect(broker.stderr()).toContain("static member inst-a rejoined in Stable");

  // A second process with b's instance id: the running one is fenced and stops.
  const b2 = consumer("b2", "static-g", "static-t", opts("inst-b"));
  await waitFor("the first inst-b to be fenced", [b, b2], () => b.stderr.includes("Static consumer fenced by other consumer with same group.instance.id"), {
    describe: () => `b: ${b.stderr}\nb2: ${b2.stderr}`,
  });
  await waitFor("b2 to hold b's partitions", [b2], () => holding(eagerEvents(b2), false).length > 0, { describe: () => b2.stderr });
  expect(holding(eagerEvents(b2), false)).toEqual(ALL.filter((p) => !before.includes(p)));
  for (const c of [a2, b, b2]) c.kill("SIGTERM");
  await Promise.all([a2.exited, b.exited, b2.exited]);
}, 60_000);

test("cooperative-sticky: three kcat members join one by one; only moving partitions are revoked, and the end is disjoint and complete (KIP-429)", async () => {
  const opts = ["-X", "session.timeout.ms=6000", "-X", "partition.assignment.strategy=cooperative-sticky"];
  const members: LineChild[] = [];
  for (const name of ["c1", "c2", "c3"]) {
    members.push(consumer(name, "coop-g", "coop-t", opts));
    const n = members.length;
    await waitFor(`${n} member(s) to share every partition`, members, async () => {
      const held = members.map((m) => holding(incrementalEvents(m), true));
      if (held.some((h) => h.length === 0) || held.flat().sort((x, y) => x - y).join() !== ALL.join()) return false;
      const { groups } = await describe("coop-g");
      return groups[0]!.state === "Stable" && groups[0]!.members.length === n;
    }, { describe: () => members.map((m) => `${m.name}: ${m.stderr}`).join("\n") });
  }
  for (const m of members) {
    expect(m.stderr).toContain("COOPERATIVE rebalance protocol");
    // Sticky and incremental: nothing revoked comes back to the same member, and the first
    // member kept some of its partitions throughout (an eager protocol revokes everything).
    const events = incrementalEvents(m);
    const revoked = new Set(events.filter((e) => e.kind === "revoked").flatMap((e) => e.partitions));
    const assigned = events.filter((e) => e.kind === "assigned").flatMap((e) => e.partitions);
    expect(assigned.length).toBe(new Set(assigned).size);
    for (const p of revoked) expect(holding(events, true)).not.toContain(p);
  }
  expect(holding(incrementalEvents(members[0]!), true).length).toBe(PARTITIONS / 3);

  // A member leaves (kcat's LeaveGroup on SIGTERM): the two others take its partitions over
  // without giving up any of their own (an eager rebalance would revoke everything first).
  const [c1, c2, c3] = members as [LineChild, LineChild, LineChild];
  const leaving = holding(incrementalEvents(c3), true);
  const revokedBefore = [c1, c2].map((m) => incrementalEvents(m).filter((e) => e.kind === "revoked").length);
  const keptBefore = [c1, c2].map((m) => holding(incrementalEvents(m), true));
  c3.kill("SIGTERM");
  await c3.exited;
  await waitFor("the two members left to hold every partition", [c1, c2], async () => {
    const held = [c1, c2].map((m) => holding(incrementalEvents(m), true));
    if (held.flat().sort((x, y) => x - y).join() !== ALL.join()) return false;
    const { groups } = await describe("coop-g");
    return groups[0]!.state === "Stable" && groups[0]!.members.length === 2;
  }, { describe: () => [c1, c2].map((m) => `${m.name}: ${m.stderr}`).join("\n") });
  expect([c1, c2].map((m) => incrementalEvents(m).filter((e) => e.kind === "revoked").length)).toEqual(revokedBefore);
  [c1, c2].forEach((m, i) => {
    const now = holding(incrementalEvents(m), true);
    for (const p of keptBefore[i]!) expect(now).toContain(p);
    for (const p of now.filter((q) => !keptBefore[i]!.includes(q))) expect(leaving).toContain(p);
  });
  for (const m of [c1, c2]) m.kill("SIGTERM");
  await Promise.all([c1.exited, c2.exited]);
}, 60_000);

async function describe(group: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.describeGroups([group]);
  } finally {
    await admin.disconnect();
  }
}
