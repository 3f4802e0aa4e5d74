// Benchmarks for the data commands (section "cli"), side by side with kcat in the same run on the
// same file and the same broker:
//   produce  `streamctl produce --file F T --compression zstd --acks all`
//            vs `kcat -P -t T2 -p 0 -z zstd -X acks=all -l F`
//   consume  `streamctl consume T --until-end > /dev/null` vs `kcat -C -t T2 -p 0 -o beginning -e > /dev/null`
// F is a generated log file of ~100-byte lines, BENCH_CLI_BYTES bytes (default 1 GiB). MB/s is
// F's size over wall-clock time, end to end (process start to exit, every record acknowledged with
// acks=all, i.e. fdatasync'd by the broker under its default --fsync always). The broker is
// `bin/streamctl serve` on port 0 with a fresh data dir. Each pair runs twice in alternating order
// and the better run of each counts. Measures only; asserts nothing.
import { closeSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { removeDir, startBroker, STREAMCTL_BIN, tempDir } from "../test/harness.ts";
import type { BenchRow } from "./types.ts";

const SECTION = "cli";
const MB = 1_000_000;
const ROUNDS = 2;

/** Deterministic log lines of about 100 bytes (timestamps, levels, ids, latencies). */
function writeLogFile(path: string, bytes: number): number {
  const fd = openSync(path, "w");
  const levels = ["INFO ", "WARN ", "DEBUG", "ERROR"];
  const methods = ["GET ", "POST", "PUT "];
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
  let written = 0;
  let lines = 0;
  const base = Date.UTC(2026, 10, 21);
  while (written < bytes) {
    let pos = 0;
    while (pos < chunk.length - 200 && written + pos < bytes) {
      const ts = new Date(base + lines * 7).toISOString();
      const line = `${ts} ${levels[next() % 4]} svc=checkout ${methods[next() % 3]} /api/v1/orders/${next() % 1_000_000} user=u${next() % 50_000} status=200 ms=${next() % 900}\n`;
      pos += chunk.write(line, pos, "latin1");
      lines++;
    }
    writeSync(fd, chunk, 0, pos);
    written += pos;
  }
  closeSync(fd);
  return lines;
}

async function timed(argv: string[], env: Record<string, string> = {}): Promise<number> {
  const start = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...env } });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  const ms = performance.now() - start;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err.trim()}`);
  return ms;
}

export async function run(): Promise<BenchRow[]> {
  const bytes = Number(process.env.BENCH_CLI_BYTES ?? 1024 * 1024 * 1024);
  const dir = tempDir("streamctl-bench-cli-");
  const file = join(dir, "app.log");
  const lines = writeLogFile(file, bytes);
  const size = statSync(file).size;
  const broker = await startBroker();
  const b = broker.kafka;
  const best = { scProduce: Infinity, kcProduce: Infinity, scConsume: Infinity, kcConsume: Infinity };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const sc = `bench-streamctl-${round}`;
      const kc = `bench-kcat-${round}`;
      const produceStreamctl = () => timed([STREAMCTL_BIN, "produce", sc, "--broker", b, "--file", file, "--compression", "zstd", "--acks", "all"]);
      const produceKcat = () => timed(["kcat", "-b", b, "-q", "-P", "-t", kc, "-p", "0", "-z", "zstd", "-X", "acks=all", "-l", file]);
      // Alternate who goes first, so neither always gets the colder or the warmer broker.
      if (round % 2 === 0) {
        best.scProduce = Math.min(best.scProduce, await produceStreamctl());
        best.kcProduce = Math.min(best.kcProduce, await produceKcat());
      } else {
        best.kcProduce = Math.min(best.kcProduce, await produceKcat());
        best.scProduce = Math.min(best.scProduce, await produceStreamctl());
      }
      const consumeStreamctl = () => timed([STREAMCTL_BIN, "consume", sc, "--broker", b, "--until-end"]);
      const consumeKcat = () => timed(["kcat", "-b", b, "-q", "-C", "-t", kc, "-p", "0", "-o", "beginning", "-e"]);
      if (round % 2 === 0) {
        best.scConsume = Math.min(best.scConsume, await consumeStreamctl());
        best.kcConsume = Math.min(best.kcConsume, await consumeKcat());
      } else {
        best.kcConsume = Math.min(best.kcConsume, await consumeKcat());
        best.scConsume = Math.min(best.scConsume, await consumeStreamctl());
      }
    }
  } finally {
    await broker.stop();
    removeDir(broker.dataDir);
    rmSync(dir, { recursive: true, force: true });
  }
  const mbps = (ms: number) => Math.round((size / MB / (ms / 1000)) * 10) / 10;
  const what = `${(size / MB).toFixed(0)} MB log file, ${lines.toLocaleString("en-US")} lines of ~${Math.round(size / lines)} bytes, local broker (fsync always), best of ${ROUNDS}`;
  return [
    { section: SECTION, name: "streamctl produce --file, zstd, acks=all", value: mbps(best.scProduce), unit: "MB/s", note: `${what}; streamctl produce T --file F --compression zstd --acks all` },
    { section: SECTION, name: "kcat -P -l, zstd, acks=all", value: mbps(best.kcProduce), unit: "MB/s", note: `${what}; kcat -P -t T -p 0 -z zstd -X acks=all -l F (librdkafka 2.0.2 defaults otherwise)` },
    { section: SECTION, name: "streamctl consume --until-end > /dev/null", value: mbps(best.scConsume), unit: "MB/s", note: `${what}; the topic streamctl produced` },
    { section: SECTION, name: "kcat -C -e > /dev/null", value: mbps(best.kcConsume), unit: "MB/s", note: `${what}; kcat -C -t T -p 0 -o beginning -e, the topic kcat produced` },
  ];
}

if (import.meta.main) {
  for (const row of await run()) console.log(`${row.name.padEnd(48)} ${String(row.value).padStart(8)} ${row.unit}   (${row.note})`);
}
