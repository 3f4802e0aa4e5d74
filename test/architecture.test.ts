// The layout's rules (../shared/DESIGN.md, "Layout and the direction of dependencies"), checked on
// the import graph of every production file (tests and test doubles aside):
// - imports point one way, cmd → net → core; core imports nothing from net or cmd;
// - the two doors (net/kafka, net/http) never import each other, and reach storage only through
//   core/broker (not core/topics, core/log or core/groups' stores directly... see DOOR_MAY_IMPORT);
// - net/client imports no broker-side code;
// - no import cycles.
// `IMPORT_GRAPH=1 bun test test/architecture.test.ts` prints the folder-level graph.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { REPO_ROOT } from "./harness.ts";

function productionFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(REPO_ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(REPO_ROOT, rel)).isDirectory()) {
      if (name !== "testing" && name !== "node_modules") out.push(...productionFiles(rel));
    } else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) {
      out.push(rel);
    }
  }
  return out;
}

const FILES = ["cmd", "net", "core"].flatMap(productionFiles);

/** file → the project files it imports (type-only imports too: they shape the design as much). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms)) {
    out.push(normalize(join(dirname(file), m[1]!)));
  }
  for (const m of text.matchAll(/^\s*import\s+"(\.{1,2}\/[^"]+)"/gm)) out.push(normalize(join(dirname(file), m[1]!)));
  for (const m of text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)) out.push(normalize(join(dirname(file), m[1]!)));
  return out;
}

const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));

function area(file: string): string {
  const parts = file.split("/");
  return parts[0] === "cmd" ? "cmd" : `${parts[0]}/${parts[1]}`;
}

test("every import resolves to a file of the project", () => {
  const missing: string[] = [];
  for (const [file, imports] of GRAPH) {
    for (const i of imports) {
      try {
        statSync(join(REPO_ROOT, i));
      } catch {
        missing.push(`${file} → ${i}`);
      }
    }
  }
  expect(missing).toEqual([]);
});

test("imports point one way: cmd → net → core", () => {
  const wrong: string[] = [];
  for (const [file, imports] of GRAPH) {
    for (const i of imports) {
      if (file.startsWith("core/") && !i.startsWith("core/")) wrong.push(`${file} → ${i}`);
      if (file.startsWith("net/") && i.startsWith("cmd/")) wrong.push(`${file} → ${i}`);
    }
  }
  expect(wrong).toEqual([]);
});

test("production code imports no test doubles and no tests", () => {
  const wrong: string[] = [];
  for (const [file, imports] of GRAPH) for (const i of imports) if (/(^|\/)testing\/|\.test\.tsx?$/.test(i)) wrong.push(`${file} → ${i}`);
  expect(wrong).toEqual([]);
});

test("the doors never import each other, and net/client imports nothing broker-side", () => {
  const wrong: string[] = [];
  for (const [file, imports] of GRAPH) {
    const from = area(file);
    for (const i of imports) {
      const to = area(i);
      if (from === "net/kafka" && to === "net/http") wrong.push(`${file} → ${i}`);
      if (from === "net/http" && to === "net/kafka") wrong.push(`${file} → ${i}`);
      if (from === "net/client" && (to === "net/kafka" || to === "net/http" || to === "core/broker" || to === "core/topics" || to === "core/log" || to === "core/groups")) wrong.push(`${file} → ${i}`);
    }
  }
  expect(wrong).toEqual([]);
});

/** What a door may take from core besides core/broker: value types and codecs, never a store. */
const DOOR_MAY_IMPORT = [/^core\/broker\//, /^core\/batch\//, /^core\/errors\.ts$/, /^core\/bytes\.ts$/, /^core\/lent-buffers\.ts$/, /^core\/turn-clock\.ts$/, /^core\/limits\.ts$/, /^core\/topics\/(configs|names)\.ts$/, /^core\/log\/durability\.ts$/];

test("the doors reach storage only through core/broker (types of what it hands out aside)", () => {
  const wrong: string[] = [];
  for (const [file, imports] of GRAPH) {
    if (!file.startsWith("net/kafka/") && !file.startsWith("net/http/")) continue;
    const text = readFileSync(join(REPO_ROOT, file), "utf8");
    for (const i of imports) {
      if (!i.startsWith("core/") || DOOR_MAY_IMPORT.some((re) => re.test(i))) continue;
      // A type-only import of what core/broker hands out (Topic, PartitionLog) is fine.
      const spec = `"${relative(dirname(file), i).replace(/^(?!\.)/, "./")}"`;
      const typeOnly = new RegExp(`import\\s+type\\s[^;]*from\\s+${spec.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`).test(text);
      if (!typeOnly) wrong.push(`${file} → ${i}`);
    }
  }
  expect(wrong).toEqual([]);
});

test("no import cycles among production files", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const i of GRAPH.get(f) ?? []) {
      if (!GRAPH.has(i)) continue;
      if (state.get(i) === "open") cycles.push([...stack.slice(stack.indexOf(i)), i].join(" → "));
      else if (!state.has(i)) visit(i);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of FILES) if (!state.has(f)) visit(f);
  expect(cycles).toEqual([]);
  if (process.env.IMPORT_GRAPH) {
    const edges = new Set<string>();
    for (const [file, imports] of GRAPH) for (const i of imports) if (area(file) !== area(i)) edges.add(`${area(file)} → ${area(i)}`);
    console.log([...edges].sort().join("\n"));
  }
});
