// The abuse cases of issue #18 ("fair under abuse"), as an attacker on loopback would run them,
// shared by test/reliability-abuse.test.ts (small, asserting bounds) and bench/abuse.ts (the
// issue's sizes, figures before and after):
//
//   bombs        one Produce request of many compressed batches that inflate to the per-batch
//                cap: zstd (the issue: 1,000 × 2.6 KiB) and gzip (64 × 1 MiB in one 64 MiB request);
//                `hidden`: streams that do not declare their size (or lie), so only the caps stop them
//   partial      connections that each send most of a large frame and then nothing more
//   idle         sockets that connect and send nothing, from one or several client addresses
//
// Meanwhile a well-formed client in another process (test/reliability-prober.ts) sends ApiVersions
// one at a time; its latencies say whether anyone else was frozen out. Memory is the broker's peak
// resident set (VmHWM) from /proc. Sockets are node:net ones: they queue what the kernel does not
// take yet, and can be bound to a client address (127.0.0.2 …) so that the prober's 127.0.0.1 is
// another client.
import * as net from "node:net";
import * as zlib from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32c } from "../core/batch/crc32c.ts";
import { encodeRequestHeader } from "../net/protocol/header.ts";
import { Produce, defaultProduceRequest } from "../net/protocol/messages/index.ts";
import { Writer } from "../net/protocol/writer.ts";
import { REPO_ROOT } from "./harness.ts";

/** The broker's resident set now and at its peak, in MiB. */
export function rssMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { now: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** A one-record RecordBatch v2 whose records section is `payload` under `codec` (4 zstd, 1 gzip). */
export function batchOf(codec: number, payload: Uint8Array): Uint8Array {
  const batch = new Uint8Array(61 + payload.length);
  const v = new DataView(batch.buffer);
  v.setInt32(8, batch.length - 12);
  v.setInt32(12, -1);
  v.setInt8(16, 2);
  v.setInt16(21, codec);
  v.setBigInt64(27, BigInt(Date.now()));
  v.setBigInt64(35, BigInt(Date.now()));
  v.setBigInt64(43, -1n);
  v.setInt16(51, -1);
  v.setInt32(53, -1);
  v.setInt32(57, 1);
  batch.set(payload, 61);
  v.setUint32(17, crc32c(batch, 21, batch.length));
  return batch;
}

/** A compressed stream of `bytes` zeros; `hidden`: without its size (zstd streamed; gzip's ISIZE zeroed). */
export async function bombPayload(codec: "zstd" | "gzip", bytes: number, hidden: boolean): Promise<Uint8Array> {
  const zeros = new Uint8Array(bytes);
  if (codec === "gzip") {
    const g = zlib.gzipSync(zeros, { level: 9 });
    if (hidden) g.fill(0, g.length - 4);
    return new Uint8Array(g);
  }
  if (!hidden) return Bun.zstdCompressSync(zeros, { level: 19 });
  const chunks: Buffer[] = [];
  const c = zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: 19 } });
  c.on("data", (d: Buffer) => chunks.push(d));
  await new Promise((r) => (c.on("end", r), c.end(zeros)));
  return new Uint8Array(Buffer.concat(chunks));
}

/** A Produce v7 request frame (acks=1) carrying `count` copies of `batch` for partition 0 of `topic`. */
export function bombRequest(topic: string, batch: Uint8Array, count: number, correlationId = 1): Uint8Array {
  const w = new Writer(batch.length * count + 1024);
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: Produce.key, apiVersion: 7, correlationId, clientId: "abuse" });
  const partitionData = Array.from({ length: count }, () => ({ index: 0, records: batch }));
  Produce.encodeRequest(w, 7, { ...defaultProduceRequest(), acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData }] });
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}

