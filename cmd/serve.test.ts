import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { defaultDataDir, resolveServeOptions } from "./serve.ts";
import { serveCommand } from "./serve.ts";
import { run } from "./streamctl.ts";
import type { Io } from "./io.ts";

function captureIo(env: Record<string, string> = {}): Io & { err: () => string } {
  const stderr = new PassThrough();
  let err = "";
  stderr.on("data", (c) => (err += c));
  return { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env, err: () => err };
}

describe("serve options", () => {
  test.each([
    [{ STREAMCTL_DATA_DIR: "/data/s" }, "/data/s"],
    [{ XDG_DATA_HOME: "/x", HOME: "/home/u" }, "/x/streamctl"],
    [{ HOME: "/home/u" }, "/home/u/.local/share/streamctl"],
  ])("default data dir from %p is %s", (env, want) => {
    expect(defaultDataDir(env)).toBe(want);
  });

  test("defaults follow DESIGN.md", () => {
    const o = resolveServeOptions({}, { HOME: "/h" });
    expect(o.listeners.map((l) => [l.protocol, l.address])).toEqual([["PLAINTEXT", { host: "127.0.0.1", port: 9092 }]]);
    expect(o.http).toEqual({ host: "127.0.0.1", port: 8092 });
    expect(o.fsync).toEqual({ mode: "always" });
    expect(o.autoCreateTopics).toBe(true);
    expect(o.defaultPartitions).toBe(1);
  });

  test.each([
    [["--kafka-listen", "nonsense"], "--kafka-listen"],
    [["--kafka-listen", "127.0.0.1:70000"], "out of range"],
    [["--fsync", "sometimes"], "--fsync"],
    [["--default-partitions", "0"], "--default-partitions"],
    [["--http-listen", "0.0.0.0:8092"], "--http-token"],
    [["--config", "/nonexistent/streamctl.json"], "--config"],
  ])("serve %p is a usage error: exit 2, one line naming %s", async (args, mention) => {
    const io = captureIo({ HOME: "/tmp" });
    expect(await run(["serve", ...args], io, [serveCommand])).toBe(2);
    const lines = io.err().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(mention);
  });
});
