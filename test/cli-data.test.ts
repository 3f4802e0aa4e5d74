// The data commands (produce, consume, tail, replay) as users run them: the compiled binary as a
// child against the compiled broker, through real pipes. Issue #5.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BrokerProcess, removeDir, runProcess, startBroker, storedBatches as storedOnDisk, STREAMCTL_BIN, streamctl, tempDir } from "./harness.ts";

let broker: BrokerProcess;
let scratch: string;

beforeAll(async () => {
  broker = await startBroker({ args: ["--group-initial-rebalance-delay-ms", "0"] });
  scratch = tempDir("streamctl-cli-");
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
  removeDir(scratch);
});

const sc = (args: string[], opts: { input?: string | Uint8Array } = {}) => streamctl([...args, "--broker", broker.kafka], opts);

async function createTopic(name: string, partitions: number): Promise<void> {
  await createTopicWith(name, {}, partitions);
}

async function createTopicWith(name: string, configs: Record<string, string | number>, partitions = 1): Promise<void> {
  const res = await fetch(`http://${broker.http}/v1/topics`, { method: "POST", body: JSON.stringify({ name, partitions, configs }) });
  expect(res.status).toBeLessThan(300);
}

/** Batches of a partition's first segment: [codec, record count] each. */
const storedBatches = (topic: string, partition = 0) => storedOnDisk(broker.dataDir, topic, partition);