/** Opens a socket to `address` (host:port), from `localAddress` if given. Rejects if refused. */
export function openSocket(address: string, localAddress?: string): Promise<net.Socket> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: Number(port), localAddress });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** Writes `bytes` in pieces, waiting for the kernel to take each; resolves when all is taken, or the socket closed. */
export async function writeAll(s: net.Socket, bytes: Uint8Array): Promise<void> {
  const PIECE = 1 << 20;
  for (let at = 0; at < bytes.length && !s.destroyed; at += PIECE) {
    if (!s.write(bytes.subarray(at, at + PIECE))) {
      await new Promise<void>((r) => {
        const done = () => {
          s.off("drain", done);
          s.off("close", done);
          r();
        };
        s.on("drain", done);
        s.on("close", done);
      });
    }
  }
}

/** Sends one request frame and resolves with its answer frame (without the length), or null if the connection closed. */
export function roundTrip(s: net.Socket, frame: Uint8Array): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        s.off("data", onData);
        resolve(new Uint8Array(got.subarray(4, 4 + got.readInt32BE(0))));
      }
    };
    s.on("data", onData);
    s.once("close", () => resolve(null));
    void writeAll(s, frame);
  });
}

/** The error code of the first partition of a Produce v7 answer (after the correlation id). */
export function firstProduceErrorCode(answer: Uint8Array): number {
  // correlation id (4), topics count (4), name (2 + n), partitions count (4), index (4), error code (2)
  const v = new DataView(answer.buffer, answer.byteOffset);
  const nameLength = v.getInt16(8);
  return v.getInt16(10 + nameLength + 8);
}

/** Connections that each send a frame prefix declaring `declaredBytes` and then `sentBytes` of it, and stall. */
export async function partialFrames(address: string, connections: number, declaredBytes: number, sentBytes: number): Promise<{ sockets: net.Socket[]; sent: Promise<void> }> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => openSocket(address)));
  const body = new Uint8Array(sentBytes + 4);
  new DataView(body.buffer).setInt32(0, declaredBytes - 4);
  for (const s of sockets) s.on("error", () => {});
  // Not awaited by the attacker: a connection the broker stops reading stalls its writes.
  const sent = Promise.all(sockets.map((s) => writeAll(s, body))).then(() => {});
  return { sockets, sent };
}

/** `count` sockets that send nothing, spread over `localAddresses`; counts those the broker closed at once. */
export async function idleSockets(address: string, count: number, localAddresses: string[]): Promise<{ sockets: net.Socket[]; closed: () => number }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, count - i) }, (_, j) =>
        openSocket(address, localAddresses[(i + j) % localAddresses.length]).catch(() => null),
      ),
    );
    for (const s of batch) {
      if (s === null) {
        closed++;
        continue;
      }
      s.on("error", () => {});
      s.once("close", () => closed++);
      sockets.push(s);
    }
  }
  return { sockets, closed: () => closed };
}

/** The prober child (test/reliability-prober.ts) while `attack` runs: its latencies in ms. */
export async function whileProbed(kafka: string, attack: () => Promise<void>): Promise<{ latencies: number[]; failures: number; maxMs: number; p99Ms: number }> {
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "test/reliability-prober.ts"), kafka], { stdout: "pipe", stderr: "inherit", cwd: REPO_ROOT });
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
  const sorted = [...latencies].sort((a, b) => a - b);
  return { latencies, failures, maxMs: sorted.at(-1) ?? 0, p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0 };
}

/** How long until a new client from 127.0.0.1 gets an ApiVersions answer (ms), trying every 100 ms for up to `withinMs`; null if never. */
export async function newClientServedAfter(kafka: string, withinMs: number): Promise<number | null> {
  const started = performance.now();
  const frame = apiVersionsFrame();
  while (performance.now() - started < withinMs) {
    const s = await openSocket(kafka).catch(() => null);
    if (s !== null) {
      s.on("error", () => {});
      const answer = await Promise.race([roundTrip(s, frame), new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
      s.destroy();
      if (answer !== null) return performance.now() - started;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** ApiVersions v0, correlation id 7. */
export function apiVersionsFrame(): Uint8Array {
  const w = new Writer(64);
  const mark = w.reserveInt32();
  encodeRequestHeader(w, { apiKey: 18, apiVersion: 0, correlationId: 7, clientId: "abuse-new-client" });
  w.patchInt32(mark, w.length - 4);
  return w.finish();
}
