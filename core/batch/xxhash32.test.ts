import { expect, test } from "bun:test";
import { xxhash32 } from "./xxhash32.ts";

const te = new TextEncoder();

// Reference values from the xxHash project's own sanity checks and `xxhsum -H0`.
test.each([
  ["", 0, 0x02cc5d05],
  ["", 1, 0x0b2cb792],
  ["a", 0, 0x550d7456],
  ["abc", 0, 0x32d153ff],
  ["Nobody inspects the spammish repetition", 0, 0xe2293b2f],
])("xxhash32(%p, seed %p)", (input, seed, want) => {
  const data = te.encode(input);
  expect(xxhash32(data, 0, data.length, seed)).toBe(want);
});

test("range arguments hash the same bytes as a copy", () => {
  const data = te.encode("xx The quick brown fox jumps over the lazy dog yy");
  expect(xxhash32(data, 3, data.length - 3)).toBe(xxhash32(data.slice(3, data.length - 3)));
});
