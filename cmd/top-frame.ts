// What `streamctl top` shows, as plain text: pure functions from one stats document (and the
// view and sort the user picked) to the lines of a frame. The document is streamctl's /v1/stats,
// or the part of it the Kafka protocol can tell (top-source.ts): there, what only streamctl knows
// (sizes, rates out, uptime, fsync, connections) is null and shows as "-" or is left out. The ink
// app (top-app.tsx) draws these lines with emphasis; `top --once` prints them as they are.
import { formatBytes, formatCount, formatMBps, formatRate, formatTable, type Cell } from "./table.ts";

export interface StatsDoc {
  time: number;
  uptimeMs: number | null;
  windowMs: number | null;
  fsync: string | null;
  connections: { open: number; total: number; refused: number } | null;
  diskBytes: number | null;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; start: number; end: number; bytes: number | null; segments: number | null; recordsInPerSec: number | null; bytesInPerSec: number | null }>;
    end: number;
    records: number;
    bytes: number | null;
    rates: { bytesIn: number | null; recordsIn: number | null; bytesOut: number | null; recordsOut: number | null };
  }>;
  groups: Array<{ group: string; state: string; members: unknown[]; lag: number; lagSeconds: number | null; lagTrend: number | null; commitRate: number | null }>;
}

export type View = "topics" | "partitions" | "groups";
export const VIEWS: View[] = ["topics", "partitions", "groups"];

interface Column<Row> {
  title: string;
  cell(row: Row): Cell;
  /** Sort value; columns without one cannot be sorted on. */
  key?(row: Row): number | string;
}

type TopicRow = StatsDoc["topics"][number];
type PartitionRow = TopicRow["partitions"][number] & { topic: string };
type GroupRow = StatsDoc["groups"][number];

const TOPIC_COLUMNS: Column<TopicRow>[] = [
  { title: "TOPIC", cell: (t) => t.name, key: (t) => t.name },
  { title: "PARTS", cell: (t) => t.partitions.length, key: (t) => t.partitions.length },
  { title: "REC/S IN", cell: (t) => formatRate(t.rates.recordsIn), key: (t) => t.rates.recordsIn ?? -1 },
  { title: "MB/S IN", cell: (t) => formatMBps(t.rates.bytesIn), key: (t) => t.rates.bytesIn ?? -1 },
  { title: "REC/S OUT", cell: (t) => formatRate(t.rates.recordsOut), key: (t) => t.rates.recordsOut ?? -1 },
  { title: "MB/S OUT", cell: (t) => formatMBps(t.rates.bytesOut), key: (t) => t.rates.bytesOut ?? -1 },
  { title: "END", cell: (t) => formatCount(t.end), key: (t) => t.end },
  { title: "SIZE", cell: (t) => bytes(t.bytes), key: (t) => t.bytes ?? -1 },
];

const PARTITION_COLUMNS: Column<PartitionRow>[] = [
  { title: "TOPIC", cell: (p) => p.topic, key: (p) => `${p.topic}\u0000${String(p.partition).padStart(6, "0")}` },
  { title: "PART", cell: (p) => p.partition, key: (p) => p.partition },
  { title: "REC/S IN", cell: (p) => formatRate(p.recordsInPerSec), key: (p) => p.recordsInPerSec ?? -1 },
  { title: "MB/S IN", cell: (p) => formatMBps(p.bytesInPerSec), key: (p) => p.bytesInPerSec ?? -1 },
  { title: "START", cell: (p) => formatCount(p.start), key: (p) => p.start },
  { title: "END", cell: (p) => formatCount(p.end), key: (p) => p.end },
  { title: "SIZE", cell: (p) => bytes(p.bytes), key: (p) => p.bytes ?? -1 },
  { title: "SEGS", cell: (p) => p.segments, key: (p) => p.segments ?? -1 },
];

const GROUP_COLUMNS: Column<GroupRow>[] = [
  { title: "GROUP", cell: (g) => g.group, key: (g) => g.group },
  { title: "STATE", cell: (g) => g.state, key: (g) => g.state },
  { title: "MEMBERS", cell: (g) => g.members.length, key: (g) => g.members.length },
  { title: "LAG", cell: (g) => formatCount(g.lag), key: (g) => g.lag },
  { title: "LAG SECS", cell: (g) => (g.lagSeconds === null ? null : g.lagSeconds.toFixed(1)), key: (g) => g.lagSeconds ?? -1 },
  { title: "TREND/S", cell: (g) => trend(g.lagTrend), key: (g) => g.lagTrend ?? 0 },
  { title: "COMMITS/S", cell: (g) => formatRate(g.commitRate), key: (g) => g.commitRate ?? -1 },
];

