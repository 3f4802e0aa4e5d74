// The ink app of `streamctl top` (loaded only when top runs interactively, so other commands do
// not load React): polls /v1/stats every interval, draws the summary, the chosen view sorted, and
// the key help. Keys: t/p/g or Tab switch views, s sorts by the next column, r reverses, q / Esc /
// Ctrl-C quit.
import { Box, render, Text, useApp, useInput } from "ink";
import { useEffect, useState } from "react";
import type { ControlPlaneClient } from "../net/http/client.ts";
import { defaultSort, sortColumns, type StatsDoc, summaryLine, type View, VIEWS, viewTable } from "./top-frame.ts";

export interface AppProps {
  client: ControlPlaneClient;
  url: string;
  intervalMs: number;
  initialView: View;
  color: boolean;
  columns: () => number;
}

function TopApp({ client, url, intervalMs, initialView, color, columns }: AppProps) {
  const { exit } = useApp();
  const [doc, setDoc] = useState<StatsDoc | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<View>(initialView);
  const [sorts, setSorts] = useState(() => Object.fromEntries(VIEWS.map((v) => [v, defaultSort(v)])) as Record<View, { column: number; descending: boolean }>);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const next = await client.get<StatsDoc>("/v1/stats");
        if (stopped) return;
        setDoc(next);
        setError(null);
      } catch (err) {
        if (!stopped) setError((err as Error).message.split("\n")[0]!);
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, intervalMs]);

  useInput((input, key) => {
    if (input === "q" || key.escape) return exit();
    if (input === "t") setView("topics");
    else if (input === "p") setView("partitions");
    else if (input === "g") setView("groups");
    else if (key.tab) setView((v) => VIEWS[(VIEWS.indexOf(v) + 1) % VIEWS.length]!);
    else if (input === "s") setSorts((s) => ({ ...s, [view]: { column: (s[view].column + 1) % sortColumns(view), descending: s[view].descending } }));
    else if (input === "r") setSorts((s) => ({ ...s, [view]: { ...s[view], descending: !s[view].descending } }));
  });

  const width = columns();
  const clip = (line: string) => (line.length > width ? line.slice(0, width) : line);
  const table = doc ? viewTable(doc, view, sorts[view]) : [];
  return (
    <Box flexDirection="column">
      <Text bold={color}>{clip(doc ? summaryLine(doc, url) : `streamctl top  ${url}  connecting…`)}</Text>
      <Text color={color ? "red" : undefined}>{clip(error ?? " ")}</Text>
      {table.map((line, i) => (
        <Text key={i} inverse={color && i === 0}>
          {clip(line)}
        </Text>
      ))}
      <Text dimColor={color}>{clip(`\n[${VIEWS.map((v) => (v === view ? v.toUpperCase() : v)).join(" ")}]  t/p/g/Tab view  s sort  r reverse  q quit`)}</Text>
    </Box>
  );
}

export async function runTopApp(props: AppProps, streams: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Promise<void> {
  // interactive: a live view whenever we got here (stdout is a terminal), even with CI set in the
  // environment, where ink would otherwise only print the last frame at exit.
  const app = render(<TopApp {...props} />, { ...streams, exitOnCtrlC: true, patchConsole: false, interactive: true });
  await app.waitUntilExit();
}
