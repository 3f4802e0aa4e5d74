// The habits a kcat user brings (issue #22, "Habits"), in the data commands: one vocabulary for
// positions (-N as kcat's -o -5, earliest/latest), committed offsets that override --from say so
// (and --reset-group-start makes --from win), assigned:/revoked: lines for groups, several topics
// and --topic-regex, -i for --grep, --format/--json/filters on tail and replay, "sent" for
// --acks 0, and plural forms.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, startBroker, STREAMCTL_BIN, streamctl } from "./harness.ts";

let broker: BrokerProcess;

beforeAll(async () => {
  // KIP-848 members (what consume speaks to this broker) hear of a new member at their next
  // heartbeat: a short interval keeps the rebalance test short.
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0", "--group-consumer-heartbeat-interval-ms", "300"] });
  const lines = Array.from({ length: 20 }, (_, i) => `v${i}`).join("\n");
  for (const topic of ["h-nums", "h-more"]) expect((await sc(["produce", topic], { input: lines })).code).toBe(0);
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

const sc = (args: string[], opts: { input?: string } = {}) => streamctl([...args, "--broker", broker.kafka], { ...opts, timeoutMs: 60_000 });

describe("positions", () => {
  test.each([
    ["-3", "v17\nv18\nv19\n"],
    ["earliest", Array.from({ length: 20 }, (_, i) => `v${i}\n`).join("")],
    ["latest", ""],
    ["18", "v18\nv19\n"],
  ])("consume --from %s", async (from, want) => {
    expect(await sc(["consume", "h-nums", "--from", from, "--until-end"])).toMatchObject({ code: 0, stdout: want, stderr: "" });
  });

  test("replay takes the same words: --from -2, --to latest; -N as --to leaves the last N out", async () => {
    expect((await sc(["replay", "h-nums", "--from", "-2", "--to", "latest"])).stdout).toBe("v18\nv19\n");
    expect((await sc(["replay", "h-nums", "--from", "beginning", "--to", "-17"])).stdout).toBe("v0\nv1\nv2\n");
  });
});

describe("groups", () => {
  test("committed offsets that win over --from say so; --reset-group-start makes --from win", async () => {
    expect(await sc(["consume", "h-nums", "--group", "habit", "-n", "2"])).toMatchObject({ code: 0, stdout: "v0\nv1\n", stderr: "streamctl: group habit: assigned: h-nums [0]\n" });
    const kept = await sc(["consume", "h-nums", "--group", "habit", "--from", "15", "-n", "1"]);
    expect(kept).toMatchObject({
      code: 0,
      stdout: "v2\n",
      stderr: "streamctl: group habit: assigned: h-nums [0]\nstreamctl: group habit: committed offsets win over --from 15 for h-nums [0] (--reset-group-start to start at --from)\n",
    });
    const reset = await sc(["consume", "h-nums", "--group", "habit", "--from", "15", "--reset-group-start", "-n", "1"]);
    expect(reset.stdout).toBe("v15\n");
    expect(reset.stderr).toContain("--reset-group-start: starting h-nums [0] at --from 15");
    // And the reset was committed: the next run goes on after it.
    expect((await sc(["consume", "h-nums", "--group", "habit", "-n", "1"])).stdout).toBe("v16\n");
  });

  test("a member sees revoked: and assigned: lines when a second member joins", async () => {
    const proc = Bun.spawn([STREAMCTL_BIN, "consume", "h-nums", "h-more", "--group", "pairs", "--broker", broker.kafka], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const guard = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    const reader = proc.stderr.getReader();
    let err = "";
    const waitFor = async (re: RegExp) => {
      while (!re.test(err)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`consume ended before ${re}; stderr: ${err}`);
        err += new TextDecoder().decode(value);
      }
    };
    await waitFor(/^streamctl: group pairs: assigned: h-nums \[0\], h-more \[0\]\n/);
    const second = streamctl(["consume", "h-nums", "h-more", "--group", "pairs", "--broker", broker.kafka, "--until-end"], { timeoutMs: 60_000 });
    // Whatever the assignor now gives each member, this one is told what it gave up and what it kept
    // (KIP-848, as consume speaks to this broker: only what the other member takes is revoked).
    await waitFor(/revoked: h-(nums|more) \[0\]\n.*assigned: h-(nums|more) \[0\]\n/s);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    clearTimeout(guard);
    const s = await second;
    expect(s.code).toBe(0);
    expect(s.stderr).toMatch(/^streamctl: group pairs: assigned: /);
  }, 30_000);
});

describe("topics", () => {
  test("consume reads several topics, or every topic a regex matches", async () => {
    const both = await sc(["consume", "h-nums", "h-more", "--until-end", "--format", "%t %s\\n"]);
    expect(both.code).toBe(0);
    expect(both.stdout.split("\n").filter((l) => l.startsWith("h-more "))).toHaveLength(20);
    expect(both.stdout.split("\n").filter((l) => l.startsWith("h-nums "))).toHaveLength(20);
    const matched = await sc(["consume", "--topic-regex", "h-(nums|more)", "--until-end", "--format", "%t\\n"]);
    expect(new Set(matched.stdout.trimEnd().split("\n"))).toEqual(new Set(["h-nums", "h-more"]));
    const none = await sc(["consume", "--topic-regex", "nothing-.*", "--until-end"]);
    expect(none).toMatchObject({ code: 1, stderr: "streamctl: --topic-regex nothing-.*: no topic matches\n" });
    expect((await sc(["consume", "h-nums", "no-such-topic", "--until-end"])).stderr).toMatch(/topic no-such-topic does not exist/);
  });
});

describe("filters and output on every reading command", () => {
  test("-i makes --grep ignore case", async () => {
    expect((await sc(["consume", "h-nums", "--grep", "V1[89]", "-i", "--until-end"])).stdout).toBe("v18\nv19\n");
    expect((await sc(["consume", "h-nums", "--grep", "V1[89]", "--until-end"])).stdout).toBe("");
  });

  test("tail: --json, --format and filters (the last N that match)", async () => {
    const json = await sc(["tail", "h-nums", "-n", "1", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ topic: "h-nums", partition: 0, offset: 19, value: "v19" });
    expect((await sc(["tail", "h-nums", "-n", "2", "--format", "%o=%s\\n"])).stdout).toBe("18=v18\n19=v19\n");
    expect((await sc(["tail", "h-nums", "-n", "2", "--grep", "^v1?[0-3]$"])).stdout).toBe("v12\nv13\n");
  });

  test("replay: --json, --format and filters", async () => {
    expect((await sc(["replay", "h-nums", "--from", "5", "--to", "8", "--format", "%o:%s\\n"])).stdout).toBe("5:v5\n6:v6\n7:v7\n");
    expect((await sc(["replay", "h-nums", "--from", "0", "--grep", "^v1[45]$"])).stdout).toBe("v14\nv15\n");
    const json = await sc(["replay", "h-nums", "--from", "-1", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ offset: 19, value: "v19" });
  });
});

describe("words", () => {
  test('--acks 0 says "sent", and one record is "1 record"', async () => {
    expect((await sc(["produce", "h-words", "--acks", "0"], { input: "only\n" })).stderr).toMatch(/^streamctl: 1 record sent \(/);
    expect((await sc(["produce", "h-words"], { input: "one\n" })).stderr).toMatch(/^streamctl: 1 record acknowledged \(/);
  });
});
