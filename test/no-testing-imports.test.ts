// Production code never imports test code (issue #17). The doubles (memory file layer, manual
// clock and timers, batch builders, the scripted broker) live in core/testing/ and net/testing/ so
// that the binary, bundled from cmd/streamctl.ts, cannot reach them; this test keeps it so. It reads
// every .ts/.tsx file under cmd/, core/ and net/ that is neither a test nor in a testing folder, and
// fails on any import (static, type-only, re-export, side-effect or dynamic) of a testing folder,
// of a *.test.ts file, of the test/ helpers, or of bun:test.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, sep } from "node:path";

const ROOT = join(import.meta.dir, "..");
const PRODUCTION_DIRS = ["cmd", "core", "net"];

const isTest = (path: string): boolean => /\.test\.tsx?$/.test(path);
const inTestingFolder = (path: string): boolean => path.split("/").includes("testing");

/** Specifiers of every import and re-export in `source`, in order. Errs towards finding too many. */
function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g, // import … from "x" (any form, over several lines too), export … from "x"
    /\bimport\s*["']([^"']+)["']/g, // import "x"
    /\bimport\s*\(\s*["']([^"']+)["']/g, // import("x")
    /\brequire\s*\(\s*["']([^"']+)["']/g, // require("x")
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]!);
  return found;
}

/** Why importing `specifier` from the repository file `from` is test code in production, or null. */
function testOnlyTarget(from: string, specifier: string): string | null {
  if (specifier === "bun:test") return "bun:test";
  if (!specifier.startsWith(".")) return null; // a package or a runtime module
  const target = normalize(join(dirname(from), specifier)).split(sep).join("/");
  if (inTestingFolder(target)) return "a testing folder";
  if (isTest(target)) return "a test file";
  if (target.startsWith("test/")) return "the test/ helpers";
  return null;
}

function productionFiles(): string[] {
  const out: string[] = [];
  for (const dir of PRODUCTION_DIRS) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })) {
      const path = `${dir}/${entry.split(sep).join("/")}`;
      if (!/\.tsx?$/.test(path) || isTest(path) || inTestingFolder(path)) continue;
      out.push(path);
    }
  }
  return out.sort();
}

describe("the import scanner", () => {
  test.each([
    ['import { a } from "../testing/x.ts";', ["../testing/x.ts"]],
    ['import type { A } from "./testing/x.ts";', ["./testing/x.ts"]],
    ['import {\n  a,\n  b,\n} from "./y.test.ts";', ["./y.test.ts"]],
    ['export { a } from "../../net/testing/z.ts";', ["../../net/testing/z.ts"]],
    ['export * from "./w.ts";', ["./w.ts"]],
    ['import "./side-effect.ts";', ["./side-effect.ts"]],
    ['const m = await import("../testing/late.ts");', ["../testing/late.ts"]],
    ['import { expect } from "bun:test";', ["bun:test"]],
  ])("finds the specifiers of %j", (source, want) => {
    expect(importSpecifiers(source)).toEqual(want);
  });

  test.each([
    ["core/log/segment.ts", "../testing/memory-fs.ts", "a testing folder"],
    ["net/client/producer.ts", "../testing/scripted-broker.ts", "a testing folder"],
    ["cmd/serve.ts", "../core/testing/manual-time.ts", "a testing folder"],
    ["core/fs.ts", "./checked-json.test.ts", "a test file"],
    ["cmd/serve.ts", "../test/harness.ts", "the test/ helpers"],
    ["core/batch/record.ts", "bun:test", "bun:test"],
    ["core/log/segment.ts", "../fs.ts", null],
    ["cmd/top.ts", "ink", null],
    ["core/fs.ts", "node:fs", null],
  ])("%s importing %s: %p", (from, specifier, want) => {
    expect(testOnlyTarget(from, specifier)).toBe(want);
  });
});

test("no production file under cmd/, core/ or net/ imports test code (issue #17)", () => {
  const files = productionFiles();
  // The walk saw the tree (the entry point, a core seam), not an empty or wrong directory.
  expect(files).toContain("cmd/streamctl.ts");
  expect(files).toContain("core/fs.ts");
  const offences: string[] = [];
  let imports = 0;
  for (const file of files) {
    for (const specifier of importSpecifiers(readFileSync(join(ROOT, file), "utf8"))) {
      imports++;
      const why = testOnlyTarget(file, specifier);
      if (why !== null) offences.push(`${file} imports "${specifier}" (${why})`);
    }
  }
  expect(imports).toBeGreaterThan(files.length);
  expect(offences).toEqual([]);
});
