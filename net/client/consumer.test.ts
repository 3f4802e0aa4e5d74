// The Consumer against the real broker (the compiled binary as a child, test/harness.ts), used as a
// library user would: start and stop offsets, several partitions and topics, the three ways to
// read, and group membership (split, commit, resume, leave), checked through the control plane.
// Issue #17.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Codec } from "../../core/batch/header.ts";
import { type BrokerProcess, removeDir, startBroker } from "../../test/harness.ts";
import { KafkaClient } from "./client.ts";
import { type Assignment, Consumer, type ConsumerOptions, type TopicRecordView } from "./consumer.ts";
import { Producer } from "./producer.ts";
import { ConsumerGroupHeartbeat, OffsetCommit } from "../protocol/messages/index.ts";
import { HiddenApisClient } from "../testing/hidden-apis-client.ts";

const T0 = 1_700_000_000_000;
const utf8 = new TextEncoder();
const text = new TextDecoder();

let broker: BrokerProcess;
let client: KafkaClient;

beforeAll(async () => {
  // The classic protocol's initial delay is off; KIP-848 members heartbeat often (a member waiting
  // for partitions another one releases hears of them at its next heartbeat).
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0", "--group-consumer-heartbeat-interval-ms", "300"] });
  client = newClient();
  await createTopic("ten", 1);
  await produce("ten", 0, 10, (i) => `r${i}`, (i) => T0 + i * 1000);
  await createTopic("three", 3);
  for (let p = 0; p < 3; p++) await produce("three", p, 5 + p, (i) => `p${p}-${i}`);
});

afterAll(async () => {
  await client.close();
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

function newClient(): KafkaClient {
  const [host, port] = broker.kafka.split(":");
  return new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }], clientId: "consumer-test" });
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const res = await fetch(`http://${broker.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name, partitions }) });
  expect(res.status).toBe(201);
}

async function produce(topic: string, partition: number, n: number, value: (i: number) => string, timestamp: (i: number) => number = () => Date.now()): Promise<void> {
  const producer = new Producer(client, { codec: Codec.None, acks: -1, lingerMs: 0 });
  try {
    await producer.prepare(topic);
    for (let i = 0; i < n; i++) producer.append(topic, partition, null, utf8.encode(value(i)), null, timestamp(i));
    expect((await producer.flush()).failed).toBe(0);
  } finally {
    producer.close();
  }
}

async function group(id: string): Promise<{ state: string; protocol: string; members: unknown[]; offsets: { topic: string; partitions: { partition: number; committed: number }[] }[] }> {
  const res = await fetch(`http://${broker.http}/v1/groups/${id}`);
  return (await res.json()) as never;
}

/** Values read by `run` until the consumer is done, and its positions. */
async function readAll(opts: ConsumerOptions, visit: (r: TopicRecordView) => boolean | void = () => {}): Promise<{ values: string[]; positions: Map<string, Map<number, number>> }> {
  const consumer = new Consumer(client, opts);
  const values: string[] = [];
  try {
    await consumer.run((r) => {
      values.push(text.decode(r.buf.subarray(r.valueStart, r.valueEnd)));
      return visit(r);
    });
  } finally {
    await consumer.close();
  }
  return { values, positions: consumer.positions() };
}

const range = (from: number, to: number, prefix = "r") => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

