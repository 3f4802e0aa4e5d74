// The reading commands' helpers: copyRecord (tail keeps records past the consumer's next poll),
// the filters, and copy's --where conditions.
import { expect, test } from "bun:test";
import { BatchBuilder } from "../net/client/batch-builder.ts";
import type { TopicRecordView } from "../net/client/consumer.ts";
import { readHeaders, walkBatch, type RecordView } from "../net/client/record-walker.ts";
import { Codec } from "../core/batch/header.ts";
import { whereCondition } from "./copy.ts";
import { copyRecord, recordFilter } from "./data-read.ts";
import { jsonLine } from "./data-format.ts";

const utf8 = new TextEncoder();
const b = (s: string | null) => (s === null ? null : utf8.encode(s));

/** Views of records built into one real batch, copied out (the walker reuses its view). */
function records(list: { key: string | null; value: string | null; headers: { key: string; value: string | null }[] }[]): TopicRecordView[] {
  const builder = new BatchBuilder(4096);
  for (const r of list) builder.append(b(r.key), b(r.value), r.headers.length > 0 ? r.headers.map((h) => ({ key: h.key, value: b(h.value) })) : null, 1_700_000_000_000);
  const batch = builder.seal(Codec.None);
  const out: TopicRecordView[] = [];
  const view = { offset: 0, timestamp: 0, buf: new Uint8Array(0), keyStart: -1, keyEnd: -1, valueStart: -1, valueEnd: -1, headerCount: 0, headersStart: 0 };
  walkBatch(batch, 40, 0, (r: RecordView) => void out.push({ ...r, topic: "t", partition: 2 }), view);
  return out;
}

const sample = records([
  { key: "k1", value: "hello", headers: [{ key: "h", value: "1" }, { key: "h", value: null }, { key: "ünï", value: "✓" }] },
  { key: null, value: null, headers: [] },
  { key: "", value: "x".repeat(300), headers: [{ key: "long", value: "y".repeat(200) }] },
]);

test("copyRecord: a view of its own that prints exactly as the original", () => {
  for (const r of sample) {
    const c = copyRecord(r);
    expect(jsonLine(c.topic, c.partition, c)).toBe(jsonLine(r.topic, r.partition, r));
    expect(readHeaders(c)).toEqual(readHeaders(r));
    expect(c.buf.buffer).not.toBe(r.buf.buffer);
  }
});

test("filters: --grep with -i, --key, --header", () => {
  const pick = (flags: Parameters<typeof recordFilter>[0]) => sample.filter(recordFilter(flags)!).map((r) => r.offset);
  expect(pick({ grep: "HELLO" })).toEqual([]);
  expect(pick({ grep: "HELLO", ignoreCase: true })).toEqual([40]);
  expect(pick({ key: "" })).toEqual([42]);
  expect(pick({ header: ["h=1"] })).toEqual([40]);
  expect(recordFilter({})).toBeNull();
  expect(() => recordFilter({ ignoreCase: true })).toThrow(/--ignore-case/);
});

test.each([
  ["key=k1", [40]],
  ["key!=k1", [41, 42]],
  ["value~^x+$", [42]],
  ["value!~^x", [40, 41]],
  ["header:h=1", [40]],
  ["header:ünï~✓", [40]],
  ["header:long~^y{200}$", [42]],
  ["partition=2", [40, 41, 42]],
  ["partition!=2", []],
])("--where %s", (cond, want) => {
  expect(sample.filter(whereCondition(cond, false)).map((r) => r.offset)).toEqual(want);
});

test("--where: -i, and conditions that cannot be read", () => {
  expect(sample.filter(whereCondition("value~HELLO", true)).map((r) => r.offset)).toEqual([40]);
  for (const bad of ["k=1", "key", "partition~1", "partition=x", "value~("]) expect(() => whereCondition(bad, false)).toThrow(/--where/);
});
