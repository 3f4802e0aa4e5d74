// Issue 22: README's tour is a test. Every command of the `sh` blocks of "## A short tour" runs, in
// order, under `bash -o pipefail` in a scratch directory, against one fresh broker (the compiled
// binary on free ports), and what it prints is checked, so README cannot break itself again.
//
// How a command runs:
// - The tour's addresses are the defaults (127.0.0.1:9092, localhost:8092); the test's broker has
//   free ports, so kcat/curl lines are rewritten to them and streamctl gets STREAMCTL_BROKER and
//   STREAMCTL_HTTP (HOST:PORT, as the ready line prints it). `streamctl` is the binary under test.
// - The files the tour reads (app.log, orders.txt, big.log) are made in the scratch directory.
// - A command that runs until stopped is started in its own process group and stopped with SIGINT,
//   as a user's Ctrl-C, once its output has shown up (BOUNDED below, each with its reason); an
//   interactive one is left to the test that drives a terminal (SKIPPED); the bench commands run
//   with fewer records (SCALED). Everything else must end by itself with exit 0.
// - CHECKS says what each command must print; a tour command with no check must still exit 0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BrokerProcess, REPO_ROOT, removeDir, startBroker, STREAMCTL_BIN, tempDir } from "./harness.ts";

/** The commands of README's tour, in order, without their trailing comments. */
export function tourCommands(readme: string): string[] {
  const start = readme.indexOf("\n## A short tour");
  if (start < 0) throw new Error("README has no '## A short tour' section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split("\n")) {
      const command = stripComment(line).trim();
      if (command !== "") commands.push(command);
    }
  }
  return commands;
}

/** The line without a `# comment` that starts outside quotes after a blank. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Bounded {
  match: RegExp;
  why: string;
  /** Stop (SIGINT) once this holds of the output so far. */
  until(out: Ran): boolean | Promise<boolean>;
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

const BOUNDED: Bounded[] = [
  {
    match: /^streamctl serve\b/,
    why: "a broker runs until stopped; on the default ports and data dir it would meet other brokers, so it gets free ports and a scratch dir",
    until: (o) => /^streamctl: ready kafka=\S+ http=\S+ data=.+$/m.test(o.stderr),
  },
  { match: /^tail -F app\.log \| streamctl produce logs$/, why: "tail -F follows the file forever", until: async () => (await endOffsets("logs")) >= APP_LOG.length },
  // kcat buffers stdout into a pipe until it exits: its stderr says when it has read everything.
  { match: /^kcat .* -G billing /, why: "a group consumer runs until stopped", until: (o) => o.stderr.includes("Reached end of topic numbers [0] at offset 1000") },
  { match: /^streamctl consume logs --from @-2h --grep /, why: "consume without --until-end follows the topic", until: (o) => o.stdout.includes("ERROR payment failed") },
  { match: /^streamctl consume orders --key 42 /, why: "consume without --until-end follows the topic", until: (o) => lines(o.stdout).length === 2 },
  { match: /^streamctl consume orders --group billing$/, why: "a group consumer follows the topic", until: (o) => lines(o.stdout).length === 3 },
  { match: /^streamctl consume orders --group billing --from @-1h --reset-group-start$/, why: "a group consumer follows the topic", until: (o) => lines(o.stdout).length === 3 },
  { match: /^streamctl tail logs -n 20 -f$/, why: "tail -f follows the topic", until: (o) => lines(o.stdout).length === 20 },
  { match: /^curl -sN /, why: "a Server-Sent Events stream stays open", until: (o) => /^data: /m.test(o.stdout) },
];

const SKIPPED: Array<{ match: RegExp; why: string }> = [{ match: /^streamctl top$/, why: "interactive: needs a terminal; test/top-tmux.test.ts drives it in tmux" }];

/** The bench figures take minutes of a shared machine; the commands run as written, with fewer records. */
const SCALED: Array<{ match: RegExp; rewrite(c: string): string }> = [
  { match: /^streamctl bench (produce|consume) .*--records 1000000/, rewrite: (c) => c.replace("--records 1000000", "--records 20000") },
  { match: /^streamctl bench produce --rate 5000 --records 50000/, rewrite: (c) => c.replace("--records 50000", "--records 5000") },
  { match: /^streamctl bench e2e --rate 5000/, rewrite: (c) => `${c} --records 5000` },
];

const APP_LOG = ["app started", "WARN disk 80% full", "user 7 logged in", "ERROR payment failed", "app ready"];
const ORDERS = ["42:order-1", "7:order-2", "42:order-3"];
const BIG_LOG = Array.from({ length: 1000 }, (_, i) => `line ${i + 1}`);

type Check = (r: Ran) => void | Promise<void>;

