// Trust in the data commands (issue #22, "Trust"), the compiled binary as a user runs it:
// - a broker that accepts connections and never answers: every data command fails within its
//   --timeout naming the broker, and SIGTERM/SIGINT end it at once (143/130) whatever it waits on;
// - a broker killed mid-produce: produce reports its retries as they happen and fails within
//   --delivery-timeout;
// - a typo: consume, tail and replay say at once that the topic does not exist, exit 1, and create
//   nothing, whether or not the broker creates topics on first use;
// - `consume | head -1` and `tail -f | head -1` on an idle topic end once head has its line.
// Time is bounded only where the issue names a bound ("within its timeout"); nothing here sleeps to
// wait for something: each step waits for the event that shows the one before happened.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { type BrokerProcess, removeDir, runProcess, startBroker, STREAMCTL_BIN, streamctl } from "./harness.ts";

/** A TCP server that accepts every connection and never writes a byte. */
interface SilentServer {
  address: string;
  /** Resolves at the next connection it accepts. */
  nextConnection(): Promise<void>;
  stop(): void;
}

function silentServer(): SilentServer {
  let waiters: (() => void)[] = [];
  const sockets = new Set<Socket<undefined>>();
  const server: TCPSocketListener<undefined> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        sockets.add(s);
        for (const w of waiters.splice(0)) w();
      },
      data() {}, // read and ignore everything
      close(s) {
        sockets.delete(s);
      },
    },
  });
  return {
    address: `127.0.0.1:${server.port}`,
    nextConnection: () => new Promise<void>((r) => waiters.push(r)),
    stop() {
      waiters = [];
      for (const s of sockets) s.end();
      server.stop(true);
    },
  };
}

const env = { ...process.env, NO_COLOR: "1" };

describe("a broker that accepts and never answers", () => {
  let silent: SilentServer;
  beforeAll(() => {
    silent = silentServer();
  });
  afterAll(() => silent.stop());

  // [name, argv, stdin]: three each, as bun's test.each takes a callback with more parameters than
  // a row has values for one that waits for a `done` callback.
  const commands: [string, string[], string][] = [
    ["consume", ["consume", "t"], ""],
    ["consume --group", ["consume", "t", "--group", "g"], ""],
    ["tail -f", ["tail", "t", "-f"], ""],
    ["replay", ["replay", "t", "--from", "0"], ""],
    ["produce", ["produce", "t"], "one\n"],
    ["copy", ["copy", "t", "u"], ""],
    ["bench produce", ["bench", "produce", "--records", "10"], ""],
  ];

  test.each(commands)("%s fails within its --timeout, naming the broker (issue #22)", async (_name, args, input) => {
    const timeoutMs = 1500;
    const started = performance.now();
    const r = await streamctl([...args, "--broker", silent.address, "--timeout", String(timeoutMs)], { input, timeoutMs: 60_000 });
    const elapsed = performance.now() - started;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: expect.stringContaining(`broker ${silent.address} did not answer`) });
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    // Within its timeout: one request's worth, plus the process's own start and exit.
    expect(elapsed).toBeLessThan(timeoutMs + 3000);
  });

  test.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)("%s ends consume at once while it waits on the silent broker (exit %d)", async (signal, code) => {
    const connected = silent.nextConnection();
    // The default timeout (10 s) is far off: only the signal can end it soon.
    const proc = Bun.spawn([STREAMCTL_BIN, "consume", "t", "--broker", silent.address], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
    const guard = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    await connected; // it is now waiting for an answer that never comes
    const sent = performance.now();
    proc.kill(signal);
    const exit = await proc.exited;
    const elapsed = performance.now() - sent;
    clearTimeout(guard);
    expect(exit).toBe(code);
    // "Within 1 s" (data-stop.ts gives it 0.7 s), plus the time a busy machine takes to show the exit;
    // far from the 10 s timeout it would otherwise wait out.
    expect(elapsed).toBeLessThan(2000);
    expect(await new Response(proc.stdout).text()).toBe("");
  });

  test("a second Ctrl-C ends produce at once even while it waits on the silent broker", async () => {
    const connected = silent.nextConnection();
    const proc = Bun.spawn([STREAMCTL_BIN, "produce", "t", "--broker", silent.address], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env });
    const guard = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    await connected;
    proc.kill("SIGINT");
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    clearTimeout(guard);
  });
});

