// What each key does in `streamctl top`, as a pure function of the screen's state, so the ink app
// (top-app.tsx) only draws and tests can drive it without a terminal. Keys typed faster than a
// frame arrive together in one input chunk ("ts"): each character is applied in turn.
//
//   t p g Tab        topics / partitions / groups view, next view (scrolls back to the top)
//   s r              sort by the next column / reverse the sort
//   ↑ ↓ k j          scroll a row;   PgUp PgDn b space   a page;   Home End   either end
//   /                filter rows by name: type, Backspace, Enter keeps it, Esc drops it
//   q Esc            quit (Esc first drops a filter); Ctrl-C is ink's
import { defaultSort, sortColumns, type View, VIEWS } from "./top-frame.ts";

export interface UiState {
  view: View;
  sorts: Record<View, { column: number; descending: boolean }>;
  /** Index of the first table row shown. */
  scroll: number;
  filter: string;
  /** The filter is being typed: letters go into it instead of being commands. */
  typing: boolean;
  quit: boolean;
}

/** The subset of ink's Key that top reacts to. */
export interface Keys {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

/** How many table rows there are to scroll through and how many fit on the screen. */
export interface Layout {
  rows: number;
  page: number;
}

export function initialUi(view: View): UiState {
  return { view, sorts: Object.fromEntries(VIEWS.map((v) => [v, defaultSort(v)])) as UiState["sorts"], scroll: 0, filter: "", typing: false, quit: false };
}

export function clampScroll(scroll: number, layout: Layout): number {
  return Math.max(0, Math.min(scroll, layout.rows - layout.page));
}

/** Applies one keypress (`input` may hold several characters typed together). */
export function press(state: UiState, input: string, key: Keys, layout: Layout): UiState {
  const special = key.upArrow || key.downArrow || key.pageUp || key.pageDown || key.home || key.end || key.return || key.escape || key.tab || key.backspace || key.delete;
  if (special || input.length === 0) return pressOne(state, input, key, layout);
  let s = state;
  for (const ch of input) s = pressOne(s, ch, CONTROL_CHARS[ch] ?? (input.length === 1 ? key : {}), layout);
  return s;
}

/** Control characters inside a chunk of typed text, as the keys ink reports them for alone. */
const CONTROL_CHARS: Record<string, Keys> = { "\r": { return: true }, "\n": { return: true }, "\x1b": { escape: true }, "\x7f": { backspace: true }, "\b": { backspace: true }, "\t": { tab: true } };

function pressOne(s: UiState, ch: string, key: Keys, layout: Layout): UiState {
  if (s.quit) return s;
  if (s.typing) {
    if (key.return) return { ...s, typing: false };
    if (key.escape) return { ...s, typing: false, filter: "", scroll: 0 };
    if (key.backspace || key.delete) return { ...s, filter: s.filter.slice(0, -1), scroll: 0 };
    if (ch && !key.ctrl && !key.meta) return { ...s, filter: s.filter + ch, scroll: 0 };
    return s;
  }
  const at = clampScroll(s.scroll, layout);
  const to = (view: View): UiState => ({ ...s, view, scroll: 0 });
  const sort = (change: (x: { column: number; descending: boolean }) => { column: number; descending: boolean }): UiState => ({ ...s, sorts: { ...s.sorts, [s.view]: change(s.sorts[s.view]) } });
  if (key.escape) return s.filter === "" ? { ...s, quit: true } : { ...s, filter: "", scroll: 0 };
  if (key.tab) return to(VIEWS[(VIEWS.indexOf(s.view) + 1) % VIEWS.length]!);
  if (key.downArrow) return { ...s, scroll: clampScroll(at + 1, layout) };
  if (key.upArrow) return { ...s, scroll: clampScroll(at - 1, layout) };
  if (key.pageDown) return { ...s, scroll: clampScroll(at + layout.page, layout) };
  if (key.pageUp) return { ...s, scroll: clampScroll(at - layout.page, layout) };
  if (key.home) return { ...s, scroll: 0 };
  if (key.end) return { ...s, scroll: clampScroll(layout.rows, layout) };
  switch (ch) {
    case "q":
      return { ...s, quit: true };
    case "t":
      return to("topics");
    case "p":
      return to("partitions");
    case "g":
      return to("groups");
    case "s":
      return sort((x) => ({ column: (x.column + 1) % sortColumns(s.view), descending: x.descending }));
    case "r":
      return sort((x) => ({ ...x, descending: !x.descending }));
    case "/":
      return { ...s, typing: true };
    case "j":
      return { ...s, scroll: clampScroll(at + 1, layout) };
    case "k":
      return { ...s, scroll: clampScroll(at - 1, layout) };
    case " ":
      return { ...s, scroll: clampScroll(at + layout.page, layout) };
    case "b":
      return { ...s, scroll: clampScroll(at - layout.page, layout) };
    default:
      return s;
  }
}
