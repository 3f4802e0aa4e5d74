// murmur2 against the vectors of Kafka's UtilsTest.testMurmur2, so keyed records land where the
// Java client would put them.
import { expect, test } from "bun:test";
import { murmur2, partitionForKey } from "./key-partition.ts";

const utf8 = new TextEncoder();

test.each([
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
])("murmur2(%p) = %p", (key, want) => {
  expect(murmur2(utf8.encode(key))).toBe(want);
});

test("partitionForKey is murmur2 positive modulo the partition count", () => {
  expect(partitionForKey(utf8.encode("foobar"), 7)).toBe((-790332482 & 0x7fffffff) % 7);
  for (let i = 0; i < 100; i++) {
    const p = partitionForKey(utf8.encode(`k${i}`), 5);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(5);
  }
});
