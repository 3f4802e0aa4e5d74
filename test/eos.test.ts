// Exactly-once consume-transform-produce under SIGKILL (issue #20): test/eos-transformer.ts (our
// client: read_committed consumer, transactional producer, offsets in the transaction) turns every
// input record into one output record while, at seeded moments, the transformer, the broker or
// both are SIGKILLed and restarted (the broker on the same port and data dir). At the end a last
// transformer runs to the input's end, and the output read read_committed must hold each input's
// result exactly once, in input order per partition; aborted attempts are visible only
// read_uncommitted. EOS_CYCLES (default 4; `make soak` runs 25 or more), EOS_INPUTS_PER_CYCLE, SEED.
import { expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { Codec } from "../core/batch/header.ts";
import { seededRandom } from "../core/testing/seed.ts";
import { KafkaClient } from "../net/client/client.ts";
import { Consumer } from "../net/client/consumer.ts";
import { Producer } from "../net/client/producer.ts";
import { type BrokerProcess, REPO_ROOT, removeDir, startBroker, tempDir } from "./harness.ts";

const CYCLES = Number(process.env.EOS_CYCLES ?? 4);
/** Inputs written before the first cycle and before each cycle, so the transformer always has work. */
const INPUTS_PER_CYCLE = Number(process.env.EOS_INPUTS_PER_CYCLE ?? 250);
const INPUTS = INPUTS_PER_CYCLE * (CYCLES + 1);
const SEED = Number(process.env.SEED ?? 7);
const PER_TXN = 10;
const PARTITIONS = 2;
const utf8 = new TextEncoder();
const text = new TextDecoder();

function clientOf(b: BrokerProcess): KafkaClient {
  const [host, port] = b.kafka.split(":");
  return new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }], clientId: "eos-test" });
}

/** A transformer child and the `committed` lines it printed. */
class Transformer {
  committed = 0;
  stderr = "";
  exited = false;
  private waiters: Array<() => void> = [];
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;

  constructor(b: BrokerProcess, untilEnd: boolean) {
    const proc = Bun.spawn([process.execPath, "test/eos-transformer.ts", b.kafka, "eos-in", "eos-out", "eos-group", "eos-tx", String(PER_TXN), ...(untilEnd ? ["--until-end"] : [])], {
      cwd: REPO_ROOT,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.proc = proc;
    void (async () => {
      let buf = "";
      for await (const chunk of proc.stdout) {
        buf += text.decode(chunk);
        const lines = buf.split("\n");
        buf = lines.pop()!;
        this.committed += lines.filter((l) => l.startsWith("committed ")).length;
        this.wake();
      }
      this.wake();
    })();
    void (async () => {
      for await (const chunk of proc.stderr) this.stderr += text.decode(chunk);
    })();
    void proc.exited.then(() => {
      this.exited = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once it committed `n` transactions in all, or exited. */
  async committedAtLeast(n: number): Promise<void> {
    while (this.committed < n && !this.exited) await new Promise<void>((r) => this.waiters.push(r));
  }

  async kill9(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
    this.exited = true;
  }
}

test(`exactly once through ${CYCLES} SIGKILLs of the transformer and the broker (seed ${SEED})`, async () => {
  const random = seededRandom(SEED);
  const dataDir = tempDir("streamctl-eos-");
  let b = await startBroker({ dataDir });
  const samePort = { dataDir, noDefaultListener: true, args: ["--kafka-listen", b.kafka] };
  const figures = { seed: SEED, cycles: CYCLES, inputs: INPUTS, perTxn: PER_TXN, transformerKills: 0, brokerKills: 0, transformerExits: 0, transactions: 0, results: 0, duplicates: 0, missing: 0, outOfOrder: 0, abortedResultsHidden: 0 };
  let t: Transformer | null = null;
  try {
    const admin = await fetch(`http://${b.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "eos-in", partitions: PARTITIONS }) });
    expect(admin.status).toBe(201);
    expect((await fetch(`http://${b.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "eos-out", partitions: PARTITIONS }) })).status).toBe(201);
    let written = 0;
    const writeInputs = async () => {
      const client = clientOf(b);
      const producer = new Producer(client, { codec: Codec.None, acks: -1, lingerMs: 5 });
      await producer.prepare("eos-in");
      for (let k = 0; k < INPUTS_PER_CYCLE; k++, written++) producer.append("eos-in", written % PARTITIONS, null, utf8.encode(`in-${written}`), null, Date.now());
      expect((await producer.flush()).failed).toBe(0);
      producer.close();
      await client.close();
    };
    await writeInputs();

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await writeInputs();
      t ??= new Transformer(b, false);
      await t.committedAtLeast(t.committed + 1); // it is working (or it exited)
      await Bun.sleep(random(300)); // the kill lands at a seeded moment of its work
      const victim = random(100);
      if (process.env.EOS_VERBOSE) console.error(`cycle ${cycle}: committed ${t.committed}, victim ${victim}`);
      if (victim < 50 || victim >= 85) {
        await t.kill9();
        figures.transformerKills++;
      }
      if (victim >= 50) {
        await b.kill9();
        b = await startBroker(samePort);
        figures.brokerKills++;
      }
      if (t.exited) {
        figures.transactions += t.committed;
        if (t.proc.signalCode === null) figures.transformerExits++; // gave up by itself (e.g. broker down too long)
        t = null;
      }
    }
    if (t !== null) {
      await t.kill9();
      figures.transactions += t.committed;
      t = null;
    }
    const last = new Transformer(b, true);
    const code = await last.proc.exited;
    figures.transactions += last.committed;
    expect({ code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });

    // The output, read_committed: each input's result once, in input order per partition.
    const read = async (isolation: "read_committed" | "read_uncommitted") => {
      const c = clientOf(b);
      const consumer = new Consumer(c, { topics: ["eos-out"], stopAtEnd: true, isolation, maxWaitMs: 100 });
      const values: Array<{ partition: number; i: number }> = [];
      for await (const r of consumer) values.push({ partition: r.partition, i: Number(text.decode(r.value!).slice("out:in-".length)) });
      await consumer.close();
      await c.close();
      return values;
    };
    const committed = await read("read_committed");
    const counts = new Map<number, number>();
    const lastIn = new Map<number, number>();
    for (const v of committed) {
      counts.set(v.i, (counts.get(v.i) ?? 0) + 1);
      if ((lastIn.get(v.partition) ?? -1) >= v.i || v.i % PARTITIONS !== v.partition) figures.outOfOrder++;
      lastIn.set(v.partition, v.i);
    }
    figures.results = committed.length;
    figures.duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    figures.missing = Array.from({ length: INPUTS }, (_, i) => i).filter((i) => !counts.has(i)).length;
    figures.abortedResultsHidden = (await read("read_uncommitted")).length - committed.length;
    if (process.env.RELIABILITY_FIGURES) await Bun.write(`${process.env.RELIABILITY_FIGURES}.eos.json`, JSON.stringify(figures));
    if (process.env.EOS_VERBOSE) console.error(figures);
    expect({ results: figures.results, duplicates: figures.duplicates, missing: figures.missing, outOfOrder: figures.outOfOrder }).toEqual({ results: INPUTS, duplicates: 0, missing: 0, outOfOrder: 0 });
    expect(figures.transformerKills + figures.brokerKills).toBeGreaterThanOrEqual(CYCLES);
  } finally {
    if (t !== null) await t.kill9();
    await b.stop();
    removeDir(dataDir);
  }
}, 60_000 + CYCLES * 20_000);