describe("produce and consume", () => {
  test("100,000 lines round trip through produce and consume --until-end", async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i} ${"abcdefghij".repeat(i % 9)}`);
    const input = lines.join("\n") + "\n";
    const produced = await sc(["produce", "roundtrip"], { input });
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/^streamctl: 100,000 records acknowledged .* to roundtrip, 0 failed\n$/);
    expect(produced.stdout).toBe("");
    const consumed = await sc(["consume", "roundtrip", "--until-end"]);
    expect(consumed.code).toBe(0);
    expect(consumed.stderr).toBe("");
    expect(consumed.stdout === input).toBe(true);
  });

  test("40 MB of distinct lines round trip to three consumers at once: fetch answers of up to 8 MiB, in recycled buffers at both ends, come out byte for byte", async () => {
    // Lines of different lengths, so answers differ in size and a recycled buffer is reused for
    // an answer shorter than the one before it (net/client/connection.ts, recycle). The broker
    // reads them into buffers it lends out and takes back once a response went to the socket
    // whole (core/lent-buffers.ts): three consumers at once share those buffers, and one
    // taken back too early would show up as another consumer's bytes.
    const lines = Array.from({ length: 40_000 }, (_, i) => `${i}:${String.fromCharCode(97 + (i % 26)).repeat(200 + ((i * 7919) % 1600))}`);
    const input = lines.join("\n") + "\n";
    expect(input.length).toBeGreaterThan(35_000_000);
    const produced = await sc(["produce", "bigread", "--compression", "none"], { input });
    expect(produced.code).toBe(0);
    const all = await Promise.all([0, 1, 2].map(() => sc(["consume", "bigread", "--until-end"])));
    for (const consumed of all) {
      expect(consumed.code).toBe(0);
      expect(consumed.stderr).toBe("");
      expect(consumed.stdout.length).toBe(input.length);
      expect(consumed.stdout === input).toBe(true);
    }
  });

  test("three producers of ~1 MB requests at once into a topic rolling every 2 MB: every line lands whole and in order", async () => {
    // Large Produce requests are gathered into lent buffers that go back once answered
    // (core/lent-buffers.ts); an append waiting for a roll still needs its request's bytes.
    await createTopicWith("rolling", { "segment.bytes": 2 * 1024 * 1024 });
    const inputs = [0, 1, 2].map((p) => Array.from({ length: 12_000 }, (_, i) => `p${p}-${i}:${String.fromCharCode(65 + ((i + p) % 26)).repeat(300 + ((i * 31) % 700))}`));
    const produced = await Promise.all(inputs.map((lines) => sc(["produce", "rolling", "--compression", "none"], { input: lines.join("\n") + "\n" })));
    for (const r of produced) expect(r.code).toBe(0);
    const consumed = await sc(["consume", "rolling", "--until-end"]);
    expect(consumed.code).toBe(0);
    const got = consumed.stdout.split("\n").slice(0, -1);
    expect(got.length).toBe(36_000);
    for (const [p, lines] of inputs.entries()) expect(got.filter((l) => l.startsWith(`p${p}-`))).toEqual(lines);
    const segments = readdirSync(join(broker.dataDir, "topics", "rolling", "0")).filter((f) => f.endsWith(".log"));
    expect(segments.length).toBeGreaterThan(5); // ~20 MB in 2 MB segments: appends met rolls
  });

  test("keys, headers, a delimiter and a template", async () => {
    const produced = await sc(["produce", "keyed", "--delimiter", ";", "--key-separator", "=", "--header", "src=test", "--header", "n=1", "--compression", "gzip"], { input: "k1=v1;nokey;k2=v=2" });
    expect(produced.code).toBe(0);
    const out = await sc(["consume", "keyed", "--until-end", "--format", "%p|%o|%k|%s|%h|%K\\n"]);
    expect(out.stdout).toBe("0|0|k1|v1|src=test,n=1|2\n0|1||nokey|src=test,n=1|-1\n0|2|k2|v=2|src=test,n=1|2\n");
  });

  test("filters: --grep, --key, --header; -n counts what passes", async () => {
    const input = Array.from({ length: 50 }, (_, i) => `${i % 2 === 0 ? "even" : "odd"}:record ${i}`).join("\n");
    expect((await sc(["produce", "filtered", "--key-separator", ":"], { input })).code).toBe(0);
    const grep = await sc(["consume", "filtered", "--until-end", "--grep", "record 4\\d"]);
    expect(grep.stdout).toBe(Array.from({ length: 10 }, (_, i) => `record ${40 + i}\n`).join(""));
    const key = await sc(["consume", "filtered", "--until-end", "--key", "odd", "-n", "3", "--format", "%o %s\\n"]);
    expect(key.stdout).toBe("1 record 1\n3 record 3\n5 record 5\n");
    const none = await sc(["consume", "filtered", "--until-end", "--header", "x=y"]);
    expect(none.stdout).toBe("");
    expect(none.code).toBe(0);
  });

  test("--from OFFSET, end and @TIME; --partition", async () => {
    await createTopic("positions", 2);
    const first = await sc(["produce", "positions", "--partition", "1"], { input: "a\nb\nc\n" });
    expect(first.code).toBe(0);
    const all = await sc(["consume", "positions", "--until-end", "--format", "%T %s\\n"]);
    const ts = Number(all.stdout.split("\n")[0]!.split(" ")[0]);
    expect((await sc(["consume", "positions", "--partition", "1", "--from", "1", "--until-end"])).stdout).toBe("b\nc\n");
    expect((await sc(["consume", "positions", "--from", "end", "--until-end"])).stdout).toBe("");
    expect((await sc(["consume", "positions", "--from", `@${ts}`, "--until-end"])).stdout).toBe("a\nb\nc\n");
    expect((await sc(["consume", "positions", "--from", `@${ts + 3_600_000}`, "--until-end"])).stdout).toBe("");
    expect((await sc(["consume", "positions", "--from", "@-1h", "--until-end"])).stdout).toBe("a\nb\nc\n");
    expect((await sc(["consume", "positions", "--partition", "0", "--until-end"])).stdout).toBe("");
  });

  test("consume | head -1 ends quietly: exit 0 from the pipeline, nothing on stderr", async () => {
    const input = Array.from({ length: 20_000 }, (_, i) => `v${i}`).join("\n");
    expect((await sc(["produce", "headpipe"], { input })).code).toBe(0);
    // A real pipe through a shell; consume follows (no --until-end), so only the closed pipe ends it.
    const r = await runProcess(["sh", "-c", `'${STREAMCTL_BIN}' consume headpipe --broker ${broker.kafka} | head -1; echo "status=\${PIPESTATUS:-x}"`], {
      env: { NO_COLOR: "1" },
    });
    expect(r.stdout.split("\n")[0]).toBe("v0");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // And with pipefail semantics: the consumer itself exits 0.
    const strict = await runProcess(["bash", "-c", `set -o pipefail; '${STREAMCTL_BIN}' consume headpipe --broker ${broker.kafka} --json | head -1 >/dev/null`]);
    expect(strict.stderr).toBe("");
    expect(strict.code).toBe(0);
  });

  test("--batch-bytes and --linger-ms shape batches; --compression none stores uncompressed", async () => {
    const input = Array.from({ length: 1000 }, (_, i) => `record-${String(i).padStart(4, "0")}-${"x".repeat(80)}`).join("\n");
    expect((await sc(["produce", "small-batches", "--batch-bytes", "10000", "--compression", "none"], { input })).code).toBe(0);
    const batches = storedBatches("small-batches");
    expect(batches.reduce((n, [, c]) => n + c, 0)).toBe(1000);
    expect(batches.every(([codec]) => codec === 0)).toBe(true);
    // ~100-byte records, 10,000-byte batches: about 100 per batch, never more.
    expect(batches.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...batches.map(([, c]) => c))).toBeLessThanOrEqual(100);
    expect((await sc(["produce", "big-batches"], { input })).code).toBe(0);
    expect(storedBatches("big-batches")).toEqual([[4, 1000]]);
  });
});

describe("exit codes and failures", () => {
  test("an invalid topic name exits 2 with one line", async () => {
    for (const args of [["produce", "bad topic!"], ["consume", ".."], ["tail", "x".repeat(250)], ["replay", "a/b", "--from", "0"]]) {
      const r = await sc(args, { input: "x\n" });
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")).toHaveLength(2); // one line and its newline
      expect(r.stderr).toMatch(/^streamctl: invalid topic name: /);
      expect(r.stdout).toBe("");
    }
  });

  test("bad flags are usage errors", async () => {
    for (const args of [
      ["produce", "t", "--compression", "brotli"],
      ["produce", "t", "--acks", "2"],
      ["consume", "t", "--from", "yesterday"],
      ["consume", "t", "--format", "%q"],
      ["consume", "t", "--group", "g", "--partition", "0"],
      ["replay", "t"],
      ["consume", "t", "--grep", "("],
    ]) {
      const r = await sc(args, { input: "" });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
  });

  test("an unreachable broker is a runtime failure (exit 1, one line)", async () => {
    const r = await streamctl(["consume", "t", "--broker", "127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^streamctl: consume t: connect to 127\.0\.0\.1:1/);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  test("produce exits 1 and counts records the broker refused (a record over max.message.bytes)", async () => {
    const huge = "y".repeat(1_200_000);
    const r = await sc(["produce", "too-large", "--compression", "none"], { input: `small\n${huge}\nsmall again\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^streamctl: 2 records acknowledged .*, 1 failed: produce to too-large\/0: MESSAGE_TOO_LARGE \(10\)/);
    expect((await sc(["consume", "too-large", "--until-end"])).stdout).toBe("small\nsmall again\n");
  });

  test("produce --json counts unreadable lines as failed and still writes the rest", async () => {
    const r = await sc(["produce", "json-bad", "--json"], { input: `{"value":"ok"}\nnot json\n{"value":"ok2"}\n` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 records acknowledged .*, 1 failed: line 2: not JSON/);
  });
});