function bytes(n: number | null): string | null {
  return n === null ? null : formatBytes(n);
}

/** Lag change per second with a direction: "+120 ↑" growing, "-40 ↓" catching up, "0 →". */
export function trend(perSec: number | null): string {
  if (perSec === null) return "-";
  const r = Math.round(perSec);
  if (r > 0) return `+${formatRate(r)} ↑`;
  if (r < 0) return `-${formatRate(-r)} ↓`;
  return "0 →";
}

function columnsOf(view: View): Column<never>[] {
  return (view === "topics" ? TOPIC_COLUMNS : view === "partitions" ? PARTITION_COLUMNS : GROUP_COLUMNS) as Column<never>[];
}

/** How many sortable columns a view has (the `s` key cycles through them). */
export function sortColumns(view: View): number {
  return columnsOf(view).length;
}

/** The default sort of each view: the busiest first (records/s in), groups by lag. */
export function defaultSort(view: View): { column: number; descending: boolean } {
  return view === "groups" ? { column: 3, descending: true } : { column: 2, descending: true };
}

function rowsOf(doc: StatsDoc, view: View): unknown[] {
  if (view === "topics") return doc.topics;
  if (view === "partitions") return doc.topics.flatMap((t) => t.partitions.map((p) => ({ ...p, topic: t.name })));
  return doc.groups;
}

function compare(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/** The table of one view, sorted: a header line and one line per row. `filter` keeps the rows
 * whose name (first column) contains it, ignoring case. */
export function viewTable(doc: StatsDoc, view: View, sort: { column: number; descending: boolean }, arrows = true, filter = ""): string[] {
  const columns = columnsOf(view) as Column<unknown>[];
  const col = columns[Math.min(sort.column, columns.length - 1)]!;
  const name = columns[0]!;
  const wanted = filter.toLowerCase();
  const kept = wanted === "" ? rowsOf(doc, view) : rowsOf(doc, view).filter((r) => String(name.cell(r)).toLowerCase().includes(wanted));
  const rows = [...kept].sort((a, b) => {
    const c = compare(col.key!(a), col.key!(b));
    return (sort.descending ? -c : c) || compare(name.key!(a), name.key!(b));
  });
  const titles = columns.map((c) => (c === col && arrows ? `${c.title}${sort.descending ? "▼" : "▲"}` : c.title));
  if (rows.length === 0) return [titles.join("  "), wanted !== "" ? `(nothing matches /${filter})` : view === "groups" ? "(no consumer groups)" : "(no topics)"];
  return formatTable(titles, rows.map((r) => columns.map((c) => c.cell(r)))).trimEnd().split("\n");
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  return `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** The summary line above the tables; what the source does not know is left out. */
export function summaryLine(doc: StatsDoc, url: string): string {
  const records = doc.topics.reduce((n, t) => n + t.records, 0);
  const parts = [`streamctl top  ${url}`];
  if (doc.uptimeMs !== null) parts.push(`up ${formatDuration(doc.uptimeMs)}`);
  if (doc.fsync !== null) parts.push(`fsync ${doc.fsync}`);
  if (doc.connections !== null) parts.push(`conns ${doc.connections.open}`);
  parts.push(`topics ${doc.topics.length}`, `records ${formatCount(records)}`);
  if (doc.diskBytes !== null) parts.push(`disk ${formatBytes(doc.diskBytes)}`);
  parts.push(`groups ${doc.groups.length}`);
  return parts.join("  ");
}

/** `top --once`: the summary, the chosen view, and the groups when the view is not groups. */
export function onceFrame(doc: StatsDoc, url: string, view: View): string {
  const parts = [summaryLine(doc, url), "", ...viewTable(doc, view, defaultSort(view), false)];
  if (view !== "groups" && doc.groups.length > 0) parts.push("", ...viewTable(doc, "groups", defaultSort("groups"), false));
  return `${parts.join("\n")}\n`;
}
