// Seeded fuzzing of the live broker over TCP: random frames and mutations of the golden frames
// captured from kcat and kafkajs. Rule for every input: the broker answers with the input's
// correlation id or closes the connection, keeps answering well-formed clients, and never dies.
// SEED=<n> replays a run; FUZZ_INPUTS=<n> sets how many inputs (default 1500 here; issue #7's
// tiers run more). Issue #3.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiVersions, defaultApiVersionsRequest } from "../net/protocol/messages/index.ts";
import { type BrokerProcess, REPO_ROOT, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 1500);
const FETCH_KEY = 1;

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

/** mulberry32: small, seedable, good enough to pick mutations. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

const golden = readdirSync(join(REPO_ROOT, "testdata/frames"))
  .filter((f) => f.endsWith(".request.bin"))
  .map((f) => new Uint8Array(readFileSync(join(REPO_ROOT, "testdata/frames", f))));

function withLength(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

function mutate(r: ReturnType<typeof rng>): Uint8Array {
  const kind = r.int(5);
  if (kind === 0 || golden.length === 0) {
    const body = new Uint8Array(r.int(200));
    for (let i = 0; i < body.length; i++) body[i] = r.int(256);
    return withLength(body);
  }
  const base = golden[r.int(golden.length)]!.slice(4);
  if (kind === 1) {
    // flip a few bytes past the api key, keeping the header's key so the body decoder is hit
    for (let n = 1 + r.int(4); n > 0; n--) {
      const at = 2 + r.int(base.length - 2);
      base[at] = base[at]! ^ (1 << r.int(8));
    }
    return withLength(base);
  }
  if (kind === 2) return withLength(base.subarray(0, r.int(base.length))); // truncated body
  if (kind === 3) {
    // a count or length field set to something huge or negative
    const at = 8 + r.int(Math.max(1, base.length - 12));
    new DataView(base.buffer, base.byteOffset).setInt32(at, [0x7fffffff, -1, -2, 0x40000000][r.int(4)]!);
    return withLength(base);
  }
  const extra = new Uint8Array(r.int(64)).map(() => r.int(256));
  const out = new Uint8Array(base.length + extra.length);
  out.set(base);
  out.set(extra, base.length);
  return withLength(out); // trailing garbage
}

async function alive(): Promise<void> {
  const c = await RawConnection.open(broker.kafka);
  const res = await c.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "probe", clientSoftwareVersion: "1" }, 5000);
  expect(res.errorCode).toBe(0);
  c.close();
}

test(`fuzzed frames never crash the broker (SEED=${SEED}, ${INPUTS} inputs)`, async () => {
  const r = rng(SEED);
  let answered = 0;
  let closed = 0;
  let pending = 0;
  try {
    for (let i = 0; i < INPUTS; i++) {
      const frame = mutate(r);
      const corr = frame.length >= 12 ? new DataView(frame.buffer).getInt32(8) : null;
      const key = frame.length >= 6 ? new DataView(frame.buffer).getInt16(4) : -1;
      // The probe's correlation id must differ from the fuzzed frame's, whatever the mutation did.
      const c = await RawConnection.open(broker.kafka, { firstCorrelationId: corr === 0x40000000 ? 0x40000001 : 0x40000000 });
      c.sendRaw(frame);
      // A probe behind it: answered in order after the fuzzed request, unless the broker closed.
      const probe = c
        .request(ApiVersions, 0, defaultApiVersionsRequest(), key === FETCH_KEY ? 1000 : 5000)
        .then(() => "answered" as const)
        .catch(() => (c.isClosed ? ("closed" as const) : ("pending" as const)));
      const outcome = await probe;
      if (outcome === "answered") {
        answered++;
        for (const f of c.unsolicited) expect(new DataView(f.buffer, f.byteOffset).getInt32(4)).toBe(corr!);
      } else if (outcome === "closed") closed++;
      else {
        // Only a long-polling Fetch may hold the answer back; the broker must still be alive.
        if (key !== FETCH_KEY) throw new Error(`input ${i} neither answered nor closed: ${Buffer.from(frame).toString("hex")}`);
        pending++;
      }
      c.close();
      if (i % 250 === 0) await alive();
    }
    await alive();
  } catch (err) {
    throw new Error(`fuzz failed with SEED=${SEED}: ${(err as Error).message}\nbroker stderr:\n${broker.stderr().slice(-2000)}`);
  }
  expect(answered + closed + pending).toBe(INPUTS);
}, 120_000);

test.each([
  ["-1", -1],
  ["0", 0],
  ["2^31-1", 0x7fffffff],
  ["100 MiB + 1", 100 * 1024 * 1024 + 1],
])("a frame length of %s is refused by closing the connection", async (_name, length) => {
  const c = await RawConnection.open(broker.kafka);
  const head = new Uint8Array(4 + 10);
  new DataView(head.buffer).setInt32(0, length);
  c.sendRaw(head);
  if (length === 0) c.sendRaw(new Uint8Array([0, 0, 0, 0])); // an empty frame, then another
  await c.closed;
  expect(c.isClosed).toBe(true);
  await alive();
});
