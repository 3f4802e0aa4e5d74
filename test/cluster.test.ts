// Cluster mode end to end (issue #19): etcd and three brokers on this machine, kcat as the client.
//
// - Replication factor 3, acks=all, min.insync.replicas=2 (the default at RF 3): the leader is
//   SIGKILLed three times while kcat produces (idempotent); afterwards every acknowledged value is
//   there exactly once, in order, and every replica holds the same batches byte for byte; the time from each kill to the first
//   acknowledgement by the new leader is printed.
// - A follower stopped (SIGSTOP) past replica.lag.time.max.ms leaves the ISR and comes back after
//   SIGCONT; with two of three stopped, an acks=all produce is refused NOT_ENOUGH_REPLICAS and
//   nothing is acknowledged.
// - etcd stopped: the brokers go on serving writes and reads with the leaders they have.
// - The group coordinator killed while a client commits: every acknowledged commit is there on
//   the new coordinator (the leader of the group's __consumer_offsets partition).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { etcdMissing } from "./etcd-harness.ts";
import { kcat, streamctl } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";
import { TestCluster } from "./cluster-harness.ts";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import {
  FindCoordinator,
  OffsetCommit,
  OffsetFetch,
  Produce,
  defaultFindCoordinatorRequest,
  defaultOffsetCommitRequest,
  defaultOffsetFetchRequest,
  defaultProduceRequest,
} from "../net/protocol/messages/index.ts";

const skip = etcdMissing();

/** The batches of a partition on a broker's disk, concatenated (the runway's zeros left out). */
function storedLog(dataDir: string, topic: string, partition: number): Buffer {
  const dir = join(dataDir, "topics", topic, String(partition));
  const parts: Buffer[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".log")).sort()) {
    const bytes = readFileSync(join(dir, f));
    let pos = 0;
    while (pos + 12 <= bytes.length && bytes.readInt32BE(pos + 8) > 0) pos += 12 + bytes.readInt32BE(pos + 8);
    parts.push(bytes.subarray(0, Math.min(pos, bytes.length)));
  }
  return Buffer.concat(parts);
}

/** Re-checks `get` until it gives a value (bounded: the replicas catch up within seconds). */
async function eventually<T>(get: () => T | null, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** kcat -P on one partition with delivery reports: which values were acknowledged, in order. */
class AckedProducer {
  readonly acked: Array<{ value: string; offset: number; at: number }> = [];
  private readonly sent: string[] = [];
  private reports = 0;
  private readonly proc;
  private readonly reading: Promise<void>;
  private timer: ReturnType<typeof setInterval> | null;

  constructor(bootstrap: string, topic: string, partition: number) {
    this.proc = Bun.spawn(
      ["kcat", "-b", bootstrap, "-P", "-t", topic, "-p", String(partition), "-v", "-v", "-X", "acks=all", "-X", "enable.idempotence=true", "-X", "max.in.flight=1", "-X", "linger.ms=2",
        "-X", "message.timeout.ms=120000", "-X", "message.send.max.retries=1000000", "-X", "retry.backoff.ms=50", "-X", "topic.metadata.refresh.interval.ms=500",
        "-X", "socket.connection.setup.timeout.ms=1000", "-X", "reconnect.backoff.ms=10", "-X", "reconnect.backoff.max.ms=200"],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    this.reading = this.read();
    this.timer = setInterval(() => this.write(2), 5);
  }

  private write(n: number): void {
    let text = "";
    for (let i = 0; i < n; i++) {
      const v = `v${this.sent.length}`;
      this.sent.push(v);
      text += `${v}\n`;
    }
    this.proc.stdin.write(text);
    this.proc.stdin.flush();
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of this.proc.stderr) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /Message delivered to partition \d+ \(offset (\d+)\)/.exec(line);
        if (m) this.acked.push({ value: this.sent[this.reports++]!, offset: Number(m[1]), at: performance.now() });
        else if (/[Dd]elivery failed/.test(line)) this.reports++;
      }
    }
  }

  /** Resolves at the first acknowledgement after `since` (performance.now()). */
  async ackAfter(since: number, timeoutMs = 30_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const a = this.acked.find((x) => x.at > since);
      if (a) return a.at;
      if (performance.now() > deadline) throw new Error("no acknowledgement after the kill");
      await Bun.sleep(10);
    }
  }

  async finish(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.proc.stdin.end();
    await this.proc.exited;
    await this.reading;
  }
}

