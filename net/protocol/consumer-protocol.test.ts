// Consumer protocol blobs: the version prefix, hand-written bytes for a v0 subscription, and a
// newer-than-known version read with the newest layout.
import { expect, test } from "bun:test";
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "./consumer-protocol.ts";

test("a v0 subscription, byte by byte", () => {
  const bytes = new Uint8Array([
    0x00, 0x00, //                         version 0
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74, // topics: ["t"]
    0xff, 0xff, 0xff, 0xff, //             user_data: null
  ]);
  const d = decodeSubscription(bytes);
  expect(d).toEqual({ version: 0, message: { topics: ["t"], userData: null, ownedPartitions: [], generationId: -1, rackId: null } });
  if ("error" in d) throw new Error(d.error);
  expect(encodeSubscription(0, d.message)).toEqual(bytes);
});

test("a version newer than ours is read with our newest layout, trailing fields ignored", () => {
  const v3 = encodeSubscription(3, { topics: ["a"], userData: new Uint8Array([1]), ownedPartitions: [{ topic: "a", partitions: [0, 1] }], generationId: 7, rackId: "r1" });
  const future = new Uint8Array([...v3, 0x00, 0x05]);
  future[1] = 9; // version 9
  expect(decodeSubscription(future)).toMatchObject({ version: 9, message: { topics: ["a"], generationId: 7, rackId: "r1" } });
});

test("assignments round trip; garbage is an error, not a throw", () => {
  const a = { assignedPartitions: [{ topic: "t", partitions: [3] }], userData: null };
  expect(decodeAssignment(encodeAssignment(1, a))).toEqual({ version: 1, message: a });
  expect(decodeAssignment(new Uint8Array([0x00]))).toHaveProperty("error");
  expect(decodeAssignment(new Uint8Array([0xff, 0xff]))).toHaveProperty("error");
  expect(() => encodeAssignment(7, a)).toThrow(RangeError);
});
