// Benchmarks of the exactly-once issue (#20), section "transactions": what idempotence and
// transactions cost a producer, in one run against one broker (`bin/streamctl serve`, fsync
// always). Our client (net/client Producer, lz4, linger 5 ms, acks all) writes N records of 100
// bytes to a fresh 3-partition topic, per mode:
//   plain          idempotence off
//   idempotent     the default: producer id and sequences
//   txn 100        transactional, a commit every 100 records (begin, append, commitTransaction)
//   txn 10,000     transactional, a commit every 10,000 records
// records/s = N / (first append → last acknowledgement or commit). Modes alternate order between
// ROUNDS rounds after a warm-up; the row is the median with the range. Measures only; asserts nothing.
//
//   BENCH=transactions make bench                   (or: bun run bench/transactions.ts)
//   BENCH_TXN_RECORDS=200000 …                      records per mode and round
import { Codec } from "../core/batch/header.ts";
import { KafkaClient } from "../net/client/client.ts";
import { Producer } from "../net/client/producer.ts";
import { type BrokerProcess, removeDir, startBroker } from "../test/harness.ts";
import type { BenchRow } from "./types.ts";

const SECTION = "transactions";
const ROUNDS = 3;
const PARTITIONS = 3;
const VALUE = new Uint8Array(100).fill(120);

type Mode = { name: string; idempotence: boolean; perTxn: number | null };
const MODES: Mode[] = [
  { name: "plain", idempotence: false, perTxn: null },
  { name: "idempotent", idempotence: true, perTxn: null },
  { name: "txn 100", idempotence: true, perTxn: 100 },
  { name: "txn 10,000", idempotence: true, perTxn: 10_000 },
];

async function createTopic(b: BrokerProcess, name: string): Promise<void> {
  const res = await fetch(`http://${b.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name, partitions: PARTITIONS }) });
  if (res.status !== 201) throw new Error(`create ${name}: HTTP ${res.status} ${await res.text()}`);
}

async function produce(b: BrokerProcess, topic: string, mode: Mode, records: number): Promise<{ perSec: number; transactions: number }> {
  const [host, port] = b.kafka.split(":");
  const client = new KafkaClient({ bootstrap: [{ host: host!, port: Number(port) }], clientId: "bench-txn" });
  const producer = new Producer(client, {
    codec: Codec.Lz4,
    acks: -1,
    lingerMs: 5,
    autoCreate: false,
    idempotence: mode.idempotence,
    ...(mode.perTxn !== null ? { transactionalId: `bench-${topic}` } : {}),
  });
  let transactions = 0;
  try {
    await producer.prepare(topic);
    const started = performance.now();
    let inTxn = 0;
    for (let i = 0; i < records; i++) {
      if (mode.perTxn !== null && !producer.inTransaction) await producer.beginTransaction();
      producer.append(topic, -1, null, VALUE, null, Date.now());
      if (mode.perTxn !== null && ++inTxn >= mode.perTxn) {
        await producer.commitTransaction();
        transactions++;
        inTxn = 0;
      } else if (producer.needsDrain) await producer.drained();
    }
    if (mode.perTxn !== null && producer.inTransaction) {
      await producer.commitTransaction();
      transactions++;
    }
    const summary = await producer.flush();
    const secs = (performance.now() - started) / 1000;
    if (summary.failed > 0) throw new Error(`${mode.name}: ${summary.failed} records failed: ${summary.errors.join("; ")}`);
    return { perSec: Math.round(records / secs), transactions };
  } finally {
    producer.close();
    await client.close();
  }
}

export async function run(): Promise<BenchRow[]> {
  const records = Number(process.env.BENCH_TXN_RECORDS ?? 200_000);
  const b = await startBroker();
  const runs = new Map<string, number[]>(MODES.map((m) => [m.name, []]));
  const txns = new Map<string, number>();
  try {
    // A warm-up (not counted): the client's and broker's code paths compiled, the disk cache warm.
    await createTopic(b, "bench-txn-warmup");
    await produce(b, "bench-txn-warmup", MODES[2]!, Math.min(records, 10_000));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const topic = `bench-txn-${round}-${mode.name.replace(/\W+/g, "")}`;
        await createTopic(b, topic);
        const r = await produce(b, topic, mode, records);
        runs.get(mode.name)!.push(r.perSec);
        txns.set(mode.name, r.transactions);
        process.stderr.write(`  round ${round + 1} ${mode.name}: ${r.perSec} records/s\n`);
      }
    }
  } finally {
    await b.stop();
    removeDir(b.dataDir);
  }
  const median = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)]!;
  const plain = median(runs.get("plain")!);
  return MODES.map((m) => {
    const xs = runs.get(m.name)!;
    const v = median(xs);
    const vsPlain = m.name === "plain" ? "" : `; ${((v / plain) * 100).toFixed(0)}% of plain`;
    const txn = m.perTxn === null ? "" : `, ${txns.get(m.name)} transactions of ${m.perTxn.toLocaleString("en-US")}`;
    return {
      section: SECTION,
      name: `produce, ${m.name}`,
      value: v,
      runs: xs,
      unit: "records/s",
      note: `our client, ${records.toLocaleString("en-US")} × 100 B records, lz4, linger 5 ms, acks all, ${PARTITIONS} partitions, fsync always${txn}${vsPlain}`,
    };
  });
}

if (import.meta.main) {
  for (const r of await run()) console.log(`${r.name}: ${r.value} ${r.unit} (${r.runs?.join(", ")}) — ${r.note}`);
}
