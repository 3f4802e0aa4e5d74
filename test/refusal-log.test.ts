// Refusals leave a trace on the broker's side (issue #21): an unsupported version, an unknown API,
// a malformed frame or body each write one line on stderr naming the client's address, client id,
// API and version — at most one per client per 10 s, the rest counted in the next one — and count
// in /metrics as streamctl_kafka_refusals_total{reason,api}.
import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { api, parsePrometheusText, sampleValue } from "./http-helpers.ts";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import { encodeRequestHeader } from "../net/protocol/header.ts";
import { defaultProduceRequest, Produce } from "../net/protocol/messages/index.ts";
import { Writer } from "../net/protocol/writer.ts";

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

/** A request frame: header v1 (or v2 with an empty tag section) and `body`. */
function frame(apiKey: number, apiVersion: number, correlationId: number, clientId: string, opts: { flexible?: boolean; body?: number[] } = {}): Uint8Array {
  const id = new TextEncoder().encode(clientId);
  const bytes = [apiKey >> 8, apiKey & 255, apiVersion >> 8, apiVersion & 255, ...[24, 16, 8, 0].map((s) => (correlationId >>> s) & 255), id.length >> 8, id.length & 255, ...id, ...(opts.flexible ? [0] : []), ...(opts.body ?? [])];
  return Uint8Array.from([...[24, 16, 8, 0].map((s) => (bytes.length >>> s) & 255), ...bytes]);
}

/**
 * Sends `f` on a new connection from `from` (any 127.x address is this host's loopback, so each
 * test is its own client: lines are rate-limited per client address) and expects the broker to
 * close it without an answer.
 */
async function refusedByClose(f: Uint8Array, from: string): Promise<void> {
  const [host, port] = broker.kafka.split(":") as [string, string];
  const answered = await new Promise<number>((resolve, reject) => {
    let bytes = 0;
    const socket = net.connect({ host, port: Number(port), localAddress: from }, () => socket.write(f));
    socket.on("data", (d) => (bytes += d.length));
    socket.on("close", () => resolve(bytes));
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" ? undefined : reject(err))); // closeNow resets; "close" follows
  });
  expect(answered).toBe(0);
}

const refusalLines = (needle: string) => broker.stderr().split("\n").filter((l) => l.includes("refused") && l.includes(needle));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${broker.stderr()}`);
    await Bun.sleep(20); // stderr arrives through a pipe: nothing to await but its next bytes
  }
}

test("an unsupported version: one line per client address per 10 s naming address, client id, API and version; every refusal counted", async () => {
  const started = Date.now();
  for (let i = 0; i < 4; i++) await refusedByClose(frame(1, 17, 100 + i, "legacy-tool", { flexible: true }), "127.0.0.11");
  await refusedByClose(frame(1, 17, 104, "other-id", { flexible: true }), "127.0.0.11"); // the same client address
  await until("the refusal line", () => refusalLines("from 127.0.0.11 ").length > 0);
  const lines = refusalLines("from 127.0.0.11 ");
  expect(lines[0]).toBe('streamctl: warning: refused Fetch v17 from 127.0.0.11 client_id="legacy-tool": unsupported version (this broker serves v0-16); connection closed');
  // Five refusals within the window: one line (a box slower than 10 s per five connects could show two).
  expect(lines.length).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 10_000));

  // Another client address gets its own line at once.
  await refusedByClose(frame(999, 0, 200, "fuzzer"), "127.0.0.12");
  await until("the second client's line", () => refusalLines("from 127.0.0.12 ").length > 0);
  expect(refusalLines("from 127.0.0.12 ")[0]).toBe('streamctl: warning: refused API 999 v0 from 127.0.0.12 client_id="fuzzer": unknown API; connection closed');

  const families = parsePrometheusText((await api(broker.http, "/metrics")).text);
  expect(sampleValue(families, "streamctl_kafka_refusals_total", { reason: "unsupported_version", api: "Fetch" })).toBe(5);
  expect(sampleValue(families, "streamctl_kafka_refusals_total", { reason: "unsupported_api", api: "unknown" })).toBe(1);
});

test("a malformed frame and an undecodable body are refusals too", async () => {
  await refusedByClose(Uint8Array.from([0xff, 0xff, 0xff, 0xfb, 0, 3, 0, 1]), "127.0.0.13"); // length -5
  await until("the malformed frame's line", () => refusalLines("malformed frame").length > 0);
  expect(refusalLines("malformed frame")[0]).toMatch(/^streamctl: warning: refused a request from 127\.0\.0\.13 no client_id: malformed frame \(frame length -5 outside 0…\d+; request cap \d+, request memory \d+\); connection closed$/);

  // Metadata v4 whose topic array says 5 topics and ends there.
  await refusedByClose(frame(3, 4, 300, "short-body", { body: [0, 0, 0, 5] }), "127.0.0.14");
  await until("the malformed body's line", () => refusalLines('client_id="short-body"').length > 0);
  expect(refusalLines('client_id="short-body"')[0]).toStartWith('streamctl: warning: refused Metadata v4 from 127.0.0.14 client_id="short-body": the request body does not decode (');

  const families = parsePrometheusText((await api(broker.http, "/metrics")).text);
  expect(sampleValue(families, "streamctl_kafka_refusals_total", { reason: "malformed_frame", api: "unknown" })).toBe(1);
  expect(sampleValue(families, "streamctl_kafka_refusals_total", { reason: "malformed_body", api: "Metadata" })).toBe(1);
});

test("a Produce with acks=0 that fails is cut off by closing the connection, and says so", async () => {
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: Produce.key, apiVersion: 7, correlationId: 400, clientId: "fire-and-forget" });
  const records = encodeRecordBatch({ records: [{ value: new TextEncoder().encode("x") }] });
  Produce.encodeRequest(w, 7, { ...defaultProduceRequest(), acks: 0, timeoutMs: 1000, topicData: [{ name: "no-such-partition", partitionData: [{ index: 7, records }] }] });
  w.patchInt32(mark, w.length - 4);
  await refusedByClose(w.finish(), "127.0.0.15");
  await until("the acks=0 line", () => refusalLines('client_id="fire-and-forget"').length > 0);
  expect(refusalLines('client_id="fire-and-forget"')[0]).toBe(
    'streamctl: warning: refused Produce v7 from 127.0.0.15 client_id="fire-and-forget": it failed and has no answer to carry the error (acks=0), so Kafka\'s rule is to close the connection; connection closed',
  );
  const families = parsePrometheusText((await api(broker.http, "/metrics")).text);
  expect(sampleValue(families, "streamctl_kafka_refusals_total", { reason: "failed_without_answer", api: "Produce" })).toBe(1);
});
