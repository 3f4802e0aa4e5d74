import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { run } from "./streamctl.ts";
import type { Io } from "./io.ts";

function captureIo(): Io & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => (out += c));
  stderr.on("data", (c) => (err += c));
  return { stdin: new PassThrough(), stdout, stderr, env: {}, out: () => out, err: () => err };
}

describe("streamctl entry", () => {
  test("--help lists usage and exits 0", async () => {
    const io = captureIo();
    expect(await run(["--help"], io)).toBe(0);
    expect(io.out()).toContain("Usage: streamctl");
  });

  test("an unknown command exits 2 with one line on stderr", async () => {
    const io = captureIo();
    expect(await run(["frobnicate"], io)).toBe(2);
    const lines = io.err().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("frobnicate");
  });
});
