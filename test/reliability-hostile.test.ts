// Issue #7, item 6: hostile input against the live broker. Builds on test/broker-fuzz.test.ts
// (one connection per input, 1,500 inputs) with what the issue lists besides: an HTTP request and
// a TLS ClientHello sent to the Kafka port, counts far beyond the bytes left, a zstd bomb inside a
// Produce batch, 1,000 slow connections sending a frame a byte at a time, and 50,000 seeded inputs
// (random bytes; kcat and kafkajs frames, mutated) over reused connections in parallel.
//
// Rule for every input: an answer with the input's correlation id, or the connection closed. The
// broker stays up; meanwhile a well-formed client in another process (reliability-prober.ts)
// gets its ApiVersions answered within P99_MS at p99 (a bound on progress under abuse, not a speed
// check: no input may freeze the others, as the 12.1 s zstd-bomb stall once did; 1,000 ms by default leaves room
// for a loaded 2-core CI machine, PROBE_P99_MS=50 is the quiet-machine figure `make soak` holds);
// the broker's RSS (VmRSS) stays under RSS_BOUND_MIB. SEED=<n> replays; FUZZ_INPUTS=<n> sets the count (make soak: 2,000,000).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32c } from "../core/batch/crc32c.ts";
import { seededRandom } from "../core/testing/seed.ts";
import { ApiVersions, Produce, defaultApiVersionsRequest, defaultProduceRequest } from "../net/protocol/messages/index.ts";
import { type BrokerProcess, REPO_ROOT, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 50_000);
const WORKERS = 8;
const SLOW_CONNECTIONS = 1000;
/** The stated memory bound: the broker under all of this stays below it (it idles near 100 MiB). */
export const RSS_BOUND_MIB = 512;
const P99_MS = Number(process.env.PROBE_P99_MS ?? 1000);
const FETCH_KEY = 1;

let broker: BrokerProcess;
let peakRssMiB = 0;
let sampler: ReturnType<typeof setInterval>;
const figures = { seed: SEED, inputs: 0, answered: 0, closed: 0, heldLongPolls: 0, crashes: 0, peakRssMiB: 0, probeP99Ms: 0, probes: 0 };

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

beforeAll(async () => {
  // All of this comes from 127.0.0.1: the 1,000 slow connections, the prober and the fuzz workers
  // together pass the default --max-connections-per-ip (1,000), which test/reliability-abuse.test.ts covers.
  broker = await startBroker({ args: ["--max-connections-per-ip", "2000"] });
  sampler = setInterval(() => {
    if (broker.proc.exitCode === null) peakRssMiB = Math.max(peakRssMiB, rssMiB(broker.proc.pid));
  }, 25);
});

afterAll(async () => {
  clearInterval(sampler);
  figures.peakRssMiB = Math.round(peakRssMiB);
  const alive = broker.proc.exitCode === null;
  if (!alive) figures.crashes++;
  expect(alive).toBe(true);
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
  const out = process.env.RELIABILITY_FIGURES;
  if (out) await Bun.write(`${out}.hostile.json`, JSON.stringify(figures));
});

async function alive(): Promise<void> {
  const c = await RawConnection.open(broker.kafka);
  const res = await c.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "probe", clientSoftwareVersion: "1" }, 5000);
  expect(res.errorCode).toBe(0);
  c.close();
}

/** The prober child: start it, run `attack`, then its p99 must be under P99_MS. */
async function whileProbed(attack: () => Promise<void>): Promise<{ p99: number; n: number }> {
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "test/reliability-prober.ts"), broker.kafka], { stdout: "pipe", stderr: "inherit", cwd: REPO_ROOT });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("prober exited early");
    out += new TextDecoder().decode(value);
  }
  try {
    await attack();
  } finally {
    proc.kill("SIGTERM");
  }
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  await proc.exited;
  const { latencies, failures } = JSON.parse(out.slice(out.indexOf("{"))) as { latencies: number[]; failures: number };
  expect(failures).toBe(0);
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
  figures.probes += latencies.length;
  figures.probeP99Ms = Math.max(figures.probeP99Ms, Math.round(p99 * 10) / 10);
  return { p99, n: latencies.length };
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

