// top's keys as a pure function (issue 22): several keys typed together act one after the other,
// control characters inside such a chunk act as their keys, scrolling stays within the rows.
import { describe, expect, test } from "bun:test";
import { initialUi, press } from "./top-keys.ts";

const layout = { rows: 22, page: 6 };

describe("top keys", () => {
  test("keys typed together act in turn: t then s sorts the topics view", () => {
    const s = press(initialUi("groups"), "ts", {}, layout);
    expect(s.view).toBe("topics");
    expect(s.sorts.topics.column).toBe(3);
    expect(s.sorts.groups).toEqual(initialUi("groups").sorts.groups);
  });

  test("a filter typed with its Enter in one chunk keeps only the text", () => {
    const s = press(press(initialUi("topics"), "/", {}, layout), "many-1\r", {}, layout);
    expect(s).toMatchObject({ filter: "many-1", typing: false });
    expect(press(s, "", { escape: true }, layout)).toMatchObject({ filter: "", quit: false });
    expect(press(press(s, "", { escape: true }, layout), "", { escape: true }, layout).quit).toBe(true);
  });

  test("letters typed into a filter are not commands", () => {
    const s = press(press(initialUi("topics"), "/", {}, layout), "q", {}, layout);
    expect(s).toMatchObject({ filter: "q", quit: false, typing: true });
    expect(press(s, "\x7f", {}, layout).filter).toBe("");
  });

  test.each([
    ["j", {}, 1],
    ["k", {}, 0],
    ["", { pageDown: true }, 6],
    ["", { end: true }, 16],
    [" ", {}, 6],
  ])("%j %j scrolls to %i, within 0..rows-page", (input, key, want) => {
    expect(press(initialUi("topics"), input, key, layout).scroll).toBe(want);
  });

  test("scrolling never passes the last page, and a short table does not scroll", () => {
    let s = initialUi("topics");
    for (let i = 0; i < 30; i++) s = press(s, "j", {}, layout);
    expect(s.scroll).toBe(16);
    expect(press(initialUi("topics"), "j", {}, { rows: 3, page: 6 }).scroll).toBe(0);
  });
});