describe("against a live broker", () => {
  let broker: BrokerProcess;
  let strict: BrokerProcess;

  beforeAll(async () => {
    [broker, strict] = await Promise.all([startBroker(), startBroker({ args: ["--no-auto-create"] })]);
  });

  afterAll(async () => {
    for (const b of [broker, strict]) {
      await b.stop();
      removeDir(b.dataDir);
    }
  });

  async function topicNames(b: BrokerProcess): Promise<string[]> {
    const res = await fetch(`http://${b.http}/v1/topics`);
    const body = (await res.json()) as { topics?: { name: string }[] } | { name: string }[];
    const list = Array.isArray(body) ? body : (body.topics ?? []);
    return list.map((t) => t.name);
  }

  test.each([
    ["consume", ["consume", "typo"]],
    ["consume --until-end", ["consume", "typo", "--until-end"]],
    ["consume --group", ["consume", "typo", "--group", "g"]],
    ["tail", ["tail", "typo"]],
    ["tail -f", ["tail", "typo", "-f"]],
    ["replay", ["replay", "typo", "--from", "0"]],
  ])("%s of a topic that does not exist exits 1 at once and creates nothing (issue #22)", async (_name, args) => {
    for (const b of [broker, strict]) {
      const r = await streamctl([...args, "--broker", b.kafka], { timeoutMs: 30_000 });
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 1, stdout: "", stderr: expect.stringMatching(/^streamctl: .*topic typo does not exist\n$/) });
      expect(await topicNames(b)).not.toContain("typo");
    }
  });

  test("produce still creates a topic on first use where the broker does, and says so plainly where it does not", async () => {
    expect((await streamctl(["produce", "made-here", "--broker", broker.kafka], { input: "x\n" })).code).toBe(0);
    expect(await topicNames(broker)).toContain("made-here");
    // At once: within the request timeout it was given (it took 17.6 s of retries before).
    const started = performance.now();
    const refused = await streamctl(["produce", "made-here", "--broker", strict.kafka, "--timeout", "3000"], { input: "x\n", timeoutMs: 30_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("streamctl: produce to made-here: topic made-here does not exist, and the broker does not create topics on first use\n");
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test.each([
    ["consume", "consume"],
    ["consume --group", "consume --group idle-readers"],
    ["tail -f", "tail -f"],
  ])("%s | head -1 on an idle topic ends once head has its line (issue #22)", async (_name, command) => {
    expect((await streamctl(["produce", "idle", "--broker", broker.kafka], { input: "only\n" })).code).toBe(0);
    const [verb, ...rest] = command.split(" ");
    const r = await runProcess(["bash", "-c", `set -o pipefail; '${STREAMCTL_BIN}' ${verb} idle ${rest.join(" ")} --broker ${broker.kafka} | head -1`], {
      env: { NO_COLOR: "1" },
      timeoutMs: 30_000,
    });
    expect(r.stdout).toBe("only\n");
    expect(r.code).toBe(0); // the consumer itself exits 0: a closed pipe is not a failure
    if (!command.includes("--group")) expect(r.stderr).toBe("");
  });

  test("a broker killed mid-produce: each retry is reported as it happens, and produce fails within --delivery-timeout (issue #22)", async () => {
    const doomed = await startBroker();
    const deliveryMs = 3000;
    const proc = Bun.spawn([STREAMCTL_BIN, "produce", "mid", "--broker", doomed.kafka, "--timeout", "2000", "--delivery-timeout", String(deliveryMs)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env,
    });
    const guard = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    try {
      proc.stdin.write("before-1\nbefore-2\n");
      await proc.stdin.flush();
      // Wait until those are in the topic (acknowledged), then kill the broker under the producer.
      let exited: number | null = null;
      void proc.exited.then((c) => (exited = c));
      for (;;) {
        if (exited !== null) throw new Error(`produce exited (${exited}) before the broker was killed: ${await new Response(proc.stderr).text()}`);
        const r = await streamctl(["consume", "mid", "--until-end", "--broker", doomed.kafka], { timeoutMs: 20_000 });
        if (r.stdout === "before-1\nbefore-2\n") break;
      }
      await doomed.kill9();
      const killed = performance.now();
      proc.stdin.write("after-1\nafter-2\n");
      proc.stdin.end();
      const code = await proc.exited;
      const elapsed = performance.now() - killed;
      const stderr = await new Response(proc.stderr).text();
      expect(code).toBe(1);
      expect(stderr).toMatch(/^streamctl: produce to mid\/0: .*; retrying [12] records? \(attempt 2, \d s left of --delivery-timeout\)/m);
      expect(stderr.trimEnd().split("\n").at(-1)).toMatch(
        /^streamctl: 2 records acknowledged .* to mid, 2 failed: produce to mid\/0: not acknowledged within the delivery timeout of 3000 ms/,
      );
      // The records were appended after the kill, so their clock started then.
      expect(elapsed).toBeLessThan(deliveryMs + 3000);
    } finally {
      clearTimeout(guard);
      removeDir(doomed.dataDir);
    }
  });
});
