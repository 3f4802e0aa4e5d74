// `streamctl offsets TOPIC… [--at TIME]` — where each partition's log starts and ends, and with
// --at the first offset whose record timestamp is at or after TIME (kcat -Q), from ListOffsets on
// each partition's leader. TIME is what `consume --from @TIME` takes (epoch ms, ISO-8601, or
// relative like -2h), with or without the @. A partition with no record at or after TIME shows "-"
// (null in JSON): reading from there means reading from the end.
import { Command } from "commander";
import { EARLIEST, LATEST } from "../net/client/client.ts";
import { type AdminFlags, checkTopicName, printJson, withAdmin, withAdminOptions } from "./admin-common.ts";
import { parseTime } from "./data-time.ts";
import { type Io, UsageError } from "./io.ts";
import { formatCount, formatTable } from "./table.ts";

interface OffsetsFlags extends AdminFlags {
  at?: string;
}

export function offsetsCommand(io: Io): Command {
  return withAdminOptions(
    new Command("offsets")
      .description("start and end offsets of each partition, or the offset at a time (like kcat -Q)")
      .argument("<topics...>")
      .option("--at <time>", "also the first offset at or after TIME: epoch ms, ISO-8601, or relative like -2h"),
  ).action((topics: string[], flags: OffsetsFlags) => {
    for (const t of topics) checkTopicName(t);
    const at = flags.at === undefined ? null : parseTime("--at", flags.at.replace(/^@/, ""));
    return withAdmin(flags, io, "offsets", async (s) => {
      const doc = { at, topics: [] as Array<{ topic: string; partitions: Array<{ partition: number; start: number; end: number; offset?: number | null }> }> };
      for (const name of topics) {
        const md = await s.admin.topic(name);
        const ps = md.partitions.map((p) => p.partition);
        const [start, end, found] = await Promise.all([s.admin.offsetsAt(name, ps, EARLIEST), s.admin.offsetsAt(name, ps, LATEST), at === null ? null : s.admin.offsetsAt(name, ps, at)]);
        doc.topics.push({
          topic: name,
          partitions: ps.map((p) => ({
            partition: p,
            start: start.get(p)!,
            end: end.get(p)!,
            ...(found === null ? {} : { offset: (found.get(p) ?? -1) >= 0 ? found.get(p)! : null }),
          })),
        });
      }
      if (flags.json) return printJson(io, doc);
      const headers = ["TOPIC", "PARTITION", "START", "END", "RECORDS", ...(at === null ? [] : ["OFFSET@TIME"])];
      const rows = doc.topics.flatMap((t) => t.partitions.map((p) => [t.topic, p.partition, p.start, p.end, formatCount(p.end - p.start), ...(at === null ? [] : [p.offset ?? null])]));
      io.stdout.write(formatTable(headers, rows));
      if (at !== null) io.stderr.write(`OFFSET@TIME: the first record at or after ${new Date(at).toISOString()}; - where there is none yet\n`);
    });
  });
}
