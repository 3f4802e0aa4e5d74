// `streamctl top` — a live dashboard of the broker from `/v1/stats`, refreshed every second:
// topics and partitions (records/s and MB/s in and out, end offsets, size on disk) and consumer
// groups (lag in records, in seconds, and its trend). Keys: t/p/g or Tab switch views, s sorts
// by the next column, r reverses, q or Ctrl-C quits. `--once` prints one frame as plain text
// (for scripts; no ANSI), without loading ink.
import { Command } from "commander";
import { admin, controlPlane, type HttpFlags, withHttpOptions } from "./control-plane.ts";
import { type Io, UsageError } from "./io.ts";
import { onceFrame, type StatsDoc, type View, VIEWS } from "./top-frame.ts";

interface TopFlags extends HttpFlags {
  once?: boolean;
  view: string;
  intervalMs: string;
}

function parseView(v: string): View {
  if (!VIEWS.includes(v as View)) throw new UsageError(`--view: expected one of ${VIEWS.join(", ")}, got "${v}"`);
  return v as View;
}

export function topCommand(io: Io): Command {
  return withHttpOptions(
    new Command("top")
      .description("live dashboard: rates, end offsets, sizes and group lag, from the control plane's /v1/stats")
      .option("--once", "print one frame as plain text and exit (for scripts)")
      .option("--view <view>", `starting view: ${VIEWS.join(", ")}`, "topics")
      .option("--interval-ms <ms>", "refresh interval", "1000"),
    false,
  ).action(async (flags: TopFlags) => {
    const view = parseView(flags.view);
    if (!/^\d+$/.test(flags.intervalMs) || Number(flags.intervalMs) < 100) throw new UsageError(`--interval-ms: expected an integer ≥ 100, got "${flags.intervalMs}"`);
    const client = controlPlane(flags, io);
    const url = client.base.origin;
    if (flags.once) {
      const doc = await admin(() => client.get<StatsDoc>("/v1/stats"));
      io.stdout.write(onceFrame(doc, url, view));
      return;
    }
    const stdin = io.stdin as NodeJS.ReadStream;
    const stdout = io.stdout as NodeJS.WriteStream;
    if (!stdin.isTTY || !stdout.isTTY) throw new UsageError("top needs a terminal; use --once for one frame as text");
    const color = !io.env.NO_COLOR;
    const { runTopApp } = await import("./top-app.tsx");
    await runTopApp(
      { client, url, intervalMs: Number(flags.intervalMs), initialView: view, color, columns: () => stdout.columns || 120 },
      { stdin, stdout, stderr: io.stderr as NodeJS.WriteStream },
    );
  });
}
