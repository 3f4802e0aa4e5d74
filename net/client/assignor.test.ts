// The range assignor, against Kafka's RangeAssignor behaviour (RangeAssignorTest cases).
import { expect, test } from "bun:test";
import { rangeAssign } from "./assignor.ts";

const plain = (a: ReturnType<typeof rangeAssign>) => Object.fromEntries([...a].map(([m, t]) => [m, Object.fromEntries(t)]));

test("one member takes every partition", () => {
  expect(plain(rangeAssign([{ memberId: "c1", topics: ["t"] }], new Map([["t", 3]])))).toEqual({ c1: { t: [0, 1, 2] } });
});

test("uneven split: the first members in id order get one more", () => {
  const members = [
    { memberId: "c2", topics: ["t"] },
    { memberId: "c1", topics: ["t"] },
    { memberId: "c3", topics: ["t"] },
  ];
  expect(plain(rangeAssign(members, new Map([["t", 7]])))).toEqual({ c1: { t: [0, 1, 2] }, c2: { t: [3, 4] }, c3: { t: [5, 6] } });
});

test("more members than partitions: the last get nothing", () => {
  const members = ["a", "b", "c"].map((memberId) => ({ memberId, topics: ["t"] }));
  expect(plain(rangeAssign(members, new Map([["t", 2]])))).toEqual({ a: { t: [0] }, b: { t: [1] }, c: {} });
});

test("each topic is ranged over its own subscribers (Kafka: two topics, two consumers)", () => {
  const members = [
    { memberId: "c0", topics: ["t1", "t2"] },
    { memberId: "c1", topics: ["t1", "t2"] },
  ];
  expect(plain(rangeAssign(members, new Map([["t1", 3], ["t2", 3]])))).toEqual({ c0: { t1: [0, 1], t2: [0, 1] }, c1: { t1: [2], t2: [2] } });
  const partial = [
    { memberId: "c0", topics: ["t1"] },
    { memberId: "c1", topics: ["t1", "t2"] },
  ];
  expect(plain(rangeAssign(partial, new Map([["t1", 3], ["t2", 2]])))).toEqual({ c0: { t1: [0, 1] }, c1: { t1: [2], t2: [0, 1] } });
});

test("a topic with no metadata is not assigned", () => {
  expect(plain(rangeAssign([{ memberId: "c", topics: ["missing"] }], new Map()))).toEqual({ c: {} });
});