describe("start and stop offsets", () => {
  test.each([
    ["earliest", { kind: "earliest" }, range(0, 10)],
    ["latest", { kind: "latest" }, []],
    ["an offset", { kind: "offset", offset: 7 }, range(7, 10)],
    ["a timestamp between records", { kind: "timestamp", ms: T0 + 4500 }, range(5, 10)],
    ["a timestamp after every record", { kind: "timestamp", ms: T0 + 60_000 }, []],
    ["the last 3", { kind: "last", count: 3 }, range(7, 10)],
    ["the last 30 of 10", { kind: "last", count: 30 }, range(0, 10)],
    ["exact offsets", { kind: "exact", offsets: new Map([["ten", new Map([[0, 8]])]]) }, range(8, 10)],
  ] as [string, ConsumerOptions["from"], string[]][])("from %s, stopping at the end", async (_name, from, want) => {
    const { values, positions } = await readAll({ topics: ["ten"], from, stopAtEnd: true });
    expect(values).toEqual(want);
    expect(positions).toEqual(new Map([["ten", new Map([[0, 10]])]]));
  });

  test("stopAt an offset or a time, whichever is first with stopAtEnd", async () => {
    expect((await readAll({ topics: ["ten"], from: { kind: "offset", offset: 2 }, stopAt: { kind: "offset", offset: 4 } })).values).toEqual(["r2", "r3"]);
    expect((await readAll({ topics: ["ten"], stopAt: { kind: "timestamp", ms: T0 + 3000 }, stopAtEnd: true })).values).toEqual(range(0, 3));
    expect((await readAll({ topics: ["ten"], from: { kind: "offset", offset: 8 }, stopAt: { kind: "offset", offset: 99 }, stopAtEnd: true })).values).toEqual(["r8", "r9"]);
  });

  test("stopAtEnd stops at the end seen when assigned; without a stop, a record produced later arrives", async () => {
    await createTopic("later", 1);
    await produce("later", 0, 2, (i) => `a${i}`);
    const follower = new Consumer(client, { topics: ["later"], maxWaitMs: 100 });
    const seen: string[] = [];
    const following = follower.run((r) => void seen.push(text.decode(r.buf.subarray(r.valueStart, r.valueEnd))), { until: () => seen.length >= 3 });
    const bounded = await readAll({ topics: ["later"], stopAtEnd: true });
    await produce("later", 0, 1, () => "a2");
    await following;
    await follower.close();
    expect(bounded.values).toEqual(["a0", "a1"]);
    expect(seen).toEqual(["a0", "a1", "a2"]);
    expect(follower.positions()).toEqual(new Map([["later", new Map([[0, 3]])]]));
  });

  test("an offset past the end is reset to the end and reported", async () => {
    const resets: [string, number, number, number][] = [];
    const consumer = new Consumer(client, { topics: ["ten"], from: { kind: "offset", offset: 1000 }, maxWaitMs: 100, onReset: (...a) => void resets.push(a) });
    await consumer.run(() => {}, { until: () => resets.length > 0 });
    await consumer.close();
    expect(resets).toEqual([["ten", 0, 1000, 10]]);
  });
});

describe("partitions and topics", () => {
  test("every partition is read, each in order; positions per partition", async () => {
    const { values, positions } = await readAll({ topics: ["three"], stopAtEnd: true });
    for (let p = 0; p < 3; p++) expect(values.filter((v) => v.startsWith(`p${p}-`))).toEqual(range(0, 5 + p, `p${p}-`));
    expect(values).toHaveLength(18);
    expect(positions).toEqual(new Map([["three", new Map([[0, 5], [1, 6], [2, 7]])]]));
  });

  test("chosen partitions only", async () => {
    const { values } = await readAll({ topics: ["three"], partitions: new Map([["three", [2]]]), stopAtEnd: true });
    expect(values).toEqual(range(0, 7, "p2-"));
  });

  test("several topics in one consumer, each record naming its topic and partition", async () => {
    const where: string[] = [];
    const { values } = await readAll({ topics: ["ten", "three"], from: { kind: "last", count: 1 }, stopAtEnd: true }, (r) => void where.push(`${r.topic}/${r.partition}@${r.offset}`));
    expect(values.sort()).toEqual(["p0-4", "p1-5", "p2-6", "r9"]);
    expect(where.sort()).toEqual(["ten/0@9", "three/0@4", "three/1@5", "three/2@6"]);
  });
});

describe("ways to read", () => {
  test("a visitor returning false stops after that record; positions count only what it saw", async () => {
    let n = 0;
    const { values, positions } = await readAll({ topics: ["ten"] }, () => ++n < 4);
    expect(values).toEqual(range(0, 4));
    expect(positions).toEqual(new Map([["ten", new Map([[0, 4]])]]));
  });

  test("for await: copies; break stops after the last record taken", async () => {
    const consumer = new Consumer(client, { topics: ["ten"], from: { kind: "offset", offset: 3 } });
    const got: string[] = [];
    for await (const r of consumer) {
      expect([r.topic, r.partition, r.timestamp]).toEqual(["ten", 0, T0 + r.offset * 1000]);
      got.push(text.decode(r.value!));
      if (got.length === 2) break;
    }
    expect(await consumer.poll()).toBeNull();
    await consumer.close();
    expect(got).toEqual(["r3", "r4"]);
    expect(consumer.positions()).toEqual(new Map([["ten", new Map([[0, 5]])]]));
  });

  test("poll and walk: one fetch answer at a time, then null once done", async () => {
    const consumer = new Consumer(client, { topics: ["three"], stopAtEnd: true });
    let records = 0;
    let polls = 0;
    for (let chunks = await consumer.poll(); chunks !== null; chunks = await consumer.poll()) {
      polls++;
      for (const c of chunks) {
        expect(c.topic).toBe("three");
        expect(c.highWatermark).toBe(5 + c.partition);
        expect(consumer.walk(c, () => void records++)).toBe(true);
      }
    }
    await consumer.close();
    expect(records).toBe(18);
    expect(polls).toBeGreaterThan(0);
  });
});

