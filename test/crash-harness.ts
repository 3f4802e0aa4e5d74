// Crash harness for issue #7: nothing acknowledged is ever lost across SIGKILLs of the broker.
//
// Producers write unique values to a 3-partition topic and log every acknowledgement as
// (partition, offset, value):
//   - kcat (librdkafka), one process per partition (`-p P`), acks=all, max.in.flight=1. kcat's
//     delivery reports (`-v -v`: "Message delivered to partition P (offset O)") name no value,
//     but with one partition per process and one request in flight they come in input order, so
//     the k-th report is the k-th line written. (Were that ever wrong, the check below would see
//     values at another offset: a false alarm, never a hidden loss.) kcat exits when it finds
//     every broker down ("All broker connections are down: terminating"), so each cycle runs a
//     fresh kcat per partition, as a pipeline restarting its producer would; what it had not
//     seen acknowledged when it died was never acknowledged.
//   - kafkajs in a child process (crash-kafkajs-producer.ts), acks=-1, one send at a time.
//   - our own producer (net/client, idempotent by default) in a child process
//     (crash-streamctl-producer.ts): one producer for the whole run, its retries across every
//     kill keeping their producer id and sequences, so the broker stores each value once.
//   - a committer in this process commits offsets for a group after every kill and while the
//     broker runs (OffsetCommit, generation -1), logging each acknowledged commit.
// The broker runs on one fixed port and one data dir; each cycle it starts, runs for a seeded
// random time while the producers write, and is SIGKILLed. At the end it starts once more, the
// producers finish (kcat flushes its queue on EOF), and everything is read back with kcat -C -e.
//
// Must be zero: acknowledged values missing, values at another offset than acknowledged, two
// values at one offset, order violations per producer, end offsets below the highest
// acknowledged offset + 1, committed offsets going backwards, damaged ranges reported by
// recovery (a crash must only ever tear the tail). Duplicates (a retry of a write whose ack was
// lost with the broker) are counted per producer, not failed: acks=all promises at-least-once to
// kcat and kafkajs here (a new kcat each cycle, kafkajs reconnecting as a new producer); our
// idempotent producer's must be zero (crash-cycles.test.ts asserts it, issue #20).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { seededRandom } from "../core/testing/seed.ts";
import { OffsetCommit, OffsetFetch, defaultOffsetCommitRequest, defaultOffsetFetchRequest } from "../net/protocol/messages/index.ts";
import { type BrokerProcess, REPO_ROOT, kcat, removeDir, startBroker, tempDir } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

export const PARTITIONS = 3;
const TOPIC = "crash";
const GROUP = "crash-group";

export interface CrashOptions {
  cycles: number;
  seed: number;
  /** How long the broker runs before each kill (ms), uniformly in [min, max). */
  runMsMin?: number;
  runMsMax?: number;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
}

export interface CrashFigures {
  seed: number;
  cycles: number;
  acknowledged: number;
  acknowledgedBy: Record<string, number>;
  lost: number;
  misplaced: number;
  twoValuesAtOneOffset: number;
  duplicated: number;
  /** Duplicates by producer name prefix ("kc", "kj", "sc"). */
  duplicatedBy: Record<string, number>;
  reordered: number;
  endBelowAcked: number;
  commitsAcknowledged: number;
  commitsBackwards: number;
  recoveryCuts: number;
  damagedRanges: number;
  ms: number;
  /** The first few violations, for the failure message. */
  problems: string[];
}

interface Ack {
  producer: string;
  seq: number;
  partition: number;
  offset: number;
  value: string;
}

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** One kcat -P per partition; acknowledgements parsed from its delivery reports. */
class KcatProducer {
  readonly name: string;
  private readonly proc: Subprocess<"pipe", "ignore", "pipe">;
  private readonly sent: string[] = [];
  private reports = 0;
  failed = 0;
  private timer: ReturnType<typeof setInterval>;
  private done: Promise<void>;

  constructor(
    broker: string,
    readonly partition: number,
    cycle: number,
    private readonly acks: Ack[],
  ) {
    this.name = `kc${partition}.${cycle}`;
    this.proc = Bun.spawn(
      [
        "kcat", "-b", broker, "-P", "-t", TOPIC, "-p", String(partition), "-v", "-v",
        "-X", "acks=all", "-X", "max.in.flight=1", "-X", "linger.ms=2",
        "-X", "message.timeout.ms=120000", "-X", "message.send.max.retries=1000000",
        "-X", "retry.backoff.ms=20", "-X", "reconnect.backoff.ms=10", "-X", "reconnect.backoff.max.ms=100",
        "-X", "socket.connection.setup.timeout.ms=1000", "-X", "topic.metadata.refresh.interval.ms=1000",
      ],
      { stdin: "pipe", stdout: "ignore", stderr: "pipe" },
    );
    this.done = this.readReports();
    // A steady trickle: 2 values every 5 ms (~400/s per partition), queued by librdkafka while the broker is down.
    this.timer = setInterval(() => this.write(2), 5);
  }

