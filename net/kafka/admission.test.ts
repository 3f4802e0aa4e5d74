// The shared request memory, connections per address and the refusal log (issue #18).
import { expect, test } from "bun:test";
import { ConnectionsPerAddress, RefusalLog, RequestMemory } from "./admission.ts";
import { REFUSAL_LOG_INTERVAL_MS } from "./limits.ts";

test("request memory: what fits is reserved at once; waiters are granted in order as bytes come back, a smaller one past a larger", () => {
  const m = new RequestMemory(100);
  expect(m.tryReserve(60)).toBe(true);
  expect(m.tryReserve(50)).toBe(false);
  const granted: string[] = [];
  m.waitFor(50, () => granted.push("a50"));
  m.waitFor(90, () => granted.push("b90"));
  const cancel = m.waitFor(10, () => granted.push("c10"));
  cancel(); // its connection closed
  m.waitFor(20, () => granted.push("d20"));
  expect(m.tryReserve(20)).toBe(true); // 80 used: fits beside the waiters
  m.release(20); // 60: a50 does not fit, d20 does
  expect(granted).toEqual(["d20"]);
  m.release(60); // 20: a50 fits, b90 not
  expect(granted).toEqual(["d20", "a50"]);
  expect(m.used).toBe(70);
  m.release(70);
  expect(granted).toEqual(["d20", "a50", "b90"]);
  expect(m.used).toBe(90);
  expect(m.waiting).toBe(0);
  expect(m.peak).toBe(90);
});

test("connections per address: the limit holds per address, a close frees one", () => {
  const c = new ConnectionsPerAddress(2);
  expect([c.tryOpen("10.0.0.1"), c.tryOpen("10.0.0.1"), c.tryOpen("10.0.0.1"), c.tryOpen("10.0.0.2")]).toEqual([true, true, false, true]);
  c.close("10.0.0.1");
  expect(c.tryOpen("10.0.0.1")).toBe(true);
  c.close("10.0.0.2");
  expect(c.count("10.0.0.2")).toBe(0);
});

test("refusal lines: one per interval per kind, the next says how many were skipped", () => {
  const lines: string[] = [];
  let now = 0;
  const log = new RefusalLog({ info() {}, warn: (l) => lines.push(l), error() {} }, () => now);
  for (let i = 0; i < 5; i++) log.warn("connections", "refused x");
  log.warn("frame", "refused y");
  now += REFUSAL_LOG_INTERVAL_MS;
  log.warn("connections", "refused z");
  expect(lines).toEqual(["refused x", "refused y", "refused z (and 4 more like it since the last such line)"]);
});
