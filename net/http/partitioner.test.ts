import { expect, test } from "bun:test";
import { murmur2, partitionForKey } from "./partitioner.ts";

// Vectors from Kafka's UtilsTest.testMurmur2: a key lands where the Java client would put it.
test.each([
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
])("murmur2(%s) = %i", (key, want) => {
  expect(murmur2(new TextEncoder().encode(key))).toBe(want);
});

test("partitionForKey is toPositive(murmur2) mod partitions", () => {
  expect(partitionForKey(new TextEncoder().encode("foobar"), 7)).toBe((-790332482 & 0x7fffffff) % 7);
});