// Every group test under both protocols: "auto" speaks KIP-848 to this broker, "classic" JoinGroup/SyncGroup.
describe.each(["auto", "classic"] as const)("groups (protocol %s)", (protocol) => {
  const expected = protocol === "auto" ? "consumer" : "classic";
  const id = (name: string) => `${name}-${protocol}`;

  test("close commits what was read and leaves; the next member resumes there; --from only where nothing is committed", async () => {
    let n = 0;
    const first = await readAll({ topics: ["ten"], group: { id: id("resume"), protocol } }, () => ++n < 4);
    expect(first.values).toEqual(range(0, 4));
    const g = await group(id("resume"));
    expect(g.members).toEqual([]);
    expect(g.offsets).toEqual([{ topic: "ten", partitions: [expect.objectContaining({ partition: 0, committed: 4 })] }]);
    const second = await readAll({ topics: ["ten"], group: { id: id("resume"), protocol }, from: { kind: "latest" }, stopAtEnd: true });
    expect(second.values).toEqual(range(4, 10));
    expect((await group(id("resume"))).offsets[0]!.partitions[0]!.committed).toBe(10);
    const other = await readAll({ topics: ["ten"], group: { id: id("resume-other"), protocol }, from: { kind: "offset", offset: 8 }, stopAtEnd: true });
    expect(other.values).toEqual(["r8", "r9"]);
  });

  test("after a visitor throws, poll() throws it again and close commits nothing, but still leaves", async () => {
    const consumer = new Consumer(client, { topics: ["ten"], group: { id: id("thrown"), protocol }, stopAtEnd: true });
    const boom = new Error("boom");
    let n = 0;
    await expect(consumer.run(() => {
      if (++n === 3) throw boom;
    })).rejects.toBe(boom);
    await expect(consumer.poll()).rejects.toBe(boom);
    await consumer.close();
    // Left, with nothing committed: an empty group with no offsets is forgotten at once.
    expect(await group(id("thrown"))).toMatchObject({ error: { code: "GROUP_ID_NOT_FOUND" } });
  });

  test("autoCommit false: only commit() commits", async () => {
    const consumer = new Consumer(client, { topics: ["ten"], group: { id: id("manual"), protocol, autoCommit: false }, stopAtEnd: true });
    await consumer.run(() => {});
    expect((await group(id("manual"))).offsets[0]!.partitions[0]!.committed).toBeNull();
    await consumer.commit(new Map([["ten", new Map([[0, 6]])]]));
    await consumer.close();
    expect((await group(id("manual"))).offsets[0]!.partitions[0]!.committed).toBe(6);
  });

  test("a second member takes half the partitions: the first revokes, commits, rejoins; each then reads only its own; close commits and leaves", async () => {
    const shared = id("shared");
    await createTopic(shared, 4);
    for (let p = 0; p < 4; p++) await produce(shared, p, 50, (i) => `s${p}-${i}`);
    const events: string[] = [];
    // One client for both (and the test's producer): each member talks to the coordinator on a
    // connection of its own, so b's JoinGroup, waiting for a to rejoin, holds up none of a's requests.
    const member = (name: string) => {
      const m = { name, assigned: new Map() as Assignment, values: [] as string[], consumer: null as unknown as Consumer };
      m.consumer = new Consumer(client, {
        topics: [shared],
        group: { id: id("pair"), protocol },
        maxWaitMs: 100,
        onAssigned: (a) => {
          m.assigned = a;
          events.push(`${name} assigned ${a.get(shared)?.join(",") ?? "-"}`);
        },
        onRevoked: (a) => void events.push(`${name} revoked ${a.get(shared)?.join(",") ?? "-"}`),
      });
      return m;
    };
    const keep = (m: ReturnType<typeof member>) => (r: TopicRecordView) => void m.values.push(text.decode(r.buf.subarray(r.valueStart, r.valueEnd)));
    const a = member("a");
    const b = member("b");
    const split = () => [a, b].every((m) => (m.assigned.get(shared)?.length ?? 0) === 2);
    const aRunning = a.consumer.run(keep(a), { until: split });
    await waitUntil(() => a.values.length === 200);
    const bRunning = b.consumer.run(keep(b), { until: split });
    await Promise.all([aRunning, bRunning]);
    expect([a, b].map((m) => m.consumer.groupProtocol)).toEqual([expected, expected]);
    // Classic: a gives up everything, then takes its half back. KIP-848: a gives up only b's half
    // and reads on in its own (b may first be assigned nothing, while a still holds every partition).
    const revokedByA = protocol === "classic" ? "0,1,2,3" : b.assigned.get(shared)!.join(",");
    expect(events.filter((e) => e.startsWith("a "))).toEqual(["a assigned 0,1,2,3", `a revoked ${revokedByA}`, `a assigned ${a.assigned.get(shared)!.join(",")}`]);
    expect([...a.assigned.get(shared)!, ...b.assigned.get(shared)!].sort()).toEqual([0, 1, 2, 3]);
    // What a read before the rebalance was committed then: b starts after it.
    expect(b.values).toEqual([]);
    for (let p = 0; p < 4; p++) await produce(shared, p, 10, (i) => `s${p}-${50 + i}`);
    const total = () => a.values.length + b.values.length;
    await Promise.all([a, b].map((m) => m.consumer.run(keep(m), { until: () => total() >= 240 })));
    expect([...a.values, ...b.values].sort()).toEqual(Array.from({ length: 4 }, (_, p) => range(0, 60, `s${p}-`)).flat().sort());
    for (const m of [a, b]) expect(new Set(m.values.slice(m === a ? 200 : 0).map((v) => Number(v.slice(1, v.indexOf("-")))))).toEqual(new Set(m.assigned.get(shared)));
    await Promise.all([a, b].map((m) => m.consumer.close()));
    const g = await group(id("pair"));
    expect(g.members).toEqual([]);
    expect(g.offsets[0]!.partitions.map((p) => [p.partition, p.committed])).toEqual([0, 1, 2, 3].map((p) => [p, 60]));
  }, 60_000);
});

