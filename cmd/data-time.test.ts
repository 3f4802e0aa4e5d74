// The time and position parser behind --from/--to.
import { expect, test } from "bun:test";
import { parsePosition, parseTime } from "./data-time.ts";

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

test.each([
  ["-2h", NOW - 2 * 3_600_000],
  ["-90s", NOW - 90_000],
  ["-15m", NOW - 15 * 60_000],
  ["-1d", NOW - 86_400_000],
  ["-1w", NOW - 7 * 86_400_000],
  ["-250ms", NOW - 250],
  ["+1h", NOW + 3_600_000],
  ["-1.5h", NOW - 5_400_000],
  ["1700000000000", 1_700_000_000_000],
  ["1700000000s", 1_700_000_000_000],
  ["2026-11-21T10:00Z", Date.UTC(2026, 10, 21, 10, 0)],
  ["2026-11-21T10:00:30.250Z", Date.UTC(2026, 10, 21, 10, 0, 30, 250)],
  ["2026-11-21T10:00+02:00", Date.UTC(2026, 10, 21, 8, 0)],
  ["2026-11-21T10:00-0130", Date.UTC(2026, 10, 21, 11, 30)],
  ["2026-11-21T10:00", new Date(2026, 10, 21, 10, 0).getTime()],
  ["2026-11-21 10:00:05", new Date(2026, 10, 21, 10, 0, 5).getTime()],
  ["2026-11-21", new Date(2026, 10, 21).getTime()],
])("@%s", (text, want) => {
  expect(parseTime("--from", text, NOW)).toBe(want);
});

test.each(["", "yesterday", "-2x", "12345", "2026-13-01", "2026-11-21T25:00", "2026/11/21"])("@%p is a usage error", (text) => {
  expect(() => parseTime("--from", text, NOW)).toThrow(/--from/);
  try {
    parseTime("--from", text, NOW);
  } catch (err) {
    expect((err as Error).name).toBe("UsageError");
  }
});

test("positions", () => {
  expect(parsePosition("--from", "beginning")).toEqual({ kind: "beginning" });
  expect(parsePosition("--from", "end")).toEqual({ kind: "end" });
  expect(parsePosition("--from", "42")).toEqual({ kind: "offset", offset: 42 });
  expect(parsePosition("--from", "@-1h", { now: NOW })).toEqual({ kind: "time", ms: NOW - 3_600_000 });
  expect(() => parsePosition("--to", "end", { allowEnds: false })).toThrow(/--to: expected an offset or @TIME/);
  // One vocabulary for positions, kcat's words and -N included (issue #22).
  expect(parsePosition("--from", "earliest")).toEqual({ kind: "beginning" });
  expect(parsePosition("--from", "latest")).toEqual({ kind: "end" });
  expect(parsePosition("--from", "-5")).toEqual({ kind: "last", count: 5 });
  expect(() => parsePosition("--from", "-5x")).toThrow(/expected beginning, end, an offset, -N or @TIME/);
});