describe("tail and replay", () => {
  test("tail -n 3 prints the last three records", async () => {
    expect((await sc(["produce", "tailed"], { input: Array.from({ length: 25 }, (_, i) => `t${i}`).join("\n") })).code).toBe(0);
    const r = await sc(["tail", "tailed", "-n", "3"]);
    expect(r).toMatchObject({ code: 0, stdout: "t22\nt23\nt24\n", stderr: "" });
    expect((await sc(["tail", "tailed"])).stdout).toBe(Array.from({ length: 10 }, (_, i) => `t${15 + i}\n`).join(""));
    expect((await sc(["tail", "tailed", "-n", "100"])).stdout.split("\n")).toHaveLength(26);
  });

  test("tail -n across partitions takes the newest by timestamp", async () => {
    await createTopic("tail-multi", 3);
    const lines = Array.from({ length: 9 }, (_, i) => JSON.stringify({ partition: i % 3, timestamp: 1_700_000_000_000 + i, value: `m${i}` }));
    expect((await sc(["produce", "tail-multi", "--json"], { input: lines.join("\n") })).code).toBe(0);
    expect((await sc(["tail", "tail-multi", "-n", "4"])).stdout).toBe("m5\nm6\nm7\nm8\n");
  });

  test("tail -f shows a record produced later", async () => {
    expect((await sc(["produce", "followed"], { input: "before-1\nbefore-2\n" })).code).toBe(0);
    const proc = Bun.spawn([STREAMCTL_BIN, "tail", "followed", "-n", "1", "-f", "--broker", broker.kafka], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const reader = proc.stdout.getReader();
    let seen = "";
    const waitFor = async (text: string) => {
      while (!seen.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`tail -f ended before "${text}"; got ${JSON.stringify(seen)}`);
        seen += new TextDecoder().decode(value);
      }
    };
    await waitFor("before-2\n");
    expect((await sc(["produce", "followed"], { input: "after\n" })).code).toBe(0);
    await waitFor("after\n");
    proc.kill("SIGINT");
    // Issue #22: a command ended by Ctrl-C exits 130, as a shell reports it (it exited 0 before).
    expect(await proc.exited).toBe(130);
    expect(seen).toBe("before-2\nafter\n");
    expect(await new Response(proc.stderr).text()).toBe("");
  });

  test("replay --from 10 --to 15 prints the half-open range", async () => {
    expect((await sc(["produce", "replayed"], { input: Array.from({ length: 30 }, (_, i) => `r${i}`).join("\n") })).code).toBe(0);
    expect(await sc(["replay", "replayed", "--from", "10", "--to", "15"])).toMatchObject({ code: 0, stdout: "r10\nr11\nr12\nr13\nr14\n", stderr: "" });
    expect((await sc(["replay", "replayed", "--from", "27"])).stdout).toBe("r27\nr28\nr29\n");
    expect((await sc(["replay", "replayed", "--from", "15", "--to", "10"])).stdout).toBe("");
  });

  test("replay by time, republished into another topic with keys, headers and timestamps", async () => {
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ key: `k${i}`, value: `v${i}`, timestamp: 1_800_000_000_000 + i * 1000, headers: [{ key: "i", value: String(i) }] }));
    // One batch: the times fall inside it, so ListOffsets must find the records, not the batch.
    expect((await sc(["produce", "replay-src", "--json"], { input: lines.join("\n") })).code).toBe(0);
    const r = await sc(["replay", "replay-src", "--from", "@1800000002000", "--to", "@1800000005000", "--to-topic", "replay-dst"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("streamctl: replayed 3 of 3 records from replay-src into replay-dst\n");
    const out = await sc(["consume", "replay-dst", "--until-end", "--format", "%k %s %T %h\\n"]);
    expect(out.stdout).toBe("k2 v2 1800000002000 i=2\nk3 v3 1800000003000 i=3\nk4 v4 1800000004000 i=4\n");
  });
});

