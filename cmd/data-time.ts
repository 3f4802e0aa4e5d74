// Positions the data commands accept (`--from`, `--to` of consume, tail, replay and copy): where in
// a partition to start or stop. One vocabulary everywhere (issue #22), kcat's words included:
//
//   beginning | earliest     the log start
//   end | latest             the end offset at the time of asking
//   OFFSET                   an absolute offset (digits)
//   -N                       N before the end of each partition (kcat's -o -5): as a start, the
//                            last N records of each partition; as a stop, all but the last N
//   @TIME                    the first record whose timestamp is at or after TIME, where TIME is
//     @1700000000000         epoch milliseconds (10+ digits; shorter numbers are refused as
//                            ambiguous with seconds, which `@1700000000s` spells out)
//     @2026-11-21T10:00      ISO-8601 date/time; without a zone it is local time (as `date` prints),
//     @2026-11-21            a date alone is local midnight; Z or ±HH:MM give the zone
//     @-2h  @-90s  @-1d      relative to now: ms, s, m, h, d, w; a leading + is the future
//
// Times become offsets through ListOffsets, so they mean what Kafka means by them: the broker's
// time index over record timestamps.
import type { OffsetSpec } from "../net/client/offset-spec.ts";
import { UsageError } from "./io.ts";

export type Position =
  | { kind: "beginning" }
  | { kind: "end" }
  | { kind: "last"; count: number }
  | { kind: "offset"; offset: number }
  | { kind: "time"; ms: number };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses TIME (without the @) to epoch ms; `now` is for relative times. Throws UsageError. */
export function parseTime(flag: string, text: string, now: number = Date.now()): number {
  const rel = /^([+-])(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text);
  if (rel) {
    const ms = Number(rel[2]) * UNIT_MS[rel[3]!]!;
    return Math.round(rel[1] === "-" ? now - ms : now + ms);
  }
  const secs = /^(\d+)s$/.exec(text);
  if (secs) return Number(secs[1]) * 1000;
  if (/^\d+$/.test(text)) {
    if (text.length < 10) throw new UsageError(`${flag}: "@${text}" is ambiguous: give epoch milliseconds (13 digits), seconds as "@${text}s", or an ISO time`);
    return Number(text);
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (iso) {
    const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "0", zone] = iso;
    const ms = Number(frac.padEnd(3, "0"));
    const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms] as const;
    if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
      throw new UsageError(`${flag}: "@${text}" is not a valid date/time`);
    }
    if (zone === undefined) return new Date(...parts).getTime();
    const utc = Date.UTC(...parts);
    if (zone === "Z") return utc;
    const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const offsetMs = (Number(zm[2]) * 60 + Number(zm[3])) * 60_000;
    return zm[1] === "+" ? utc - offsetMs : utc + offsetMs;
  }
  throw new UsageError(`${flag}: cannot read "@${text}" as a time (try @2026-11-21T10:00, @1700000000000 or @-2h)`);
}

/** What `--from`/`--to` take, for help texts. */
export const POSITION_HELP =
  "beginning|earliest, end|latest, OFFSET, -N (N before the end of each partition), or @TIME: ISO-8601 (local time unless it ends in Z or ±HH:MM), epoch ms, or relative like @-2h";

/** Parses `beginning|end|OFFSET|-N|@TIME`. `allowEnds` is false for flags that take only OFFSET|@TIME. */
export function parsePosition(flag: string, text: string, opts: { allowEnds?: boolean; now?: number } = {}): Position {
  const allowEnds = opts.allowEnds ?? true;
  if (allowEnds && (text === "beginning" || text === "earliest" || text === "start")) return { kind: "beginning" };
  if (allowEnds && (text === "end" || text === "latest")) return { kind: "end" };
  if (/^\d+$/.test(text)) {
    const offset = Number(text);
    if (!Number.isSafeInteger(offset)) throw new UsageError(`${flag}: offset ${text} is too large`);
    return { kind: "offset", offset };
  }
  if (allowEnds && /^-\d+$/.test(text)) {
    const count = Number(text.slice(1));
    if (!Number.isSafeInteger(count)) throw new UsageError(`${flag}: ${text} is too large`);
    return { kind: "last", count };
  }
  if (text.startsWith("@")) return { kind: "time", ms: parseTime(flag, text.slice(1), opts.now) };
  const want = allowEnds ? "beginning, end, an offset, -N or @TIME" : "an offset or @TIME";
  throw new UsageError(`${flag}: expected ${want}, got "${text}"`);
}

/** The consumer's name for a position (net/client/offset-spec.ts). */
export function offsetSpec(pos: Position): OffsetSpec {
  switch (pos.kind) {
    case "beginning":
      return { kind: "earliest" };
    case "end":
      return { kind: "latest" };
    case "last":
      return { kind: "last", count: pos.count };
    case "offset":
      return { kind: "offset", offset: pos.offset };
    case "time":
      return { kind: "timestamp", ms: pos.ms };
  }
}
