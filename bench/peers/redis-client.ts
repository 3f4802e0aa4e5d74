// Redis Streams load for bench/peers.ts, run as a child with Bun's built-in Redis client:
// `bun redis-client.ts redis://HOST:PORT STREAM RECORDS RECORD_BYTES LATENCY_RATE LATENCY_RECORDS [WARMUP_RECORDS]`;
// prints one JSON line. (Produce throughput is redis-benchmark's pipelined XADD, run by peers.ts.)
//   consume  XRANGE STREAM (last-id + COUNT 10000 until RECORDS entries are read, each entry parsed.
//   latency  XADD at a fixed rate (Bun's client pipelines whatever is outstanding), ack latency
//            from each command's intended send time, after WARMUP_RECORDS at the same rate not
//            measured (as `streamctl bench --warmup`).
import { Histogram } from "../../cmd/bench-histogram.ts";
import { RateTicker } from "../../cmd/bench-pace.ts";
import { startPauseMeter } from "../../cmd/bench-pauses.ts";

const [url, stream, recordsArg, bytesArg, rateArg, latArg, warmupArg] = process.argv.slice(2);
const RECORDS = Number(recordsArg);
const BYTES = Number(bytesArg);
const RATE = Number(rateArg);
const LAT_RECORDS = Number(latArg);
const WARMUP_RECORDS = Number(warmupArg ?? 0);
const client = new Bun.RedisClient(url!);
await client.connect();

const t0 = performance.now();
let seen = 0;
let last = "-";
while (seen < RECORDS) {
  const page = (await client.send("XRANGE", [stream!, last, "+", "COUNT", "10000"])) as [string, string[]][];
  if (page.length === 0) throw new Error(`stream ${stream} ended after ${seen} entries`);
  for (const [, fields] of page) if (fields[1]!.length !== BYTES) throw new Error("short entry");
  seen += page.length;
  last = `(${page[page.length - 1]![0]}`;
}
const consumeSecs = (performance.now() - t0) / 1000;

Bun.spawnSync(["sync"]); // as bench/peers.ts does before every latency phase
const value = "x".repeat(BYTES);

/** XADDs `n` entries at RATE; each ack's latency from its intended send time goes to `h`. */
async function paced(n: number, h: Histogram | null): Promise<void> {
  const pending: Promise<void>[] = [];
  const ticker = await RateTicker.start(RATE, n);
  let sent = 0;
  while (sent < n) {
    for (const due = ticker.dueBy(performance.timeOrigin + performance.now()); sent < due; sent++) {
      const intended = ticker.intendedMs(sent) - performance.timeOrigin;
      pending.push(client.send("XADD", ["lat", "*", "v", value]).then(() => h?.record((performance.now() - intended) * 1000)));
    }
    if (sent < n) await ticker.next();
  }
  ticker.close();
  await Promise.all(pending);
}

if (WARMUP_RECORDS > 0) await paced(WARMUP_RECORDS, null);
const h = new Histogram();
const meter = await startPauseMeter();
const cpuBefore = process.cpuUsage();
await paced(LAT_RECORDS, h);
const cpu = process.cpuUsage(cpuBefore);
const pauses = await meter.stop();
client.close();
const s = h.summary();
console.log(JSON.stringify({ consume: RECORDS / consumeSecs, ackP50Ms: s.p50 / 1000, ackP99Ms: s.p99 / 1000, clientCpuUsPerRecord: (cpu.user + cpu.system) / LAT_RECORDS, pauses }));