describe.skipIf(skip !== null)("cluster mode (etcd + 3 brokers)", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ brokers: 3, replicaLagMs: 3000 });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test("RF 3, acks=all: SIGKILL of the leader three times loses no acknowledged record, and the replicas agree", async () => {
    const created = await streamctl(["topics", "create", "ha", "--partitions", "1", "--broker", cluster.address(1)]);
    expect([created.code, created.stderr]).toEqual([0, "created topic ha with 1 partition\n"]);
    let meta = await cluster.waitFor("ha", (m) => m[0]!.isr.length === 3, "3 in-sync replicas");
    expect(meta[0]!.replicas.sort()).toEqual([1, 2, 3]);
    const producer = new AckedProducer(cluster.bootstrap, "ha", 0);
    const failovers: number[] = [];
    for (let round = 0; round < 3; round++) {
      await producer.ackAfter(performance.now()); // it is writing
      const leader = meta[0]!.leader;
      await cluster.kill9(leader);
      const killedAt = performance.now(); // the leader is gone: any ack after this is the new one's
      failovers.push((await producer.ackAfter(killedAt)) - killedAt);
      meta = await cluster.waitFor("ha", (m) => m[0]!.leader !== leader && m[0]!.leader >= 0, "a new leader");
      if (round === 0) {
        // The control plane says so: the dead broker, the partition under-replicated, an election.
        const http = cluster.brokers.get(meta[0]!.leader)!.http;
        const view = (await (await fetch(`http://${http}/v1/cluster`)).json()) as { brokers: Array<{ id: number; alive: boolean }>; underReplicated: Array<{ topic: string }> };
        expect(view.brokers.find((b) => b.id === leader)?.alive).toBe(false);
        expect(view.underReplicated.map((p) => p.topic)).toContain("ha");
        const controller = cluster.brokers.get((await cluster.metadataController())!)!.http;
        expect(await (await fetch(`http://${controller}/metrics`)).text()).toMatch(/streamctl_cluster_leader_elections_total [1-9]/);
        const status = await streamctl(["cluster", "status", "--json", "--broker", cluster.address(meta[0]!.leader)]);
        const doc = JSON.parse(status.stdout) as { brokers: Array<{ id: number; alive: boolean }>; underReplicated: Array<{ topic: string }> };
        expect([status.code, doc.brokers.find((b) => b.id === leader)?.alive, doc.underReplicated.some((p) => p.topic === "ha")]).toEqual([0, false, true]);
      }
      await cluster.startBroker(leader);
      meta = await cluster.waitFor("ha", (m) => m[0]!.isr.length === 3, "the restarted broker back in the ISR");
    }
    await producer.finish();
    console.log(`failover, kill to the new leader's first ack: ${failovers.map((ms) => `${Math.round(ms)} ms`).join(", ")}`);
    expect(producer.acked.length).toBeGreaterThan(100);

    // Every acknowledged value at its acknowledged offset; nothing else in between but retries.
    const read = await kcat(cluster.bootstrap, ["-C", "-t", "ha", "-p", "0", "-o", "beginning", "-e", "-f", "%o %s\n"], { timeoutMs: 60_000 });
    const atOffset = new Map(read.stdout.trim().split("\n").map((l) => [Number(l.split(" ")[0]), l.split(" ")[1]!]));
    const lost = producer.acked.filter((a) => atOffset.get(a.offset) !== a.value);
    expect(lost).toEqual([]);
    // Exactly once and in order: librdkafka's idempotent producer retries with its sequence
    // numbers, and the new leader knows them (followers keep producers' state as they replicate).
    const seen = new Set<number>();
    let last = -1;
    let outOfOrder = 0;
    let repeated = 0;
    for (const [, v] of [...atOffset.entries()].sort((a, b) => a[0] - b[0])) {
      const n = Number(v.slice(1));
      if (seen.has(n)) repeated++;
      else if (n < last) outOfOrder++;
      seen.add(n);
      last = Math.max(last, n);
    }
    expect(outOfOrder).toBe(0);
    expect(repeated).toBe(0);
    console.log(`acknowledged ${producer.acked.length}, stored ${atOffset.size}, repeated by retries ${repeated}`);

    // Every replica holds the same batches, byte for byte, once all three are in sync again.
    await cluster.waitFor("ha", (m) => m[0]!.isr.length === 3, "ISR of 3");
    const logs = await eventually(() => {
      const copies = [1, 2, 3].map((id) => storedLog(cluster.dataDir(id), "ha", 0));
      return copies.every((c) => Buffer.compare(c, copies[0]!) === 0) ? copies : null;
    }, "the three replicas to hold the same batches");
    expect(logs[0]!.length).toBeGreaterThan(0);
  }, 240_000);

  test("a stopped follower leaves the ISR and comes back; with two stopped, acks=all is refused", async () => {
    const created = await streamctl(["topics", "create", "isr", "--partitions", "1", "--broker", cluster.address(1)]);
    expect([created.code, created.stderr]).toEqual([0, "created topic isr with 1 partition\n"]);
    let meta = await cluster.waitFor("isr", (m) => m[0]!.isr.length === 3, "3 in-sync replicas");
    const leader = meta[0]!.leader;
    const [f1, f2] = meta[0]!.replicas.filter((id) => id !== leader) as [number, number];
    const produceOnce = async () => {
      const c = await RawConnection.open(cluster.address(leader));
      try {
        const res = await c.request(Produce, 9, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: "isr", partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: new TextEncoder().encode("x") }] }) }] }] });
        return res.responses[0]!.partitionResponses[0]!;
      } finally {
        c.close();
      }
    };
    expect((await produceOnce()).errorCode).toBe(0);
    cluster.pause(f1);
    meta = await cluster.waitFor("isr", (m) => !m[0]!.isr.includes(f1), `broker ${f1} out of the ISR`, 15_000);
    expect((await produceOnce()).errorCode).toBe(0); // two in sync: enough
    cluster.pause(f2);
    await cluster.waitFor("isr", (m) => m[0]!.isr.length === 1, "an ISR of the leader alone", 15_000);
    const refused = await produceOnce();
    expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    const before = await kcat(cluster.address(leader), ["-C", "-t", "isr", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"]);
    cluster.resume(f1);
    cluster.resume(f2);
    await cluster.waitFor("isr", (m) => m[0]!.isr.length === 3, "both followers back in the ISR", 20_000);
    const after = await kcat(cluster.address(leader), ["-C", "-t", "isr", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"]);
    expect(after.stdout).toBe(before.stdout); // the refused batch was never appended
    expect(after.stdout.trim().split("\n")).toHaveLength(2);
  }, 120_000);

  test("with etcd stopped, the brokers keep serving writes and reads with the leaders they have", async () => {
    const created = await streamctl(["topics", "create", "calm", "--partitions", "3", "--broker", cluster.address(1)]);
    expect([created.code, created.stderr]).toEqual([0, "created topic calm with 3 partitions\n"]);
    const before = await cluster.waitFor("calm", (m) => m.every((p) => p.isr.length === 3), "3 in-sync replicas");
    cluster.etcd.pause();
    try {
      const lines = Array.from({ length: 300 }, (_, i) => `calm-${i}`).join("\n");
      const produced = await kcat(cluster.bootstrap, ["-P", "-t", "calm", "-X", "acks=all"], { input: lines, timeoutMs: 30_000 });
      expect(produced.code).toBe(0);
      const read = await kcat(cluster.bootstrap, ["-C", "-t", "calm", "-o", "beginning", "-e", "-f", "%s\n"], { timeoutMs: 30_000 });
      expect(read.stdout.trim().split("\n").sort()).toEqual(lines.split("\n").sort());
      const during = await cluster.metadata("calm");
      expect(during.map((p) => [p.leader, p.leaderEpoch])).toEqual(before.map((p) => [p.leader, p.leaderEpoch]));
    } finally {
      cluster.etcd.resume();
    }
  }, 90_000);

  test("the group coordinator killed during commits: every acknowledged commit is on the new coordinator", async () => {
    const created = await streamctl(["topics", "create", "work", "--partitions", "2", "--broker", cluster.address(1)]);
    expect(created.code).toBe(0);
    const group = "billing";
    /** The coordinator's id, once some live broker names a live one. */
    const coordinator = async (): Promise<number> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        for (const id of cluster.live()) {
          const c = await RawConnection.open(cluster.address(id)).catch(() => null);
          if (c === null) continue;
          try {
            const res = await c.request(FindCoordinator, 3, { ...defaultFindCoordinatorRequest(), key: group, keyType: 0 });
            if (res.errorCode === 0 && cluster.live().includes(res.nodeId)) return res.nodeId;
          } catch {
            // a broker going away: ask another
          } finally {
            c.close();
          }
        }
        if (Date.now() > deadline) throw new Error("no coordinator for the group");
        await Bun.sleep(100);
      }
    };
    let acked = -1;
    let lastError = 0;
    const commit = async (id: number, offset: number): Promise<boolean> => {
      const c = await RawConnection.open(cluster.address(id)).catch(() => null);
      if (c === null) return false;
      try {
        const partitions = [0, 1].map((partitionIndex) => ({ partitionIndex, committedOffset: BigInt(offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null }));
        const res = await c.request(OffsetCommit, 8, { ...defaultOffsetCommitRequest(), groupId: group, generationIdOrMemberEpoch: -1, topics: [{ name: "work", partitions }] }, 5000);
        lastError = res.topics[0]!.partitions.find((p) => p.errorCode !== 0)?.errorCode ?? 0;
        return lastError === 0;
      } catch {
        return false; // the coordinator died under us: not acknowledged
      } finally {
        c.close();
      }
    };
    let first = await coordinator();
    // A new coordinator loads its partition first (COORDINATOR_LOAD_IN_PROGRESS: clients retry).
    // NOT_COORDINATOR: the partition's leadership moved after FindCoordinator answered (the test
    // before this one froze etcd, and leases may still be settling): a client asks again.
    const ready = Date.now() + 20_000;
    while (!(await commit(first, 1)) && Date.now() < ready) {
      expect([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR] as number[]).toContain(lastError);
      if (lastError === ErrorCode.NOT_COORDINATOR) {
        const moved = await coordinator();
        if (moved !== first) console.log(`the group's coordinator moved from node ${first} to node ${moved} before the first commit`);
        first = moved;
      }
      await Bun.sleep(100);
    }
    for (let n = 1; n <= 40; n++) if (await commit(first, n)) acked = n;
    expect([acked, lastError]).toEqual([40, 0]);
    // Commit on while the coordinator is killed: what was acknowledged must survive.
    const committing = (async () => {
      for (let n = 41; n <= 400; n++) {
        if (await commit(first, n)) acked = n;
        else break;
      }
    })();
    await Bun.sleep(30);
    await cluster.kill9(first);
    await committing;
    const next = await coordinator();
    expect(next).not.toBe(first);
    const deadline = Date.now() + 20_000;
    let fetched: number[] = [];
    for (;;) {
      const c = await RawConnection.open(cluster.address(next));
      try {
        const res = await c.request(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId: group, topics: [{ name: "work", partitionIndexes: [0, 1] }] });
        if (res.errorCode === 0) {
          fetched = res.topics[0]!.partitions.map((p) => Number(p.committedOffset));
          break;
        }
        // COORDINATOR_LOAD_IN_PROGRESS while the new coordinator loads the partition
        expect([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR] as number[]).toContain(res.errorCode);
      } finally {
        c.close();
      }
      if (Date.now() > deadline) throw new Error("the new coordinator never answered");
      await Bun.sleep(100);
    }
    console.log(`commits acknowledged before and during the kill: ${acked}; on the new coordinator: ${JSON.stringify(fetched)}`);
    for (const offset of fetched) expect(offset).toBeGreaterThanOrEqual(acked);
    await cluster.startBroker(first);
  }, 120_000);
});