  private write(n: number): void {
    let text = "";
    for (let i = 0; i < n; i++) {
      const value = `${this.name}-${this.sent.length}`;
      this.sent.push(value);
      text += `${value}\n`;
    }
    try {
      this.proc.stdin.write(text);
      this.proc.stdin.flush();
    } catch {
      clearInterval(this.timer); // kcat gave up (broker down); nothing it did not report counts
    }
  }

  private async readReports(): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of this.proc.stderr) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /Message delivered to partition (\d+) \(offset (\d+)\)/.exec(line);
        if (m) {
          const seq = this.reports++;
          this.acks.push({ producer: this.name, seq, partition: Number(m[1]), offset: Number(m[2]), value: this.sent[seq]! });
        } else if (/Delivery failed|delivery failed/.test(line)) {
          this.reports++;
          this.failed++;
        }
      }
    }
  }

  /**
   * Stops writing and closes stdin: kcat flushes what it queued (broker up: every value gets a
   * report) or gives up (broker killed: what was not reported was not acknowledged).
   */
  async finish(expectAll: boolean): Promise<void> {
    clearInterval(this.timer);
    try {
      this.proc.stdin.end();
    } catch {
      // kcat is gone already
    }
    await this.proc.exited;
    await this.done;
    if (this.reports > this.sent.length || (expectAll && this.reports !== this.sent.length)) {
      throw new Error(`${this.name}: ${this.sent.length} values written, ${this.reports} delivery reports`);
    }
  }
}

/** A producer child process printing `ack <partition> <offset> <value>` lines (kafkajs, or our own client). */
class ChildProducer {
  private readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private readonly done: Promise<void>;
  stderr = "";

  constructor(
    script: string,
    broker: string,
    readonly name: string,
    private readonly acks: Ack[],
  ) {
    this.proc = Bun.spawn([process.execPath, join(REPO_ROOT, script), broker, TOPIC, String(PARTITIONS), name], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      cwd: REPO_ROOT,
    });
    void new Response(this.proc.stderr).text().then((t) => (this.stderr = t));
    this.done = this.readAcks();
  }

  private async readAcks(): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of this.proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const [, p, o, value] = buf.slice(0, nl).split(" ") as [string, string, string, string];
        buf = buf.slice(nl + 1);
        this.acks.push({ producer: this.name, seq: Number(value.slice(this.name.length + 1)), partition: Number(p), offset: Number(o), value });
      }
    }
  }

  async finish(): Promise<void> {
    this.proc.kill("SIGTERM");
    const code = await this.proc.exited;
    await this.done;
    if (code !== 0) throw new Error(`${this.name} exited ${code}: ${this.stderr.slice(-1000)}`);
  }
}

/** Commits offsets for GROUP on its own connection; remembers the last acknowledged commit per partition. */
class Committer {
  readonly acked = new Map<number, number>();
  count = 0;
  backwards = 0;
  readonly problems: string[] = [];

  async connect(broker: string): Promise<RawConnection | null> {
    return RawConnection.open(broker).catch(() => null);
  }

  /** After a restart: every acknowledged commit must still be there (or a later one). */
  async check(conn: RawConnection): Promise<void> {
    const res = await conn.request(OffsetFetch, 7, { ...defaultOffsetFetchRequest(), groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }] });
    for (const p of res.topics[0]?.partitions ?? []) {
      const want = this.acked.get(p.partitionIndex);
      if (want !== undefined && Number(p.committedOffset) < want) {
        this.backwards++;
        this.problems.push(`committed offset of partition ${p.partitionIndex} went back from ${want} to ${p.committedOffset}`);
      }
    }
  }

  /** Commits `offsets` (partition → offset, never lower than the last acked); true when acknowledged. */
  async commit(conn: RawConnection, offsets: Map<number, number>): Promise<boolean> {
    const partitions = [...offsets].map(([partitionIndex, o]) => ({
      partitionIndex,
      committedOffset: BigInt(Math.max(o, this.acked.get(partitionIndex) ?? 0)),
      committedLeaderEpoch: -1,
      commitTimestamp: -1n,
      committedMetadata: null,
    }));
    try {
      const res = await conn.request(OffsetCommit, 8, { ...defaultOffsetCommitRequest(), groupId: GROUP, generationIdOrMemberEpoch: -1, topics: [{ name: TOPIC, partitions }] }, 5000);
      if (res.topics[0]!.partitions.some((p) => p.errorCode !== 0)) return false;
    } catch {
      return false; // killed under us: not acknowledged, nothing promised
    }
    for (const p of partitions) this.acked.set(p.partitionIndex, Number(p.committedOffset));
    this.count++;
    return true;
  }
}