/** What each command of the tour must print (matched on the command as README writes it). */
const CHECKS: Array<[RegExp, Check]> = [
  [/^streamctl --help$/, (r) => expect(r.stdout).toContain("Usage: streamctl <command> [options]")],
  [/^streamctl serve/, (r) => expect(r.stderr).toContain("streamctl: stopped cleanly")],
  [/^kcat .* -C -t numbers -o -5 -e$/, (r) => expect(r.stdout).toBe("996\n997\n998\n999\n1000\n")],
  [/^kcat .* -G billing /, (r) => expect(lines(r.stdout).slice(0, 3)).toEqual(["1", "2", "3"])],
  [/^streamctl produce orders --key-separator/, (r) => expect(r.stderr).toContain("3 records acknowledged")],
  [/^streamctl produce logs --file big\.log$/, (r) => expect(r.stderr).toContain("1,000 records acknowledged")],
  [/^streamctl consume logs --until-end \| wc -l$/, (r) => expect(r.stdout.trim()).toBe(String(APP_LOG.length + BIG_LOG.length))],
  [/^streamctl consume logs --from @-2h --grep/, (r) => expect(lines(r.stdout)).toEqual(["WARN disk 80% full", "ERROR payment failed"])],
  [/^streamctl consume orders --key 42 /, (r) => expect(lines(r.stdout)).toEqual([expect.stringMatching(/^0\/0 \d{13} 42=order-1 src=shop$/), expect.stringMatching(/^0\/2 \d{13} 42=order-3 src=shop$/)])],
  [/^streamctl consume orders --group billing$/, (r) => expect(lines(r.stdout)).toEqual(["order-1", "order-2", "order-3"])],
  [
    /^streamctl consume orders --group billing --from @-1h --reset-group-start$/,
    (r) => {
      expect(lines(r.stdout)).toEqual(["order-1", "order-2", "order-3"]);
      expect(r.stderr).toContain("--reset-group-start: starting orders [0] at --from @-1h, not at the committed offsets");
    },
  ],
  [/^streamctl consume logs --grep error -i --until-end$/, (r) => expect(lines(r.stdout)).toEqual(["ERROR payment failed"])],
  // A closed stdout ends consume on an idle topic by itself (issue 22), exit 0: no longer bounded.
  [/^streamctl consume logs \| head -1$/, (r) => expect(r.stdout).toBe("app started\n")],
  [/^streamctl tail logs -n 20 -f$/, (r) => expect(lines(r.stdout).at(-1)).toBe("line 1000")],
  [/^streamctl tail logs -n 5 --grep ERROR --json$/, (r) => expect(lines(r.stdout).map((l) => JSON.parse(l).value)).toEqual(["ERROR payment failed"])],
  [/^streamctl replay orders .* --to-topic orders-fix$/, (r) => expect(r.stderr).toContain("into orders-fix")],
  [/^streamctl consume orders --json --until-end \| streamctl produce orders-copy --json$/, (r) => expect(r.stderr).toContain("3 records acknowledged")],
  [/^streamctl topics create payments /, (r) => expect(r.stderr).toBe("created topic payments with 3 partitions\n")],
  [/^streamctl topics list$/, (r) => expect(lines(r.stdout).map((l) => l.split(/\s+/)[0])).toEqual(expect.arrayContaining(["TOPIC", "logs", "numbers", "orders", "orders-copy", "payments"]))],
  [/^streamctl topics describe orders$/, (r) => expect(r.stdout).toMatch(/^topic {7}orders\nid {10}\S+\ndurability  fsync=always: /)],
  [/^streamctl topics alter payments /, (r) => expect(r.stdout).toMatch(/^cleanup\.policy +compact +topic$/m)],
  [/^streamctl topics compact payments$/, (r) => expect(r.stderr).toMatch(/^compacted topic payments: removed 0 records, /)],
  [/^streamctl metadata$/, (r) => expect(r.stdout).toStartWith("cluster     streamctl\ncontroller  0\n1 broker, ")],
  [/^streamctl offsets orders --at /, (r) => expect(r.stdout).toMatch(/^TOPIC +PARTITION +START +END +RECORDS +OFFSET@TIME\norders +0 +0 +3 +3 +0\n/)],
  [/^streamctl groups list$/, (r) => expect(r.stdout).toMatch(/^billing +Empty +0 /m)],
  [/^streamctl groups describe billing$/, (r) => expect(r.stdout).toMatch(/^orders +0 +3 +3 +0$/m)],
  [/^streamctl groups reset-offsets billing --to @-2h$/, (r) => expect(r.stderr).toBe("dry run: nothing changed; add --execute to apply\n")],
  [/^streamctl groups reset-offsets billing --to @-2h --execute$/, (r) => expect(r.stderr).toContain("previous offsets saved to reset-offsets-billing-")],
  [/^streamctl top --once$/, (r) => expect(r.stdout).toMatch(/^streamctl top {2}http:\/\/127\.0\.0\.1:\d+ {2}up /)],
  [/^streamctl bench (produce|consume|e2e)/, (r) => expect(r.stdout).toMatch(/records\/s|"recordsPerSec"|"records"/)],
  [/^curl -s localhost:8092\/v1\/topics$/, (r) => expect(JSON.parse(r.stdout).topics.map((t: { name: string }) => t.name)).toContain("orders")],
  [/^printf .* \| curl /, (r) => expect(JSON.parse(r.stdout)).toBeObject()],
  [/^curl -s '.*\/records\?partition=0/, (r) => expect(lines(r.stdout).map((l) => JSON.parse(l).value).slice(0, 3)).toEqual(["order-1", "order-2", "order-3"])],
  [/^curl -sN /, (r) => expect(r.stdout).toMatch(/^data: \{.*"value":"order-1"/m)],
  [/^curl -s localhost:8092\/v1\/stats; /, (r) => expect(r.stdout).toContain('{"status":"ok"')],
];

let broker: BrokerProcess;
let scratch: string;
let env: Record<string, string>;

async function endOffsets(topic: string): Promise<number> {
  const r = await spawn(`streamctl offsets ${topic} --json`);
  if (r.code !== 0) return -1;
  const doc = JSON.parse(r.stdout) as { topics: Array<{ partitions: Array<{ end: number }> }> };
  return doc.topics[0]!.partitions.reduce((n, p) => n + p.end, 0);
}

/** Runs a command line to its end (bounded by `timeoutMs`). */
async function spawn(line: string, timeoutMs = 45_000): Promise<Ran> {
  const proc = Bun.spawn(["setsid", "bash", "-o", "pipefail", "-c", line], { cwd: scratch, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => killGroup(proc.pid, "SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Runs a command that does not end by itself until `until` holds, then stops it as Ctrl-C would. */
async function spawnBounded(line: string, until: Bounded["until"], timeoutMs = 30_000): Promise<Ran> {
  const proc = Bun.spawn(["setsid", "bash", "-o", "pipefail", "-c", line], { cwd: scratch, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const out: Ran = { code: null, stdout: "", stderr: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out[key] += decoder.decode(chunk, { stream: true });
  };
  const pumped = Promise.all([pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr")]);
  const deadline = Date.now() + timeoutMs;
  let held = false;
  while (!held && Date.now() < deadline && proc.exitCode === null) {
    held = await until(out);
    if (!held) await Bun.sleep(100); // pacing between looks at the output, not a stand-in for it
  }
  killGroup(proc.pid, "SIGINT");
  const stopped = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => null)]);
  if (stopped === null) killGroup(proc.pid, "SIGKILL");
  out.code = await proc.exited;
  await pumped;
  if (!held) throw new Error(`'${line}' never showed what the tour promises within ${timeoutMs} ms (exit ${out.code}):\nstdout: ${out.stdout.slice(-2000)}\nstderr: ${out.stderr.slice(-2000)}`);
  return out;
}

/** The command as it runs here: the broker's free ports instead of the defaults. */
function localize(command: string): string {
  let c = command;
  for (const s of SCALED) if (s.match.test(c)) c = s.rewrite(c);
  if (/^streamctl serve\b/.test(c)) c += ` --data-dir ${join(scratch, `serve-${Math.random().toString(36).slice(2)}`)} --kafka-listen 127.0.0.1:0 --http-listen 127.0.0.1:0`;
  return c.replaceAll("127.0.0.1:9092", broker.kafka).replaceAll("localhost:8092", broker.http).replaceAll("127.0.0.1:8092", broker.http);
}

const commands = tourCommands(readFileSync(join(REPO_ROOT, "README.md"), "utf8"));

beforeAll(async () => {
  broker = await startBroker();
  scratch = tempDir("streamctl-tour-");
  const bin = join(scratch, ".bin");
  mkdirSync(bin);
  symlinkSync(STREAMCTL_BIN, join(bin, "streamctl"));
  writeFileSync(join(scratch, "app.log"), `${APP_LOG.join("\n")}\n`);
  writeFileSync(join(scratch, "orders.txt"), `${ORDERS.join("\n")}\n`);
  writeFileSync(join(scratch, "big.log"), `${BIG_LOG.join("\n")}\n`);
  env = {
    ...(process.env as Record<string, string>),
    PATH: `${bin}:${process.env.PATH}`,
    NO_COLOR: "1",
    STREAMCTL_BROKER: broker.kafka,
    STREAMCTL_HTTP: broker.http, // HOST:PORT, as the ready line prints it
    STREAMCTL_DATA_DIR: join(scratch, "default-data"),
  };
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
  removeDir(scratch);
});

describe("README's tour", () => {
  test("is there, and every bounded, skipped or scaled case names a command of it", () => {
    expect(commands.length).toBeGreaterThan(30);
    for (const rule of [...BOUNDED, ...SKIPPED, ...SCALED]) expect({ rule: String(rule.match), used: commands.some((c) => rule.match.test(c)) }).toEqual({ rule: String(rule.match), used: true });
  });

  test.each(commands.map((c, i) => [i + 1, c] as const))("%i: %s", async (_, command) => {
    const skipped = SKIPPED.find((s) => s.match.test(command));
    if (skipped) return; // skipped.why
    const line = localize(command);
    const bounded = BOUNDED.find((b) => b.match.test(command));
    const r = bounded ? await spawnBounded(line, bounded.until) : await spawn(line);
    if (!bounded) expect({ command, code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ command, code: 0, stderr: "" });
    const check = CHECKS.find(([m]) => m.test(command))?.[1];
    if (check) await check(r);
  });
});