describe("the JSON envelope", () => {
  test("consume --json | produce --json copies a topic exactly: keys, headers, timestamps, partitions, binary", async () => {
    await createTopic("envelope-src", 3);
    await createTopic("envelope-dst", 3);
    const records = Array.from({ length: 300 }, (_, i) => ({
      partition: i % 3,
      timestamp: 1_750_000_000_000 + ((i * 37) % 1000),
      key: i % 5 === 0 ? null : `key-${i}`,
      value: i % 11 === 0 ? null : `value ${i} "quoted" \\ ünïcödé ✓`,
      headers: i % 2 === 0 ? [] : [{ key: "trace", value: `t${i}` }, { key: "trace", value: null }, { key: "bin", value: "AP8=", valueEncoding: "base64" }],
    }));
    // Plus binary keys and values, which come back as base64 with a marker.
    const binary = { partition: 1, timestamp: 1_750_000_001_000, key: "/w==", keyEncoding: "base64", value: "gICA", valueEncoding: "base64", headers: [] };
    const input = [...records, binary].map((r) => JSON.stringify(r)).join("\n") + "\n";
    expect((await sc(["produce", "envelope-src", "--json"], { input })).code).toBe(0);

    const src = await sc(["consume", "envelope-src", "--json", "--until-end"]);
    expect(src.code).toBe(0);
    const copy = await sc(["produce", "envelope-dst", "--json"], { input: src.stdout });
    expect(copy.code).toBe(0);
    expect(copy.stderr).toMatch(/301 records acknowledged/);
    const dst = await sc(["consume", "envelope-dst", "--json", "--until-end"]);

    const canon = (out: string) =>
      out
        .trimEnd()
        .split("\n")
        .map((l) => ({ ...JSON.parse(l), topic: "-" }))
        .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const a = canon(src.stdout);
    expect(a).toHaveLength(301);
    expect(canon(dst.stdout)).toEqual(a);
    const bin = a.find((r) => r.keyEncoding === "base64");
    expect(bin).toMatchObject({ partition: 1, key: "/w==", value: "gICA", valueEncoding: "base64" });
    const withHeaders = a.find((r) => r.headers.length > 0);
    expect(withHeaders.headers).toEqual([
      { key: "trace", value: withHeaders.headers[0].value },
      { key: "trace", value: null },
      { key: "bin", value: "AP8=", valueEncoding: "base64" },
    ]);
  });
});