async function createTopic(broker: BrokerProcess): Promise<void> {
  const res = await fetch(`http://${broker.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name: TOPIC, partitions: PARTITIONS }) });
  if (!res.ok) throw new Error(`create topic: ${res.status} ${await res.text()}`);
}

async function endOffsets(broker: BrokerProcess): Promise<number[]> {
  const res = await fetch(`http://${broker.http}/v1/topics/${TOPIC}`);
  const body = (await res.json()) as { partitions: Array<{ partition: number; end: number }> };
  return body.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.end);
}

export async function runCrashCycles(opts: CrashOptions): Promise<CrashFigures> {
  const started = performance.now();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const rand = seededRandom(opts.seed);
  const runMin = opts.runMsMin ?? 400;
  const runMax = opts.runMsMax ?? 1600;
  const dataDir = tempDir("streamctl-crash-");
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = ["--kafka-listen", address];
  const acks: Ack[] = [];
  const committer = new Committer();
  const problems: string[] = [];
  let recoveryCuts = 0;
  let damagedRanges = 0;
  const noteStderr = (b: BrokerProcess) => {
    for (const line of b.stderr().split("\n")) {
      if (/recovery: \S+: cut /.test(line)) recoveryCuts++;
      if (/damaged range kept/.test(line) && !/recovery: \d+ damaged/.test(line)) {
        damagedRanges++;
        problems.push(`crash left damage in the middle of a log: ${line}`);
      }
    }
  };

  let broker = await startBroker({ dataDir, args });
  await createTopic(broker);
  let kcats: KcatProducer[] = [];
  const kafkajs = new ChildProducer("test/crash-kafkajs-producer.ts", address, "kj", acks);
  const ours = new ChildProducer("test/crash-streamctl-producer.ts", address, "sc", acks);
  try {
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      if (cycle > 0) broker = await startBroker({ dataDir, args });
      kcats = Array.from({ length: PARTITIONS }, (_, p) => new KcatProducer(address, p, cycle, acks));
      const conn = await committer.connect(address);
      if (conn) await committer.check(conn).catch((e) => problems.push(`offset fetch after restart failed: ${e}`));
      const runMs = runMin + rand(runMax - runMin);
      // While it runs: commit the highest acknowledged offset + 1 of each partition, over and over.
      let running = true;
      const commits = (async () => {
        while (running && conn && !conn.isClosed) {
          const high = new Map<number, number>();
          for (const a of acks) high.set(a.partition, Math.max(high.get(a.partition) ?? 0, a.offset + 1));
          await committer.commit(conn, high);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await new Promise((r) => setTimeout(r, runMs)); // the experiment: a seeded random kill moment
      await broker.kill9();
      await Promise.all(kcats.map((k) => k.finish(false)));
      running = false;
      conn?.close();
      await commits;
      noteStderr(broker);
      if (cycle % 5 === 4 || cycle === opts.cycles - 1) log(`crash: cycle ${cycle + 1}/${opts.cycles}, ${acks.length} acknowledged so far, ${committer.count} commits`);
    }
    broker = await startBroker({ dataDir, args });
    const conn = await committer.connect(address);
    if (conn) {
      await committer.check(conn);
      conn.close();
    }
    // A last round of kcat with the broker up to the end: every value it writes is acknowledged.
    kcats = Array.from({ length: PARTITIONS }, (_, p) => new KcatProducer(address, p, opts.cycles, acks));
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([...kcats.map((k) => k.finish(true)), kafkajs.finish(), ours.finish()]);
    const ends = await endOffsets(broker);
    const figures = await verify(broker, acks, ends, problems);
    noteStderr(broker);
    if ((await broker.stop()) !== 0) problems.push(`broker did not stop cleanly:\n${broker.stderr().slice(-2000)}`);
    const by: Record<string, number> = {};
    for (const a of acks) by[a.producer] = (by[a.producer] ?? 0) + 1;
    problems.push(...committer.problems);
    return {
      seed: opts.seed,
      cycles: opts.cycles,
      acknowledged: acks.length,
      acknowledgedBy: by,
      ...figures,
      commitsAcknowledged: committer.count,
      commitsBackwards: committer.backwards,
      recoveryCuts,
      damagedRanges,
      ms: Math.round(performance.now() - started),
      problems: problems.slice(0, 20),
    };
  } finally {
    if (broker.proc.exitCode === null) await broker.kill9();
    removeDir(dataDir);
  }
}

async function verify(broker: BrokerProcess, acks: Ack[], ends: number[], problems: string[]) {
  let lost = 0;
  let misplaced = 0;
  let twoValuesAtOneOffset = 0;
  let duplicated = 0;
  const duplicatedBy: Record<string, number> = {};
  let reordered = 0;
  let endBelowAcked = 0;
  const byPartition: Array<Map<number, string>> = [];
  const whereIs: Array<Map<string, number[]>> = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const res = await kcat(broker.kafka, ["-C", "-t", TOPIC, "-p", String(p), "-o", "beginning", "-e", "-f", "%o %s\n"], { timeoutMs: 120_000 });
    if (res.code !== 0) throw new Error(`kcat -C failed: ${res.stderr}`);
    const at = new Map<number, string>();
    const where = new Map<string, number[]>();
    for (const line of res.stdout.split("\n")) {
      if (line === "") continue;
      const sp = line.indexOf(" ");
      const offset = Number(line.slice(0, sp));
      const value = line.slice(sp + 1);
      if (at.has(offset)) {
        twoValuesAtOneOffset++;
        problems.push(`partition ${p} offset ${offset} read twice: ${at.get(offset)} and ${value}`);
      }
      at.set(offset, value);
      const list = where.get(value) ?? [];
      list.push(offset);
      where.set(value, list);
    }
    for (const [value, offsets] of where) {
      if (offsets.length <= 1) continue;
      duplicated += offsets.length - 1;
      const by = value.slice(0, 2);
      duplicatedBy[by] = (duplicatedBy[by] ?? 0) + offsets.length - 1;
      if (by === "sc" && problems.length < 20) problems.push(`idempotent producer's ${value} stored ${offsets.length} times in partition ${p}, at ${offsets.join(", ")}`);
    }
    byPartition.push(at);
    whereIs.push(where);
  }
  const highest = new Array<number>(PARTITIONS).fill(-1);
  for (const a of acks) {
    highest[a.partition] = Math.max(highest[a.partition]!, a.offset);
    const got = byPartition[a.partition]!.get(a.offset);
    if (got === a.value) continue;
    if (whereIs[a.partition]!.has(a.value)) {
      misplaced++;
      if (problems.length < 20) problems.push(`${a.value} acknowledged at ${a.partition}/${a.offset}, found at ${whereIs[a.partition]!.get(a.value)} (there: ${got})`);
    } else {
      lost++;
      if (problems.length < 20) problems.push(`${a.value} acknowledged at ${a.partition}/${a.offset} is gone (there: ${got})`);
    }
  }
  for (let p = 0; p < PARTITIONS; p++) {
    if (ends[p]! < highest[p]! + 1) {
      endBelowAcked++;
      problems.push(`partition ${p} ends at ${ends[p]} below highest acknowledged offset ${highest[p]} + 1`);
    }
  }
  // Order per producer and partition: acknowledged offsets rise with the producer's sequence, and
  // in the log the first copy of each of its values comes in sequence order.
  const groups = new Map<string, Ack[]>();
  for (const a of acks) {
    const k = `${a.producer}/${a.partition}`;
    groups.set(k, [...(groups.get(k) ?? []), a]);
  }
  for (const [k, list] of groups) {
    list.sort((x, y) => x.seq - y.seq);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.offset <= list[i - 1]!.offset) {
        reordered++;
        if (problems.length < 20) problems.push(`${k}: ${list[i]!.value} acknowledged at ${list[i]!.offset}, not after ${list[i - 1]!.value} at ${list[i - 1]!.offset}`);
      }
    }
  }
  for (let p = 0; p < PARTITIONS; p++) {
    const lastSeq = new Map<string, number>();
    const seen = new Set<string>();
    for (const [, value] of [...byPartition[p]!].sort((a, b) => a[0] - b[0])) {
      if (seen.has(value)) continue;
      seen.add(value);
      const dash = value.lastIndexOf("-");
      const producer = value.slice(0, dash);
      const seq = Number(value.slice(dash + 1));
      if (seq <= (lastSeq.get(producer) ?? -1)) {
        reordered++;
        if (problems.length < 20) problems.push(`partition ${p}: ${value} stored after a later value of ${producer}`);
      }
      lastSeq.set(producer, seq);
    }
  }
  return { lost, misplaced, twoValuesAtOneOffset, duplicated, duplicatedBy, reordered, endBelowAcked };
}

export function failedCount(f: CrashFigures): number {
  return f.lost + f.misplaced + f.twoValuesAtOneOffset + f.reordered + f.endBelowAcked + f.commitsBackwards + f.damagedRanges + (f.duplicatedBy.sc ?? 0);
}

/** For a quick run by hand: `bun test/crash-harness.ts [cycles]`. */
if (import.meta.main) {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
  const f = await runCrashCycles({ cycles: Number(process.argv[2] ?? 5), seed });
  console.log(JSON.stringify(f, null, 2));
  process.exit(failedCount(f) === 0 ? 0 : 1);
}
