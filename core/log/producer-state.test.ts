import { describe, expect, test } from "bun:test";
import { ProducerState } from "./producer-state.ts";

const done = (baseOffset: number, n: number) => Promise.resolve({ baseOffset, lastOffset: baseOffset + n - 1 });

describe("ProducerState decision table", () => {
  test("unknown producer: append", () => {
    expect(new ProducerState().check(7, 0, 42, 3)).toEqual({ kind: "append" });
  });

  test("next sequence: append; a gap: out of order; a retry of a recent batch: duplicate with its offsets", async () => {
    const s = new ProducerState();
    s.record(7, 0, 0, 10, done(100, 10));
    expect(s.check(7, 0, 10, 5)).toEqual({ kind: "append" });
    expect(s.check(7, 0, 11, 5)).toEqual({ kind: "out-of-order", expected: 10 });
    const dup = s.check(7, 0, 0, 10);
    expect(dup.kind).toBe("duplicate");
    expect(await (dup as { result: Promise<unknown> }).result).toEqual({ baseOffset: 100, lastOffset: 109 });
  });

  test("in-flight batches chain: the third checks against the second, not yet appended", () => {
    const s = new ProducerState();
    s.record(1, 0, 0, 5, new Promise(() => {}));
    s.record(1, 0, 5, 5, new Promise(() => {}));
    expect(s.check(1, 0, 10, 5)).toEqual({ kind: "append" });
  });

  test("an older epoch is fenced; a newer epoch starts over", () => {
    const s = new ProducerState();
    s.record(3, 2, 0, 1, done(0, 1));
    expect(s.check(3, 1, 1, 1)).toEqual({ kind: "fenced", currentEpoch: 2 });
    expect(s.check(3, 3, 0, 1)).toEqual({ kind: "append" });
  });

  test("sequences wrap at 2^31-1", () => {
    const s = new ProducerState();
    s.record(9, 0, 0x7ffffffe, 2, done(0, 2));
    expect(s.check(9, 0, 0, 1)).toEqual({ kind: "append" });
  });

  test("only the last five batches are remembered; a failed append is forgotten", async () => {
    const s = new ProducerState();
    for (let i = 0; i < 6; i++) s.record(4, 0, i, 1, done(i, 1));
    expect(s.check(4, 0, 0, 1).kind).toBe("out-of-order");
    expect(s.check(4, 0, 1, 1).kind).toBe("duplicate");
    const failing = Promise.reject(new Error("disk full"));
    s.record(4, 0, 6, 1, failing);
    await failing.catch(() => {});
    await Promise.resolve();
    expect(s.check(4, 0, 6, 1)).toEqual({ kind: "append" });
  });
});
