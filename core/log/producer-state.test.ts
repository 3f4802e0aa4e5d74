// The decision table of producer-state.ts, row by row, and the bounds (RETAINED batches, expiry).
import { describe, expect, test } from "bun:test";
import { ProducerState, RETAINED } from "./producer-state.ts";

const NOW = 1_700_000_000_000;

/** A state where producer `id` (epoch `epoch`) wrote batches of `sizes` records from sequence `from`, offsets from `offset`. */
function stateWith(id: number, epoch: number, sizes: number[], from = 0, offset = 100): ProducerState {
  const s = new ProducerState();
  let seq = from;
  let o = offset;
  for (const n of sizes) {
    s.apply(id, epoch, seq, (seq + n - 1) % 0x80000000, o, o + n - 1, NOW, NOW);
    seq = (seq + n) % 0x80000000;
    o += n;
  }
  return s;
}

describe("ProducerState decision table", () => {
  test("row 1: an unknown producer appends, whatever its sequence", () => {
    expect(new ProducerState().check(7, 0, 42, 3)).toEqual({ kind: "append" });
  });

  test("row 2: an older epoch is fenced", () => {
    expect(stateWith(3, 2, [1]).check(3, 1, 1, 1)).toEqual({ kind: "fenced", currentEpoch: 2 });
  });

  test("rows 3 and 4: a newer epoch starts over at sequence 0, and only there", () => {
    const s = stateWith(3, 2, [5]);
    expect(s.check(3, 3, 0, 1)).toEqual({ kind: "append" });
    expect(s.check(3, 3, 5, 1)).toEqual({ kind: "out-of-order", expected: 0 });
    s.apply(3, 3, 0, 0, 105, 105, NOW, NOW);
    expect(s.entry(3)!.batches).toEqual([{ firstSequence: 0, lastSequence: 0, baseOffset: 105, lastOffset: 105 }]);
  });

  test("row 5: a retry of one of the last batches is a duplicate with its offsets", () => {
    const s = stateWith(7, 0, [10, 5, 5]);
    expect(s.check(7, 0, 0, 10)).toEqual({ kind: "duplicate", baseOffset: 100, lastOffset: 109 });
    expect(s.check(7, 0, 15, 5)).toEqual({ kind: "duplicate", baseOffset: 115, lastOffset: 119 });
    // Same first sequence, other length: not that batch.
    expect(s.check(7, 0, 15, 4).kind).toBe("out-of-order");
  });

  test("rows 6 and 7: the next sequence appends; a gap or a step back is out of order", () => {
    const s = stateWith(7, 0, [10]);
    expect(s.check(7, 0, 10, 5)).toEqual({ kind: "append" });
    expect(s.check(7, 0, 11, 5)).toEqual({ kind: "out-of-order", expected: 10 });
    expect(s.check(7, 0, 5, 5)).toEqual({ kind: "out-of-order", expected: 10 });
  });

  test("sequences wrap at 2^31 - 1", () => {
    const s = stateWith(9, 0, [2], 0x7ffffffe);
    expect(s.entry(9)!.batches[0]!.lastSequence).toBe(0x7fffffff);
    expect(s.check(9, 0, 0, 1)).toEqual({ kind: "append" });
  });

  test(`only the last ${RETAINED} batches are remembered: an older retry is out of order, never appended`, () => {
    const s = stateWith(4, 0, [1, 1, 1, 1, 1, 1]);
    expect(s.entry(4)!.batches.length).toBe(RETAINED);
    expect(s.check(4, 0, 0, 1)).toEqual({ kind: "out-of-order", expected: 6 });
    expect(s.check(4, 0, 1, 1)).toEqual({ kind: "duplicate", baseOffset: 101, lastOffset: 101 });
  });

  test("expiry: idle for the expiration time by the later of the batch time and the broker's clock", () => {
    const s = new ProducerState();
    s.apply(1, 0, 0, 0, 0, 0, NOW - 10_000, NOW); // old timestamps (a replay), appended now
    s.apply(2, 0, 0, 0, 1, 1, NOW, NOW - 10_000);
    expect(s.expire(NOW + 4_999, 5_000)).toBe(0);
    expect(s.expire(NOW + 5_000, 5_000)).toBe(2);
    expect(s.size).toBe(0);
  });

  test("describe: what DescribeProducers shows", () => {
    const s = stateWith(5, 1, [3, 4]);
    expect(s.describe()).toEqual([{ producerId: 5, epoch: 1, lastSequence: 6, lastTimestamp: NOW, coordinatorEpoch: -1, currentTxnStartOffset: -1 }]);
  });

  test("clone is deep: applying to the copy leaves the original", () => {
    const s = stateWith(5, 0, [1, 1, 1, 1, 1]);
    const c = s.clone();
    c.apply(5, 0, 5, 5, 200, 200, NOW, NOW);
    expect(s.entry(5)!.batches.map((b) => b.firstSequence)).toEqual([0, 1, 2, 3, 4]);
    expect(c.entry(5)!.batches.map((b) => b.firstSequence)).toEqual([1, 2, 3, 4, 5]);
  });
});
