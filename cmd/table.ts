// Text for people: aligned tables (numbers right-aligned), byte sizes and rates. Commands print
// these on stdout unless --json asks for the control plane's JSON instead.

export type Cell = string | number | null | undefined;

/** Columns separated by two spaces; a column whose cells are all numbers (or blank) aligns right. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(cellText));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || r[i] === "-" || typeof r[i] === "number" || /^[\d.,]+\s?[kKMGT]?i?B?(\/s)?$/.test(String(r[i]))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...text.map(line)].join("\n")}\n`;
}

function cellText(c: Cell): string {
  if (c === null || c === undefined) return "-";
  return String(c);
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** A count with thousands separators: 1234567 → 1,234,567. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A per-second rate, compact: 0, 12, 1.2k, 34k, 1.5M. */
export function formatRate(n: number | null): string {
  if (n === null) return "-";
  if (n < 1000) return n < 10 && n > 0 ? n.toFixed(1) : String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
}

/** MB/s (10^6 bytes) with two decimals, as throughput is usually quoted. */
export function formatMBps(bytesPerSec: number | null): string {
  if (bytesPerSec === null) return "-";
  return (bytesPerSec / 1e6).toFixed(2);
}
