// Golden-frame capture: a TCP proxy between a real client (kcat, kafkajs) and a Kafka-protocol
// broker that writes every request frame and its response frame, length prefix included, to
// testdata/frames/ as `<prefix>-<api>-v<version>[-<n>].request.bin` / `.response.bin`.
// It parses only the 4-byte length and the request header's key/version/correlation id, so it
// works with any broker and never depends on our codec.
//
//   bun run scripts/capture-proxy.ts --upstream 127.0.0.1:9092 --prefix kcat --out testdata/frames
//   kcat -b 127.0.0.1:<printed port> ...
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const API_NAMES: Record<number, string> = {
  0: "produce", 1: "fetch", 2: "list-offsets", 3: "metadata", 8: "offset-commit", 9: "offset-fetch",
  10: "find-coordinator", 11: "join-group", 12: "heartbeat", 13: "leave-group", 14: "sync-group",
  15: "describe-groups", 16: "list-groups", 18: "api-versions", 19: "create-topics", 20: "delete-topics",
  21: "delete-records", 22: "init-producer-id", 23: "offset-for-leader-epoch", 32: "describe-configs",
  33: "alter-configs", 35: "describe-log-dirs", 37: "create-partitions", 42: "delete-groups",
  43: "elect-leaders", 44: "incremental-alter-configs", 47: "offset-delete", 60: "describe-cluster",
  61: "describe-producers", 68: "consumer-group-heartbeat", 69: "consumer-group-describe",
  71: "get-telemetry-subscriptions", 75: "describe-topic-partitions",
};

const { values } = parseArgs({
  options: {
    upstream: { type: "string" },
    prefix: { type: "string", default: "capture" },
    out: { type: "string", default: "testdata/frames" },
    only: { type: "string" }, // comma-separated api keys to keep
    port: { type: "string", default: "0" },
  },
});
if (!values.upstream) throw new Error("--upstream HOST:PORT is required");
const [upHost, upPort] = values.upstream.split(":") as [string, string];
const outDir = values.out!;
const keep = values.only ? new Set(values.only.split(",").map(Number)) : undefined;
mkdirSync(outDir, { recursive: true });

function frames(state: { buf: Uint8Array }, chunk: Uint8Array): Uint8Array[] {
  const merged = new Uint8Array(state.buf.length + chunk.length);
  merged.set(state.buf);
  merged.set(chunk, state.buf.length);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (merged.length - pos >= 4) {
    const len = new DataView(merged.buffer, merged.byteOffset + pos).getInt32(0);
    if (merged.length - pos < 4 + len) break;
    out.push(merged.slice(pos, pos + 4 + len));
    pos += 4 + len;
  }
  state.buf = merged.slice(pos);
  return out;
}

function uniquePath(base: string, suffix: string): string {
  let path = join(outDir, `${base}${suffix}`);
  for (let n = 2; existsSync(path); n++) path = join(outDir, `${base}-${n}${suffix}`);
  return path;
}

interface Conn { up?: Bun.Socket<undefined>; reqs: Map<number, string>; inBuf: { buf: Uint8Array }; outBuf: { buf: Uint8Array }; early: Uint8Array[] }

const server = Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port: Number(values.port),
  socket: {
    async open(client) {
      client.data = { reqs: new Map(), inBuf: { buf: new Uint8Array() }, outBuf: { buf: new Uint8Array() }, early: [] };
      client.data.up = await Bun.connect({
        hostname: upHost, port: Number(upPort),
        socket: {
          data(_up, chunk) {
            for (const f of frames(client.data.outBuf, chunk)) {
              const corr = new DataView(f.buffer).getInt32(4);
              const base = client.data.reqs.get(corr);
              if (base) writeFileSync(base.replace(/\.request\.bin$/, ".response.bin"), f);
            }
            client.write(chunk);
          },
          close() { client.end(); },
        },
      });
      for (const c of client.data.early) client.data.up.write(c);
    },
    data(client, chunk) {
      for (const f of frames(client.data.inBuf, chunk)) {
        const dv = new DataView(f.buffer);
        const key = dv.getInt16(4), version = dv.getInt16(6), corr = dv.getInt32(8);
        if (keep && !keep.has(key)) continue;
        const path = uniquePath(`${values.prefix}-${API_NAMES[key] ?? `api${key}`}-v${version}`, ".request.bin");
        writeFileSync(path, f);
        client.data.reqs.set(corr, path);
      }
      if (client.data.up) client.data.up.write(chunk);
      else client.data.early.push(new Uint8Array(chunk));
    },
    close(client) { client.data.up?.end(); },
  },
});
console.error(`capture-proxy: listening on 127.0.0.1:${server.port} → ${values.upstream}, writing ${outDir}`);