describe("kcat interoperability", () => {
  const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
  const CODEC_BITS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
  const lines = Array.from({ length: 5000 }, (_, i) => `key-${i % 13}:value ${i} ${"z".repeat(i % 40)}`);
  const input = lines.join("\n") + "\n";

  test.each(CODECS)("%s: kcat reads what produce wrote", async (codec) => {
    const topic = `to-kcat-${codec}`;
    const r = await sc(["produce", topic, "--compression", codec, "--key-separator", ":", "--header", "via=streamctl"], { input });
    expect(r.code).toBe(0);
    expect(new Set(storedBatches(topic).map(([c]) => c))).toEqual(new Set([CODEC_BITS[codec]]));
    const k = await runProcess(["kcat", "-b", broker.kafka, "-q", "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%k:%s|%h\n"]);
    expect(k.code).toBe(0);
    expect(k.stdout === lines.map((l) => `${l}|via=streamctl\n`).join("")).toBe(true);
  });

  test.each(CODECS)("%s: consume reads what kcat wrote", async (codec) => {
    const topic = `from-kcat-${codec}`;
    const k = await runProcess(["kcat", "-b", broker.kafka, "-q", "-P", "-t", topic, "-p", "0", "-K", ":", "-z", codec, "-H", "via=kcat"], { input });
    expect(k.code).toBe(0);
    // librdkafka sends a batch uncompressed when compressing did not make it smaller (small lz4
    // batches under load), so "none" may appear beside the codec.
    const stored = new Set(storedBatches(topic).map(([c]) => c));
    expect(stored.has(CODEC_BITS[codec])).toBe(true);
    expect([...stored].every((c) => c === 0 || c === CODEC_BITS[codec])).toBe(true);
    const r = await sc(["consume", topic, "--until-end", "--format", "%k:%s|%h\\n"]);
    expect(r.code).toBe(0);
    expect(r.stdout === lines.map((l) => `${l}|via=kcat\n`).join("")).toBe(true);
  });
});

