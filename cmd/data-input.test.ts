// Cutting input into records: any chunking of the same bytes gives the same records.
import { expect, test } from "bun:test";
import { RecordSplitter } from "./data-input.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

function split(input: string, delimiter: string, cuts: number[]): string[] {
  const bytes = utf8.encode(input);
  const s = new RecordSplitter(utf8.encode(delimiter));
  const out: string[] = [];
  const on = (b: Uint8Array, a: number, z: number) => void out.push(text.decode(b.subarray(a, z)));
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    s.push(bytes.slice(prev, c), on);
    prev = c;
  }
  s.end(on);
  return out;
}

test.each([
  ["a\nb\nc\n", "\n", ["a", "b", "c"]],
  ["a\nb\nc", "\n", ["a", "b", "c"]],
  ["a\n\nb\n", "\n", ["a", "", "b"]],
  ["one||two||three", "||", ["one", "two", "three"]],
  ["x\r\ny\r\n", "\n", ["x\r", "y\r"]],
  ["", "\n", []],
])("%p split at %p", (input, delimiter, want) => {
  // Every way of cutting the input in two and three pieces gives the same records.
  const n = utf8.encode(input).length;
  expect(split(input, delimiter, [])).toEqual(want);
  for (let i = 0; i <= n; i++) {
    expect(split(input, delimiter, [i])).toEqual(want);
    for (let j = i; j <= n; j++) expect(split(input, delimiter, [i, j])).toEqual(want);
  }
});
