// Startup with data on disk (issue 8: `streamctl serve` ready in ≤ 150 ms with 10 GiB after a clean
// stop), and the broker's memory right after, which must not grow with the data.
//
// The data: `streamctl bench produce` writes ~1 GiB (1,000,000 records of 1,000 B) into one
// partition, the broker stops cleanly (SIGTERM), and the topic directory is copied under new names
// (topic.json patched with the new name and a fresh topic id) until BENCH_STARTUP_GIB (default 10)
// GiB lie in the data dir — real files, no links. With less free space than that plus 2 GiB, it
// uses what fits and says so. Then the broker is started RUNS times on the data dir and stopped
// cleanly each time; the time is from spawn to the ready line on stderr. Measures; asserts nothing.
import { readFileSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKSUM_FIELD, encodeCheckedJson } from "../core/checked-json.ts";
import { removeDir, startBroker, STREAMCTL_BIN, tempDir } from "../test/harness.ts";
import type { BenchRow } from "./types.ts";

const GIB = 2 ** 30;
const WANT_GIB = Number(process.env.BENCH_STARTUP_GIB ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECTION = "startup";

function freshTopicId(old: unknown): unknown {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  if (typeof old === "string" && /^[0-9a-f-]{36}$/i.test(old)) return crypto.randomUUID();
  if (typeof old === "string") return Buffer.from(bytes).toString("base64url").slice(0, old.length);
  return old;
}

async function exec(argv: string[]): Promise<void> {
  const p = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err}`);
}

function duBytes(dir: string): number {
  const r = Bun.spawnSync(["du", "-sb", dir]);
  return Number(new TextDecoder().decode(r.stdout).split("\t")[0]);
}

export async function run(): Promise<BenchRow[]> {
  const dir = tempDir("streamctl-bench-startup-");
  const dataDir = join(dir, "data");
  const rows: BenchRow[] = [];
  try {
    const fs = statfsSync(dir);
    const freeGiB = (fs.bavail * fs.bsize) / GIB;
    const copies = Math.max(1, Math.min(WANT_GIB, Math.floor(freeGiB - 2)));
    // ~1 GiB into one partition.
    const broker = await startBroker({ dataDir });
    const p = Bun.spawn([STREAMCTL_BIN, "bench", "produce", "--broker", broker.kafka, "--topic", "t0", "--records", String(Math.round(GIB / 1030)), "--record-size", "1000", "--json"], { stdout: "ignore", stderr: "pipe" });
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`bench produce exited ${code}: ${err}`);
    await broker.stop();
    const topics = join(dataDir, "topics");
    for (let i = 1; i < copies; i++) {
      await exec(["cp", "-r", join(topics, "t0"), join(topics, `t${i}`)]);
      const meta = join(topics, `t${i}`, "topic.json");
      const { [CHECKSUM_FIELD]: _, ...j } = JSON.parse(readFileSync(meta, "utf8"));
      j.name = `t${i}`;
      j.topicId = freshTopicId(j.topicId);
      writeFileSync(meta, encodeCheckedJson(j, 2));
    }
    await exec(["sync"]);
    const bytes = duBytes(dataDir);
    const times: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const b = await startBroker({ dataDir });
      times.push(performance.now() - started);
      const m = readFileSync(`/proc/${b.proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
      rss.push(m ? Number(m[1]) / 1024 : NaN);
      const exitCode = await b.stop();
      if (exitCode !== 0) throw new Error(`broker exited ${exitCode} on SIGTERM:\n${b.stderr()}`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const gib = bytes / GIB;
    const note = `${gib.toFixed(1)} GiB in ${copies} topics of 1 partition (${copies < WANT_GIB ? `only ${copies} GiB fit the free space; ` : ""}copies of one ~1 GiB log), after a clean stop; spawn → ready line`;
    rows.push({ section: SECTION, name: `serve ready with ${gib.toFixed(1)} GiB of data`, value: median(times), runs: times, unit: "ms", note });
    rows.push({ section: SECTION, name: "broker RSS right after ready", value: median(rss), runs: rss, unit: "MiB", note: "VmRSS; segments are mapped only when read" });
  } finally {
    removeDir(dir);
  }
  return rows;
}

if (import.meta.main) console.log(await run());