describe("consumer groups", () => {
  test("--group resumes from committed offsets", async () => {
    expect((await sc(["produce", "grouped"], { input: "g1\ng2\ng3\n" })).code).toBe(0);
    // Issue #22: a group member says what it was assigned on stderr, as kcat does (stderr was empty).
    expect(await sc(["consume", "grouped", "--group", "readers", "--until-end"])).toMatchObject({ code: 0, stdout: "g1\ng2\ng3\n", stderr: "streamctl: group readers: assigned: grouped [0]\n" });
    expect((await sc(["produce", "grouped"], { input: "g4\n" })).code).toBe(0);
    expect((await sc(["consume", "grouped", "--group", "readers", "--until-end"])).stdout).toBe("g4\n");
    // -n commits only what was printed.
    expect((await sc(["produce", "grouped"], { input: "g5\ng6\ng7\n" })).code).toBe(0);
    expect((await sc(["consume", "grouped", "--group", "readers", "-n", "1"])).stdout).toBe("g5\n");
    expect((await sc(["consume", "grouped", "--group", "readers", "--until-end"])).stdout).toBe("g6\ng7\n");
    // Another group starts at --from.
    expect((await sc(["consume", "grouped", "--group", "others", "--from", "5", "--until-end"])).stdout).toBe("g6\ng7\n");
  });

  test("two members of one group read every record exactly once between them", async () => {
    await createTopic("shared", 4);
    const input = Array.from({ length: 4000 }, (_, i) => `${i}:s${i}`).join("\n");
    expect((await sc(["produce", "shared", "--key-separator", ":"], { input })).code).toBe(0);
    const [a, b] = await Promise.all([
      sc(["consume", "shared", "--group", "pair", "--until-end", "--format", "%s\\n"]),
      sc(["consume", "shared", "--group", "pair", "--until-end", "--format", "%s\\n"]),
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const got = [...a.stdout.trimEnd().split("\n"), ...b.stdout.trimEnd().split("\n")].filter((l) => l !== "");
    expect(got.sort()).toEqual(Array.from({ length: 4000 }, (_, i) => `s${i}`).sort());
  });
});

describe("signals", () => {
  test("SIGINT during produce flushes what was read, reports and exits 130", async () => {
    const proc = Bun.spawn([STREAMCTL_BIN, "produce", "interrupted", "--broker", broker.kafka], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    proc.stdin.write("i1\ni2\ni3\n");
    await proc.stdin.flush();
    // Wait until the records are in the topic (the linger sends them), then interrupt.
    let exitedEarly = false;
    void proc.exited.then(() => (exitedEarly = true));
    for (;;) {
      if (exitedEarly) throw new Error(`produce exited before SIGINT: ${await new Response(proc.stderr).text()}`);
      const r = await sc(["consume", "interrupted", "--until-end"]);
      if (r.stdout === "i1\ni2\ni3\n") break;
    }
    proc.kill("SIGINT");
    // Issue #22: 130 after Ctrl-C, as a shell reports it (it exited 0 before); the summary is unchanged.
    expect(await proc.exited).toBe(130);
    expect(await new Response(proc.stderr).text()).toMatch(/^streamctl: interrupted: 3 records acknowledged .*, 0 failed\n$/);
  });
});

test("--file with progress off when stderr is not a terminal", async () => {
  const file = join(scratch, "input.log");
  writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `f${i}`).join("\n"));
  const r = await sc(["produce", "from-file", "--file", file]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/^streamctl: 1,000 records acknowledged/) });
  expect(r.stderr).not.toContain("\r");
  expect((await sc(["tail", "from-file", "-n", "1"])).stdout).toBe("f999\n");
  const missing = await sc(["produce", "from-file", "--file", join(scratch, "nope")]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--file .*: no such file/);
});