describe("group protocol choice", () => {
  test.each([
    ["does not advertise ConsumerGroupHeartbeat", [ConsumerGroupHeartbeat.key], new Map<number, number>()],
    ["advertises OffsetCommit up to v8 only (no member epochs)", [], new Map([[OffsetCommit.key, 8]])],
  ])("a broker that %s gets a classic member, which reads as before", async (_what, hidden, newest) => {
    const [host, port] = broker.kafka.split(":");
    const older = new HiddenApisClient({ bootstrap: [{ host: host!, port: Number(port) }], clientId: "older" }, hidden, newest);
    const id = `no-kip848-${hidden.length}`;
    try {
      const consumer = new Consumer(older, { topics: ["ten"], group: { id }, stopAtEnd: true });
      const values: string[] = [];
      let protocolWhileMember: unknown = null;
      await consumer.run((r) => {
        protocolWhileMember ??= (async () => (await group(id)).protocol)();
        values.push(text.decode(r.buf.subarray(r.valueStart, r.valueEnd)));
      });
      expect(consumer.groupProtocol).toBe("classic");
      expect(await protocolWhileMember).toBe("range"); // the classic group's assignor; a KIP-848 group says uniform
      await consumer.close();
      expect(values).toEqual(range(0, 10));
      expect((await group(id)).offsets[0]!.partitions[0]!.committed).toBe(10);
    } finally {
      await older.close();
    }
  });

  test("interrupt(): a KIP-848 join waiting for a partition another member holds stops waiting; close() then leaves", async () => {
    const a = new Consumer(client, { topics: ["ten"], group: { id: "interrupted" }, maxWaitMs: 100 });
    await a.poll(); // a joins alone and holds the one partition
    expect(a.assignment()).toEqual(new Map([["ten", [0]]]));
    let assignedB: Assignment | null = null;
    const b = new Consumer(client, { topics: ["ten"], group: { id: "interrupted" }, onAssigned: (x) => void (assignedB = x) });
    const polling = b.poll(); // joins: nothing is free, so it would wait a few heartbeats for a partition
    b.interrupt();
    expect(await polling).toEqual([]);
    expect(assignedB).toBeNull(); // it stopped waiting: nothing was assigned
    await b.close();
    expect((await group("interrupted")).members).toHaveLength(1); // b left; a stays
    await a.close();
  });

  test("a classic group with members under the id: an auto member joins it as a classic member and they split", async () => {
    await createTopic("mixed", 2);
    const assigned = new Map<string, number[]>();
    const member = (name: string, protocol: "classic" | "auto") =>
      new Consumer(client, { topics: ["mixed"], group: { id: "mixed", protocol }, maxWaitMs: 100, onAssigned: (a) => void assigned.set(name, a.get("mixed") ?? []) });
    const a = member("a", "classic");
    const b = member("b", "auto");
    const split = () => (assigned.get("a")?.length ?? 0) === 1 && (assigned.get("b")?.length ?? 0) === 1;
    const aRunning = a.run(() => {}, { until: split });
    await waitUntil(() => (assigned.get("a")?.length ?? 0) === 2);
    await Promise.all([aRunning, b.run(() => {}, { until: split })]);
    expect([a.groupProtocol, b.groupProtocol]).toEqual(["classic", "classic"]);
    expect([...assigned.get("a")!, ...assigned.get("b")!].sort()).toEqual([0, 1]);
    await Promise.all([a.close(), b.close()]);
  }, 30_000);
});

async function waitUntil(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
