// `make bench`: runs every benchmark module in one go on this machine and writes BENCHMARKS.md.
// A module is bench/<name>.ts exporting `run(): Promise<BenchRow[]>`; modules that do not exist
// yet are skipped. Select some with BENCH=core,broker (by file name). Figures, never assertions.
// A module may also export `report(rows): string[]`, markdown placed before the per-section tables
// (peers.ts writes the side-by-side comparison that way). Rows with `runs` were repeated: the value
// is their median and the table shows the range. bench/what-we-changed.md, hand-written, is
// appended as it is.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { BenchRow } from "./types.ts";

const MODULES = ["batch", "checksums", "log", "broker", "groups", "cli", "peers", "startup", "security", "abuse", "cluster", "compaction", "transactions"];
const only = process.env.BENCH?.split(",");

const rows: BenchRow[] = [];
const ran: string[] = [];
const reports: ((rows: BenchRow[]) => string[])[] = [];
for (const name of MODULES) {
  if (only && !only.includes(name)) continue;
  const file = join(import.meta.dir, `${name}.ts`);
  if (!existsSync(file)) continue;
  process.stderr.write(`bench: ${name} …\n`);
  const started = performance.now();
  const mod = (await import(file)) as { run(): Promise<BenchRow[]>; report?: (rows: BenchRow[]) => string[] };
  let got: BenchRow[];
  try {
    got = await mod.run();
  } catch (err) {
    // One module failing must not lose the others' figures: say so in the file and go on.
    process.stderr.write(`bench: ${name} failed: ${(err as Error)?.stack ?? err}\n`);
    ran.push(`${name} (FAILED: ${String((err as Error)?.message ?? err).split("\n")[0]})`);
    continue;
  }
  if (mod.report) reports.push(mod.report);
  rows.push(...got);
  ran.push(`${name} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  for (const r of got) process.stderr.write(`  ${r.name}: ${format(r.value)} ${r.unit}\n`);
}

function format(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return v.toPrecision(3);
}

const sections = [...new Set(rows.map((r) => r.section))];
const out: string[] = [
  "# streamctl benchmarks",
  "",
  `Written by \`make bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Bun ${Bun.version}, loopback.`,
  `Modules run: ${ran.join(", ")}. Figures are single runs unless a row shows a range (then: median, and min–max of the runs); re-run with \`make bench\` (or \`BENCH=broker make bench\`).`,
  "",
];
for (const report of reports) out.push(...report(rows));
for (const section of sections) {
  const repeated = rows.some((r) => r.section === section && r.runs);
  out.push(`## ${section}`, "", `| what | value |${repeated ? " range |" : ""} unit | how / notes |`, `|---|---:|${repeated ? "---:|" : ""}---|---|`);
  for (const r of rows.filter((x) => x.section === section)) {
    const range = r.runs ? `${format(Math.min(...r.runs))}–${format(Math.max(...r.runs))} (${r.runs.length} runs)` : "";
    out.push(`| ${r.name} | ${format(r.value)} |${repeated ? ` ${range} |` : ""} ${r.unit} | ${(r.note ?? "").replaceAll("|", "\\|")} |`);
  }
  out.push("");
}
const changed = join(import.meta.dir, "what-we-changed.md");
if (existsSync(changed)) out.push(readFileSync(changed, "utf8"));
const target = join(import.meta.dir, "..", "BENCHMARKS.md");
writeFileSync(target, only && existsSync(target) ? merged(readFileSync(target, "utf8"), out) : out.join("\n"));

/** A run of some modules (BENCH=…) replaces only the blocks it wrote ("## heading" up to the next
 * "## "; a heading's parenthesised tail, like "(medians of 4 runs …)", is not part of its name),
 * keeping every other module's figures and the hand-written notes; a new block goes before the
 * first hand-written one, and the hand-written notes are copied afresh. The header keeps the last
 * full run's line and names each partial run since, one line per module set (the latest replaces
 * an earlier one of the same set). */
function merged(existing: string, fresh: string[]): string {
  const name = (heading: string) => heading.replace(/\s*\(.*\)\s*$/, "");
  const blocks = (lines: string[]): { heading: string; lines: string[] }[] => {
    const result: { heading: string; lines: string[] }[] = [{ heading: "", lines: [] }];
    for (const line of lines) {
      if (line.startsWith("## ")) result.push({ heading: line, lines: [] });
      result[result.length - 1]!.lines.push(line);
    }
    return result;
  };
  const old = blocks(existing.split("\n"));
  const changedHeadings = new Set(existsSync(changed) ? blocks(readFileSync(changed, "utf8").split("\n")).map((b) => b.heading).filter((h) => h !== "") : []);
  const written = blocks(fresh.join("\n").split("\n")).filter((b) => b.heading !== "" && !changedHeadings.has(b.heading));
  for (const block of written) {
    const at = old.findIndex((b) => b.heading !== "" && name(b.heading) === name(block.heading));
    if (at >= 0) old[at] = block;
    else {
      const firstNote = old.findIndex((b) => changedHeadings.has(b.heading));
      old.splice(firstNote >= 0 ? firstNote : old.length, 0, block);
    }
  }
  const head = old[0]!.lines;
  const partial = `Partial run (\`BENCH=${only!.join(",")} make bench\`) on ${new Date().toISOString().slice(0, 10)}: ${ran.join(", ")}.`;
  const same = head.findIndex((l) => l.startsWith(`Partial run (\`BENCH=${only!.join(",")} make bench\`)`));
  if (same >= 0) head[same] = partial;
  else {
    const blank = head.lastIndexOf("");
    head.splice(blank > 0 ? blank : head.length, 0, partial);
  }
  // The hand-written notes as they are now, not as the last full run copied them.
  const firstNote = old.findIndex((b) => changedHeadings.has(b.heading));
  const figures = firstNote >= 0 ? old.slice(0, firstNote) : old;
  const notes = existsSync(changed) ? [readFileSync(changed, "utf8")] : [];
  return [...figures.flatMap((b) => b.lines), ...notes].join("\n");
}
process.stderr.write(`bench: wrote BENCHMARKS.md (${rows.length} rows)\n`);
