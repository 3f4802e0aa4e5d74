// NATS JetStream load for bench/peers.ts, run as a child: `bun nats-client.ts HOST:PORT RECORDS
// RECORD_BYTES LATENCY_RATE LATENCY_RECORDS [WARMUP_RECORDS [PRODUCE_WARMUP_RECORDS]]`; prints one
// JSON line on stdout.
//   produce  after PRODUCE_WARMUP_RECORDS the same way to a stream of their own, unmeasured:
//            core-NATS publishes with a reply inbox, up to WINDOW unacknowledged, each counted when
//            JetStream's PubAck arrives: the async-publish pattern of the Go client's PublishAsync.
//            (nats.js's `js.publish()` awaits each ack through a request with its own timer and is
//            client-bound at ~50,000/s here; this measures the server, as kcat does for streamctl.)
//   consume  an ordered pull consumer (`consume()`), every message read once, from the start.
//   latency  publishes at a fixed rate, ack latency from each message's intended send time, after
//            WARMUP_RECORDS at the same rate not measured (as `streamctl bench --warmup`).
import { connect, createInbox } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Histogram } from "../../cmd/bench-histogram.ts";
import { RateTicker } from "../../cmd/bench-pace.ts";
import { startPauseMeter } from "../../cmd/bench-pauses.ts";

const [url, recordsArg, bytesArg, rateArg, latArg, warmupArg, produceWarmupArg] = process.argv.slice(2);
const RECORDS = Number(recordsArg);
const BYTES = Number(bytesArg);
const RATE = Number(rateArg);
const LAT_RECORDS = Number(latArg);
const WARMUP_RECORDS = Number(warmupArg ?? 0);
const PRODUCE_WARMUP_RECORDS = Number(produceWarmupArg ?? 0);
const WINDOW = 1000;

const nc = await connect({ servers: url!, maxPingOut: 100 });
const jsm = await jetstreamManager(nc);
const payload = new Uint8Array(BYTES).fill(120);

async function publishAll(subject: string, n: number, rate: number, h: Histogram | null): Promise<number> {
  const inbox = createInbox();
  const intended = new Float64Array(n);
  let acked = 0;
  let sent = 0;
  let errors = 0;
  let wake: (() => void) | null = null;
  const done = new Promise<void>((resolve) => {
    nc.subscribe(inbox, {
      callback: (err, m) => {
        // A PubAck is {"stream":…,"seq":…}; a failure is {"error":…}.
        if (err || m.data.length < 3 || m.data[2] !== 115) errors++;
        else if (h) h.record((performance.now() - intended[acked]!) * 1000);
        acked++;
        if (acked === n) resolve();
        wake?.();
      },
    });
  });
  const ticker = rate > 0 ? await RateTicker.start(rate, n) : null;
  const started = ticker !== null ? ticker.startMs - performance.timeOrigin : performance.now();
  while (sent < n) {
    if (ticker !== null) {
      const due = ticker.dueBy(performance.timeOrigin + performance.now());
      while (sent < due) {
        intended[sent] = ticker.intendedMs(sent) - performance.timeOrigin;
        nc.publish(subject, payload, { reply: inbox });
        sent++;
      }
      if (sent < n) await ticker.next();
    } else {
      while (sent < n && sent - acked < WINDOW) {
        intended[sent] = performance.now();
        nc.publish(subject, payload, { reply: inbox });
        sent++;
      }
      if (sent < n) await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  }
  ticker?.close();
  await done;
  if (errors > 0) throw new Error(`${errors} publishes failed`);
  return (performance.now() - started) / 1000;
}

if (PRODUCE_WARMUP_RECORDS > 0) {
  await jsm.streams.add({ name: "WARM", subjects: ["warm"] });
  await publishAll("warm", PRODUCE_WARMUP_RECORDS, 0, null);
}
await jsm.streams.add({ name: "BENCH", subjects: ["bench"] });
const produceSecs = await publishAll("bench", RECORDS, 0, null);
const js = jetstream(nc);
const consumer = await js.consumers.get("BENCH");
const t0 = performance.now();
let seen = 0;
const messages = await consumer.consume({ max_messages: 10_000 });
for await (const m of messages) {
  if (m.data.length !== BYTES) throw new Error("short message");
  if (++seen >= RECORDS) break;
}
const consumeSecs = (performance.now() - t0) / 1000;
Bun.spawnSync(["sync"]); // as bench/peers.ts does before every latency phase
await jsm.streams.add({ name: "LAT", subjects: ["lat"] });
if (WARMUP_RECORDS > 0) await publishAll("lat", WARMUP_RECORDS, RATE, null);
const h = new Histogram();
const meter = await startPauseMeter();
await publishAll("lat", LAT_RECORDS, RATE, h);
const pauses = await meter.stop();
await nc.close();
const s = h.summary();
console.log(JSON.stringify({ produce: RECORDS / produceSecs, consume: RECORDS / consumeSecs, ackP50Ms: s.p50 / 1000, ackP99Ms: s.p99 / 1000, pauses }));