/** A request header (v1: key, version, correlation id, client id) followed by `rest`. */
function request(apiKey: number, version: number, correlationId: number, rest: number[]): Uint8Array {
  const clientId = new TextEncoder().encode("hostile");
  const body = new Uint8Array(2 + 2 + 4 + 2 + clientId.length + rest.length);
  const v = new DataView(body.buffer);
  v.setInt16(0, apiKey);
  v.setInt16(2, version);
  v.setInt32(4, correlationId);
  v.setInt16(8, clientId.length);
  body.set(clientId, 10);
  body.set(rest, 10 + clientId.length);
  return frame(body);
}

const int32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

test("an HTTP request and a TLS ClientHello sent to the Kafka port close the connection; the broker stays up", async () => {
  const http = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n");
  // TLS 1.2 record header + the start of a ClientHello (what `openssl s_client` sends first).
  const tls = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Uint8Array(32).fill(0x42), 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]);
  for (const bytes of [http, tls]) {
    const c = await RawConnection.open(broker.kafka);
    c.sendRaw(bytes);
    await c.closed;
    expect(c.isClosed).toBe(true);
    expect(c.unsolicited).toEqual([]);
  }
  await alive();
});

test("counts far beyond the bytes left get an error with the same correlation id or a close", async () => {
  const cases: Array<[string, Uint8Array]> = [
    ["Metadata v4 with 2^31-1 topics and none sent", request(3, 4, 901, [...int32(0x7fffffff)])],
    ["Metadata v4 with a topic name of 32767 bytes and 3 sent", request(3, 4, 902, [...int32(1), 0x7f, 0xff, 0x61, 0x62, 0x63])],
    ["Produce v7 with records of 2^31-16 bytes and 10 sent", request(0, 7, 903, [0xff, 0xff, 0xff, 0xff, ...int32(5000), ...int32(1), 0, 1, 0x74, ...int32(1), ...int32(0), ...int32(0x7ffffff0), ...new Array(10).fill(0)])],
    ["ApiVersions v3 (flexible) with a compact string length of 2^28", request(18, 3, 904, [0x00, 0x80, 0x80, 0x80, 0x80, 0x01])],
    ["CreateTopics v3 with -2 topics", request(19, 3, 905, [...int32(-2)])],
  ];
  for (const [name, bytes] of cases) {
    const corr = new DataView(bytes.buffer).getInt32(8);
    const c = await RawConnection.open(broker.kafka);
    const answer = await c.roundTripRaw(corr, bytes, 5000);
    if (answer !== null) expect({ name, corr: new DataView(answer.buffer, answer.byteOffset).getInt32(4) }).toEqual({ name, corr });
    c.close();
  }
  await alive();
});

