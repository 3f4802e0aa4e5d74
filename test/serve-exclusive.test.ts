// One broker per data dir and per port (issue #22, "Trust"). Before the lock, a second `serve` on
// a live dir ran recovery over the first one's files and wrote its clean-shutdown marker there:
// 150 records acknowledged, 50 left after a restart. Before `reusePort: false`, a second broker
// bound the first one's HTTP port and the kernel spread requests over both.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, runProcess, startBroker, STREAMCTL_BIN, streamctl, tempDir } from "./harness.ts";

let first: BrokerProcess;

beforeAll(async () => {
  first = await startBroker();
});

afterAll(async () => {
  await first.stop();
  removeDir(first.dataDir);
});

function serve(args: string[]) {
  return runProcess([STREAMCTL_BIN, "serve", ...args], { env: { NO_COLOR: "1" }, timeoutMs: 20000 });
}

test("a second serve on a live data dir exits 2 naming the holder's pid, and nothing acknowledged is lost", async () => {
  const lines = Array.from({ length: 150 }, (_, i) => `r${i}`).join("\n");
  const produced = await streamctl(["produce", "kept", "--broker", first.kafka], { input: lines });
  expect(produced.code).toBe(0);

  const second = await serve(["--data-dir", first.dataDir, "--kafka-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]);
  expect(second.code).toBe(2);
  const errLines = second.stderr.trimEnd().split("\n");
  expect(errLines).toHaveLength(1);
  expect(errLines[0]).toContain(`pid ${first.proc.pid}`);
  expect(errLines[0]).toContain(first.dataDir);

  // The first broker still serves everything, and after a clean restart all 150 are there.
  const more = await streamctl(["produce", "kept", "--broker", first.kafka], { input: "r150\n" });
  expect(more.code).toBe(0);
  expect(await first.stop()).toBe(0);
  first = await startBroker({ dataDir: first.dataDir });
  expect(first.stderr()).not.toMatch(/\b[1-9]\d* (cut|damaged)/);
  const read = await streamctl(["consume", "kept", "--from", "beginning", "--until-end", "--broker", first.kafka]);
  expect(read.stdout.trimEnd().split("\n")).toHaveLength(151);
});

test("the lock dies with its holder: a broker killed with -9 leaves a dir the next one opens", async () => {
  const dir = tempDir();
  try {
    const victim = await startBroker({ dataDir: dir });
    await victim.kill9();
    const next = await startBroker({ dataDir: dir });
    expect(await next.stop()).toBe(0);
  } finally {
    removeDir(dir);
  }
});

test.each([
  ["http", (port: string) => ["--kafka-listen", "127.0.0.1:0", "--http-listen", port]],
  ["kafka", (port: string) => ["--kafka-listen", port, "--http-listen", "127.0.0.1:0"]],
])("a %s port another broker holds is refused, naming the listener and the address", async (listener, flags) => {
  const taken = listener === "http" ? first.http : first.kafka;
  const dir = tempDir();
  try {
    const second = await serve(["--data-dir", dir, ...flags(taken)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`cannot listen for ${listener} on ${taken}`);
    expect(second.stderr).not.toContain("streamctl: ready");
  } finally {
    removeDir(dir);
  }
  // The holder still answers its own port.
  const res = await fetch(`http://${first.http}/healthz`);
  expect(res.status).toBe(200);
});
