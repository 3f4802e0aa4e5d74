// `streamctl top` — a live dashboard of a cluster, refreshed every second: topics and partitions
// (records/s in, end offsets; against streamctl also MB/s in and out and size on disk) and
// consumer groups (lag in records, its trend, commits/s; against streamctl also lag in seconds).
// It reads the Kafka protocol (top-source.ts), or streamctl's /v1/stats when the broker is a
// streamctl with a matching control plane. Keys are listed in top-app.tsx. `--once` prints one
// frame as plain text (for scripts; no ANSI), without loading ink.
import { Command } from "commander";
import { type AdminFlags, withAdmin, withAdminOptions } from "./admin-common.ts";
import { type Io, UsageError } from "./io.ts";
import { onceFrame, type View, VIEWS } from "./top-frame.ts";
import { httpStats, KafkaStats, type StatsSource } from "./top-source.ts";

interface TopFlags extends AdminFlags {
  once?: boolean;
  view: string;
  intervalMs: string;
}

function parseView(v: string): View {
  if (!VIEWS.includes(v as View)) throw new UsageError(`--view: expected one of ${VIEWS.join(", ")}, got "${v}"`);
  return v as View;
}

export function topCommand(io: Io): Command {
  return withAdminOptions(
    new Command("top")
      .description("live dashboard: rates, end offsets, sizes and group lag")
      .option("--once", "print one frame as plain text and exit (for scripts)")
      .option("--view <view>", `starting view: ${VIEWS.join(", ")}`, "topics")
      .option("--interval-ms <ms>", "refresh interval", "1000"),
    false,
  ).action((flags: TopFlags) => {
    const view = parseView(flags.view);
    if (!/^\d+$/.test(flags.intervalMs) || Number(flags.intervalMs) < 100) throw new UsageError(`--interval-ms: expected an integer ≥ 100, got "${flags.intervalMs}"`);
    const stdin = io.stdin as NodeJS.ReadStream;
    const stdout = io.stdout as NodeJS.WriteStream;
    if (!flags.once && (!stdin.isTTY || !stdout.isTTY)) throw new UsageError("top needs a terminal; use --once for one frame as text");
    return withAdmin(flags, io, "top", async (s) => {
      const cp = await s.controlPlane();
      const source: StatsSource = cp ? httpStats(cp) : new KafkaStats(s.broker, s.admin, s.groups);
      if (flags.once) {
        io.stdout.write(onceFrame(await source.poll(), source.label, view));
        return;
      }
      const { runTopApp } = await import("./top-app.tsx");
      await runTopApp({ source, intervalMs: Number(flags.intervalMs), initialView: view, color: !io.env.NO_COLOR }, { stdin, stdout, stderr: io.stderr as NodeJS.WriteStream });
    });
  });
}
