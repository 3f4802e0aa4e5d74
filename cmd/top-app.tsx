// The ink app of `streamctl top` (loaded only when top runs interactively, so other commands do
// not load React): polls its StatsSource every interval and draws, top to bottom, the summary, an
// error line, the chosen view's header, as many of its rows as the terminal has room for, and the
// key help. The frame never grows taller than the terminal, so the summary and the header stay on
// screen however short it is; the rows scroll under them.
//
// Keys (top-keys.ts): t/p/g or Tab switch views, s sorts by the next column, r reverses; ↑/↓ or
// k/j scroll a row, PgUp/PgDn (or space/b) a page, Home/End to either end; / starts a filter on
// the name column (type, Enter to keep it, Esc to drop it); q, Esc or Ctrl-C quit.
import { Box, render, Text, useApp, useInput, useWindowSize } from "ink";
import { useEffect, useState } from "react";
import { type StatsDoc, summaryLine, type View, VIEWS, viewTable } from "./top-frame.ts";
import { clampScroll, initialUi, press, type UiState } from "./top-keys.ts";
import type { StatsSource } from "./top-source.ts";

export interface AppProps {
  source: StatsSource;
  intervalMs: number;
  initialView: View;
  color: boolean;
}

/** Lines of the frame that are not table rows: summary, error, header, blank, key help. */
const FIXED_LINES = 5;

export function bodyRows(terminalRows: number): number {
  // One line spare: a frame as tall as the terminal would scroll its first line away.
  return Math.max(1, terminalRows - 1 - FIXED_LINES);
}

function TopApp({ source, intervalMs, initialView, color }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useWindowSize();
  const [doc, setDoc] = useState<StatsDoc | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ui, setUi] = useState<UiState>(() => initialUi(initialView));

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const next = await source.poll();
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
  }, [source, intervalMs]);

  useEffect(() => {
    if (ui.quit) exit();
  }, [ui.quit, exit]);

  const page = bodyRows(rows || 24);
  const table = doc ? viewTable(doc, ui.view, ui.sorts[ui.view], true, ui.filter) : [];
  const body = table.slice(1);
  const layout = { rows: body.length, page };
  useInput((input, key) => setUi((s) => press(s, input, key, layout)));

  const top = clampScroll(ui.scroll, layout);
  const width = columns || 120;
  const clip = (line: string) => (line.length > width ? line.slice(0, width) : line);
  const shown = body.slice(top, top + page);
  const position = body.length > page ? `  rows ${top + 1}-${top + shown.length} of ${body.length} (↑↓ PgUp PgDn)` : "";
  const filterText = ui.typing ? `  /${ui.filter}▏` : ui.filter ? `  filter /${ui.filter} (Esc clears)` : "";
  const help = `[${VIEWS.map((v) => (v === ui.view ? v.toUpperCase() : v)).join(" ")}]${position}${filterText}  t/p/g view  s sort  r reverse  / filter  q quit`;
  return (
    <Box flexDirection="column">
      <Text bold={color}>{clip(doc ? summaryLine(doc, source.label) : `streamctl top  ${source.label}  connecting…`)}</Text>
      <Text color={color ? "red" : undefined}>{clip(error ?? " ")}</Text>
      {table.length > 0 ? <Text inverse={color}>{clip(table[0]!)}</Text> : <Text> </Text>}
      {shown.map((line, i) => (
        <Text key={i}>{clip(line)}</Text>
      ))}
      <Text dimColor={color}>{clip(`\n${help}`)}</Text>
    </Box>
  );
}

export async function runTopApp(props: AppProps, streams: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Promise<void> {
  // interactive: a live view whenever we got here (stdout is a terminal), even with CI set in the
  // environment, where ink would otherwise only print the last frame at exit.
  const app = render(<TopApp {...props} />, { ...streams, exitOnCtrlC: true, patchConsole: false, interactive: true });
  await app.waitUntilExit();
}
