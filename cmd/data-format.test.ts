// --format templates and the --json envelope (and reading it back for produce --json).
import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { BatchBuilder } from "../net/client/batch-builder.ts";
import { walkBatch, type RecordView } from "../net/client/record-walker.ts";
import { Codec } from "../core/batch/header.ts";
import { jsonLine, parseEnvelope, Template, unescape } from "./data-format.ts";
import { OutputSink } from "./data-output.ts";

const utf8 = new TextEncoder();

/** Renders one record (built through a real batch) with `fn`, returning what was written. */
function render(
  rec: { key: Uint8Array | null; value: Uint8Array | null; headers?: { key: string; value: Uint8Array | null }[]; timestamp?: number },
  fn: (sink: OutputSink, r: RecordView) => void,
): Buffer {
  const b = new BatchBuilder(64);
  b.append(rec.key, rec.value, rec.headers ?? null, rec.timestamp ?? 1_700_000_000_123);
  const chunks: Buffer[] = [];
  const out = new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
  const sink = new OutputSink(out);
  walkBatch(b.seal(Codec.None), 41, 0, (r) => fn(sink, r));
  sink.flush();
  return Buffer.concat(chunks);
}

const rec = { key: utf8.encode("k1"), value: utf8.encode("hello"), headers: [{ key: "a", value: utf8.encode("1") }, { key: "b", value: null }] };

test.each([
  ["%s\\n", "hello\n"],
  ["%t/%p/%o %k=%s @%T\\n", "orders/3/41 k1=hello @1700000000123\n"],
  ["%h|%K|%S", "a=1,b=|2|5"],
  ["100%% %s\\t.", "100% hello\t."],
])("template %p", (template, want) => {
  expect(render(rec, (sink, r) => Template.compile(template).render(sink, "orders", 3, r)).toString()).toBe(want);
});

test("null key and value print as nothing; lengths as -1", () => {
  expect(render({ key: null, value: null }, (sink, r) => Template.compile("[%k][%s]%K,%S").render(sink, "t", 0, r)).toString()).toBe("[][]-1,-1");
});

test("binary values pass through a template unchanged", () => {
  const value = new Uint8Array([0, 255, 10, 128, 1]);
  expect([...render({ key: null, value }, (sink, r) => Template.compile("%s").render(sink, "t", 0, r))]).toEqual([...value]);
});

test("bad templates and escapes are usage errors", () => {
  expect(() => Template.compile("%x")).toThrow(/unknown field "%x"/);
  expect(() => Template.compile("%")).toThrow(/unknown field/);
  expect(() => unescape("--delimiter", "\\q")).toThrow(/unknown escape/);
  expect(unescape("--delimiter", "\\x1e\\0\\\\")).toBe("\x1e\0\\");
  expect(Template.compile("%s\\n").isValueLine).toBe(true);
  expect(Template.compile("%s").isValueLine).toBe(false);
});

test("the JSON envelope, and reading it back", () => {
  const line = render(rec, (sink, r) => sink.text(jsonLine("orders", 3, r))).toString();
  expect(line).toBe(
    `{"topic":"orders","partition":3,"offset":41,"timestamp":1700000000123,"key":"k1","value":"hello","headers":[{"key":"a","value":"1"},{"key":"b","value":null}]}\n`,
  );
  expect(parseEnvelope(line)).toEqual({ partition: 3, timestamp: 1700000000123, key: utf8.encode("k1"), value: utf8.encode("hello"), headers: rec.headers });
});

test("non-UTF-8 bytes go out as base64 with a marker and come back identical; a BOM is kept", () => {
  const bin = new Uint8Array([0xff, 0xfe, 0x00, 0x80]);
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]);
  const line = render({ key: bin, value: bom, headers: [{ key: "h", value: bin }] }, (sink, r) => sink.text(jsonLine("t", 0, r))).toString();
  const o = JSON.parse(line);
  expect(o.keyEncoding).toBe("base64");
  expect(o.valueEncoding).toBeUndefined();
  expect(o.headers[0].valueEncoding).toBe("base64");
  const back = parseEnvelope(line);
  expect(back.key).toEqual(bin);
  expect(back.value).toEqual(bom);
  expect(back.headers[0]!.value).toEqual(bin);
});

test("envelope errors say what is wrong", () => {
  expect(() => parseEnvelope("nope")).toThrow(/not JSON/);
  expect(() => parseEnvelope("[1]")).toThrow(/expected a JSON object/);
  expect(() => parseEnvelope(`{"partition":"x"}`)).toThrow(/"partition" must be an integer/);
  expect(() => parseEnvelope(`{"value":"x","valueEncoding":"hex"}`)).toThrow(/unknown encoding/);
  expect(parseEnvelope(`{"value":"v"}`)).toEqual({ partition: null, timestamp: null, key: null, value: utf8.encode("v"), headers: [] });
});