test("a zstd bomb inside a Produce batch gets an error code and the broker's memory stays bounded", async () => {
  const c = await RawConnection.open(broker.kafka);
  const created = await fetch(`http://${broker.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "bombed", partitions: 1 }) });
  expect(created.status).toBe(201);
  // 256 MiB of zeros compress to a few KiB; the cap on decompression is 64 MiB.
  const payload = Bun.zstdCompressSync(new Uint8Array(256 * 1024 * 1024), { level: 19 });
  expect(payload.length).toBeLessThan(64 * 1024);
  const batch = new Uint8Array(61 + payload.length);
  const v = new DataView(batch.buffer);
  v.setBigInt64(0, 0n);
  v.setInt32(8, batch.length - 12);
  v.setInt32(12, -1);
  v.setInt8(16, 2);
  v.setInt16(21, 4); // zstd
  v.setInt32(23, 0);
  v.setBigInt64(27, BigInt(Date.now()));
  v.setBigInt64(35, BigInt(Date.now()));
  v.setBigInt64(43, -1n);
  v.setInt16(51, -1);
  v.setInt32(53, -1);
  v.setInt32(57, 1);
  batch.set(payload, 61);
  v.setUint32(17, crc32c(batch, 21, batch.length));
  const before = rssMiB(broker.proc.pid);
  for (let i = 0; i < 3; i++) {
    const res = await c.request(Produce, 7, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: "bombed", partitionData: [{ index: 0, records: batch }] }] }, 30_000);
    const code = res.responses[0]!.partitionResponses[0]!.errorCode;
    expect([2, 87]).toContain(code); // CORRUPT_MESSAGE or INVALID_RECORD, never a write
  }
  expect(rssMiB(broker.proc.pid) - before).toBeLessThan(160);
  expect(peakRssMiB).toBeLessThan(RSS_BOUND_MIB);
  c.close();
  await alive();
}, 60_000);

test(`${SLOW_CONNECTIONS} slow connections, a byte at a time: each is answered, a well-formed client gets p99 < ${P99_MS} ms`, async () => {
  const conns: RawConnection[] = [];
  for (let i = 0; i < SLOW_CONNECTIONS; i += 100) {
    conns.push(...(await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(broker.kafka)))));
  }
  const frames = conns.map((_, i) => request(18, 0, 10_000 + i, []));
  const { p99, n } = await whileProbed(async () => {
    for (let at = 0; at < frames[0]!.length; at++) {
      for (let i = 0; i < conns.length; i++) conns[i]!.sendRaw(frames[i]!.subarray(at, at + 1));
      await new Promise((r) => setTimeout(r, 25)); // the attack's pace: a byte every 25 ms
    }
    const deadline = Date.now() + 20_000;
    while (conns.some((c) => c.unsolicited.length === 0 && !c.isClosed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  });
  for (const [i, c] of conns.entries()) {
    if (c.isClosed) continue;
    expect(c.unsolicited.length).toBe(1);
    expect(new DataView(c.unsolicited[0]!.buffer, c.unsolicited[0]!.byteOffset).getInt32(4)).toBe(10_000 + i);
  }
  expect(conns.filter((c) => c.unsolicited.length === 1).length).toBe(SLOW_CONNECTIONS);
  for (const c of conns) c.close();
  // The last byte makes 1,000 requests complete at once: the one probe behind them waits out the
  // burst (30–50 ms on a quiet 2-core VM). A p99 needs 100 samples or more not to be that one.
  expect(n).toBeGreaterThanOrEqual(100);
  expect(p99).toBeLessThan(P99_MS);
  expect(peakRssMiB).toBeLessThan(RSS_BOUND_MIB);
}, 120_000);

// --- seeded fuzzing over reused connections --------------------------------------------------

const golden = readdirSync(join(REPO_ROOT, "testdata/frames"))
  .filter((f) => f.endsWith(".request.bin"))
  .map((f) => new Uint8Array(readFileSync(join(REPO_ROOT, "testdata/frames", f))));

function mutate(rand: (n: number) => number): Uint8Array {
  const kind = rand(8);
  if (kind === 0) return frame(new Uint8Array(rand(300)).map(() => rand(256)));
  const base = golden[rand(golden.length)]!.slice(4);
  const view = new DataView(base.buffer);
  switch (kind) {
    case 1: // bit flips past the api key
      for (let n = 1 + rand(4); n > 0; n--) {
        const at = 2 + rand(base.length - 2);
        base[at] = base[at]! ^ (1 << rand(8));
      }
      return frame(base);
    case 2: // truncated body (the length prefix says so: a complete, short frame)
      return frame(base.subarray(0, rand(base.length)));
    case 3: // an int32 count or length set to something huge or negative
      if (base.length >= 12) view.setInt32(8 + rand(base.length - 11), [0x7fffffff, -1, -2, 0x40000000, 100 * 1024 * 1024 + 1][rand(5)]!);
      return frame(base);
    case 4: // an int16 string length gone wrong
      if (base.length >= 10) view.setInt16(8 + rand(base.length - 9), [-1, -2, 0x7fff, 0][rand(4)]!);
      return frame(base);
    case 5: // a run of 0xff: unsigned varints (compact lengths, tag counts) that never end
      base.fill(0xff, 8 + rand(Math.max(1, base.length - 8)), base.length);
      return frame(base);
    case 6: // a version the handler does not have
      view.setInt16(2, [-1, 99, 0x7fff][rand(3)]!);
      return frame(base);
    default: {
      const extra = new Uint8Array(rand(64)).map(() => rand(256));
      const out = new Uint8Array(base.length + extra.length);
      out.set(base);
      out.set(extra, base.length);
      return frame(out); // trailing garbage
    }
  }
}

/**
 * A mutated CreateTopics (or CreatePartitions) may ask for up to 10,000 partitions: a directory, a
 * segment and their syncs each, 2 s on an idle broker here and 7 s under this fuzz; a DeleteTopics
 * of such a topic closes and removes as many. They must be answered, not fast.
 */
const SLOW_ADMIN_KEYS = new Set([19, 20, 37]); // CreateTopics, DeleteTopics, CreatePartitions

async function fuzzWorker(worker: number, count: number): Promise<void> {
  const rand = seededRandom(SEED * 31 + worker);
  let conn = await RawConnection.open(broker.kafka, { firstCorrelationId: 0x40000000 });
  for (let i = 0; i < count; i++) {
    const input = mutate(rand);
    const corr = input.length >= 12 ? new DataView(input.buffer).getInt32(8) : null;
    const key = input.length >= 6 ? new DataView(input.buffer).getInt16(4) : -1;
    if (corr !== null && corr >= 0x40000000 && corr < 0x50000000) new DataView(input.buffer).setInt32(8, corr - 0x20000000); // never the probe's id
    const fuzzCorr = input.length >= 12 ? new DataView(input.buffer).getInt32(8) : null;
    conn.sendRaw(input);
    const outcome = await conn
      .request(ApiVersions, 0, defaultApiVersionsRequest(), key === FETCH_KEY ? 1000 : SLOW_ADMIN_KEYS.has(key) ? 30_000 : 5000)
      .then(() => "answered" as const)
      .catch(() => (conn.isClosed ? ("closed" as const) : ("pending" as const)));
    figures.inputs++;
    if (outcome === "answered") {
      figures.answered++;
      for (const f of conn.unsolicited) {
        if (new DataView(f.buffer, f.byteOffset).getInt32(4) !== fuzzCorr) throw new Error(`SEED=${SEED} worker ${worker} input ${i}: answer with another correlation id; input ${Buffer.from(input).toString("hex")}`);
      }
      conn.unsolicited.length = 0;
      continue;
    }
    if (outcome === "pending") {
      // Only a long-polling Fetch may hold its answer (and the probe's, behind it) back.
      if (key !== FETCH_KEY) throw new Error(`SEED=${SEED} worker ${worker} input ${i}: neither answered nor closed: ${Buffer.from(input).toString("hex")}`);
      figures.heldLongPolls++;
      conn.close();
    } else figures.closed++;
    conn = await RawConnection.open(broker.kafka, { firstCorrelationId: 0x40000000 });
  }
  conn.close();
}

test(`${INPUTS} fuzzed inputs over ${WORKERS} connections: answered or closed, the broker stays up and answers a well-formed client in p99 < ${P99_MS} ms (SEED=${SEED})`, async () => {
  const { p99, n } = await whileProbed(async () => {
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => fuzzWorker(w, Math.ceil(INPUTS / WORKERS))));
  });
  await alive();
  expect(figures.inputs).toBeGreaterThanOrEqual(INPUTS);
  expect(n).toBeGreaterThan(10);
  expect({ p99: p99 < P99_MS, SEED }).toEqual({ p99: true, SEED });
  expect(peakRssMiB).toBeLessThan(RSS_BOUND_MIB);
}, 30 * 60_000);
