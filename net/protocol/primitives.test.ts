// Reader and Writer primitives: every type round trips, exact wire bytes for the varint and
// length forms, failure is sticky and never throws, counts beyond the bytes left fail before
// any allocation, and the writer's chunk / patch / sized-region machinery.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readArray, readNullableArray } from "./codec.ts";
import { Reader, uuidFromString, uuidToString } from "./reader.ts";
import { RAW_CHUNK_MIN_BYTES, utf8Length, Writer } from "./writer.ts";

const SEED = process.env.SEED !== undefined ? { seed: Number(process.env.SEED) } : {};
const bytesOf = (f: (w: Writer) => void): number[] => {
  const w = new Writer(16);
  f(w);
  return [...w.finish()];
};

describe("round trips", () => {
  const cases: [string, fc.Arbitrary<unknown>, (w: Writer, v: never) => void, (r: Reader) => unknown][] = [
    ["int8", fc.integer({ min: -128, max: 127 }), (w, v) => w.int8(v), (r) => r.int8()],
    ["int16", fc.integer({ min: -32768, max: 32767 }), (w, v) => w.int16(v), (r) => r.int16()],
    ["uint16", fc.integer({ min: 0, max: 65535 }), (w, v) => w.uint16(v), (r) => r.uint16()],
    ["int32", fc.integer(), (w, v) => w.int32(v), (r) => r.int32()],
    ["uint32", fc.integer({ min: 0, max: 2 ** 32 - 1 }), (w, v) => w.uint32(v), (r) => r.uint32()],
    ["int64", fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (w, v) => w.int64(v), (r) => r.int64()],
    ["float64", fc.double({ noNaN: true }), (w, v) => w.float64(v), (r) => r.float64()],
    ["boolean", fc.boolean(), (w, v) => w.boolean(v), (r) => r.boolean()],
    ["uvarint", fc.integer({ min: 0, max: 2 ** 32 - 1 }), (w, v) => w.uvarint(v), (r) => r.uvarint()],
    ["varint", fc.integer(), (w, v) => w.varint(v), (r) => r.varint()],
    ["varlong", fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (w, v) => w.varlong(v), (r) => r.varlong()],
    ["uuid", fc.uint8Array({ minLength: 16, maxLength: 16 }), (w, v) => w.uuid(v), (r) => r.uuid()],
    ["string", fc.string({ unit: "grapheme", maxLength: 40 }), (w, v) => w.string(v), (r) => r.string()],
    ["nullable string", fc.option(fc.string({ unit: "grapheme", maxLength: 40 }), { nil: null }), (w, v) => w.nullableString(v), (r) => r.nullableString()],
    ["compact string", fc.string({ unit: "grapheme", maxLength: 200 }), (w, v) => w.compactString(v), (r) => r.compactString()],
    ["compact nullable string", fc.option(fc.string({ unit: "grapheme" }), { nil: null }), (w, v) => w.compactNullableString(v), (r) => r.compactNullableString()],
    ["bytes", fc.uint8Array({ maxLength: 64 }), (w, v) => w.bytesField(v), (r) => r.bytesField()],
    ["nullable bytes", fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }), (w, v) => w.nullableBytes(v), (r) => r.nullableBytes()],
    ["compact bytes", fc.uint8Array({ maxLength: 300 }), (w, v) => w.compactBytes(v), (r) => r.compactBytes()],
    ["compact nullable bytes", fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }), (w, v) => w.compactNullableBytes(v), (r) => r.compactNullableBytes()],
  ];
  test.each(cases)("%s", (_name, arb, write, read) => {
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 8 }), (values) => {
        const w = new Writer(8); // small: forces growth
        for (const v of values) write(w, v as never);
        const r = new Reader(w.finish());
        for (const v of values) expect(read(r)).toEqual(v);
        expect(r.error).toBeNull();
        expect(r.remaining).toBe(0);
      }),
      SEED,
    );
  });

  test("utf8Length agrees with TextEncoder, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
      SEED,
    );
  });

  test("uuid string form is Kafka's URL-safe base64", () => {
    const u = new Uint8Array(16).map((_, i) => i * 17);
    expect(uuidFromString(uuidToString(u))).toEqual(u);
    expect(uuidToString(new Uint8Array(16))).toBe("AAAAAAAAAAAAAAAAAAAAAA");
    expect(() => uuidFromString("nope")).toThrow(RangeError);
  });
});

describe("exact wire bytes", () => {
  test.each([
    ["uvarint 0", (w: Writer) => w.uvarint(0), [0x00]],
    ["uvarint 127", (w: Writer) => w.uvarint(127), [0x7f]],
    ["uvarint 128", (w: Writer) => w.uvarint(128), [0x80, 0x01]],
    ["uvarint 300", (w: Writer) => w.uvarint(300), [0xac, 0x02]],
    ["uvarint 2^32-1", (w: Writer) => w.uvarint(2 ** 32 - 1), [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ["varint -1 (zigzag 1)", (w: Writer) => w.varint(-1), [0x01]],
    ["varint 1 (zigzag 2)", (w: Writer) => w.varint(1), [0x02]],
    ["varint -64", (w: Writer) => w.varint(-64), [0x7f]],
    ["varint 64", (w: Writer) => w.varint(64), [0x80, 0x01]],
    ["varint min int32", (w: Writer) => w.varint(-(2 ** 31)), [0xff, 0xff, 0xff, 0xff, 0x0f]],
    ["varlong -1", (w: Writer) => w.varlong(-1n), [0x01]],
    ["varlong min int64", (w: Writer) => w.varlong(-(2n ** 63n)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ["string ab", (w: Writer) => w.string("ab"), [0x00, 0x02, 0x61, 0x62]],
    ["nullable string null", (w: Writer) => w.nullableString(null), [0xff, 0xff]],
    ["compact string ab", (w: Writer) => w.compactString("ab"), [0x03, 0x61, 0x62]],
    ["compact string é (2 UTF-8 bytes)", (w: Writer) => w.compactString("é"), [0x03, 0xc3, 0xa9]],
    ["compact nullable string null", (w: Writer) => w.compactNullableString(null), [0x00]],
    ["nullable bytes null", (w: Writer) => w.nullableBytes(null), [0xff, 0xff, 0xff, 0xff]],
    ["compact bytes [1]", (w: Writer) => w.compactBytes(new Uint8Array([1])), [0x02, 0x01]],
    ["int64 -2", (w: Writer) => w.int64(-2n), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]],
  ] as const)("%s", (_name, write, expected) => {
    expect(bytesOf(write)).toEqual([...expected]);
  });
});

describe("sticky failure, never a throw", () => {
  test("a read past the end sets the error, returns zero values, and later reads stay failed", () => {
    const r = new Reader(new Uint8Array([0x00, 0x01, 0x02]));
    expect(r.int32()).toBe(0);
    expect(r.error).toMatch(/int32/);
    const first = r.error;
    expect(r.int8()).toBe(0);
    expect(r.string()).toBe("");
    expect(r.int64()).toBe(0n);
    expect(r.error).toBe(first);
  });

  test("a string length beyond the bytes left fails without reading", () => {
    const r = new Reader(new Uint8Array([0x7f, 0xff, 0x61]));
    expect(r.string()).toBe("");
    expect(r.error).toMatch(/exceeds/);
  });

  test("null in a non-nullable string or bytes is an error", () => {
    expect(((r) => (r.string(), r.error))(new Reader(new Uint8Array([0xff, 0xff])))).toMatch(/null/);
    expect(((r) => (r.compactString(), r.error))(new Reader(new Uint8Array([0x00])))).toMatch(/null/);
    expect(((r) => (r.bytesField(), r.error))(new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff])))).toMatch(/null/);
  });

  test("an over-long varint is an error", () => {
    const r = new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(r.uvarint()).toBe(0);
    expect(r.error).toMatch(/varint/);
    const r2 = new Reader(new Uint8Array(11).fill(0xff));
    expect(r2.varlong()).toBe(0n);
    expect(r2.error).toMatch(/varlong/);
  });

  test.each([
    ["int32 count", [0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], false],
    ["compact count", [0xff, 0xff, 0xff, 0xff, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], true],
  ] as const)("an array %s of 2^31-1 with 10 bytes left fails before allocating or reading an element", (_n, bytes, compact) => {
    let elements = 0;
    const r = new Reader(new Uint8Array(bytes));
    const a = readArray(r, compact, 1, (r) => (elements++, r.int8()));
    expect(a).toEqual([]);
    expect(elements).toBe(0);
    expect(r.error).toMatch(/exceeds/);
    const r2 = new Reader(new Uint8Array(bytes));
    expect(readNullableArray(r2, compact, 1, (r) => (elements++, r.int8()))).toBeNull();
    expect(elements).toBe(0);
  });

  test("counts are checked against the element's minimum size", () => {
    // 3 elements of at least 4 bytes need 12 bytes; 10 are there.
    let elements = 0;
    const r = new Reader(new Uint8Array([0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    readArray(r, false, 4, (r) => (elements++, r.int32()));
    expect(elements).toBe(0);
    expect(r.error).toMatch(/exceeds/);
  });

  test("maxLength bounds a length even when the bytes are there", () => {
    const r = new Reader(new Uint8Array([0, 0, 0, 5, 1, 2, 3, 4, 5]));
    r.maxLength = 4;
    expect(r.bytesField().length).toBe(0);
    expect(r.error).toMatch(/maximum 4/);
  });

  test("bytes are views of the input, not copies", () => {
    const input = new Uint8Array([0, 0, 0, 2, 7, 8]);
    const b = new Reader(input).bytesField();
    expect(b.buffer).toBe(input.buffer);
    expect(b.byteOffset).toBe(4);
  });

  test("a reader over a window of a larger buffer stays inside the window", () => {
    const r = new Reader(new Uint8Array([9, 0, 0, 0, 1, 9]), 1, 5);
    expect(r.int32()).toBe(1);
    expect(r.int8()).toBe(0);
    expect(r.error).not.toBeNull();
  });

  test("random bytes through every primitive never throw", () => {
    const ops: ((r: Reader) => unknown)[] = [
      (r) => r.int8(), (r) => r.int16(), (r) => r.int32(), (r) => r.int64(), (r) => r.uint32(), (r) => r.float64(),
      (r) => r.uvarint(), (r) => r.varint(), (r) => r.varlong(), (r) => r.uuid(), (r) => r.boolean(),
      (r) => r.string(), (r) => r.nullableString(), (r) => r.compactString(), (r) => r.compactNullableString(),
      (r) => r.bytesField(), (r) => r.nullableBytes(), (r) => r.compactBytes(), (r) => r.compactNullableBytes(),
      (r) => r.arrayLength(), (r) => r.compactArrayLength(), (r) => r.tagCount(), (r) => r.sub(r.uvarint()),
    ];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(ops.length - 1), { maxLength: 30 }), (bytes, seq) => {
        const r = new Reader(bytes);
        for (const i of seq) ops[i]!(r);
        expect(r.pos).toBeLessThanOrEqual(r.end);
      }),
      SEED,
    );
  });
});

describe("writer", () => {
  test("raw chunks at or above RAW_CHUNK_MIN_BYTES are kept by reference, smaller ones copied", () => {
    const big = new Uint8Array(RAW_CHUNK_MIN_BYTES).fill(7);
    const small = new Uint8Array(RAW_CHUNK_MIN_BYTES - 1).fill(8);
    const w = new Writer();
    w.int8(1);
    w.rawChunk(big);
    w.rawChunk(small);
    w.int8(2);
    const chunks = w.finishChunks();
    expect(chunks.length).toBe(3);
    expect(chunks[1]).toBe(big);
    expect(chunks[0]).toEqual(new Uint8Array([1]));
    expect(chunks[2]!.length).toBe(small.length + 1);
    const all = w.finish();
    expect(all.length).toBe(1 + big.length + small.length + 1);
    expect(all[all.length - 1]).toBe(2);
  });

  test("patchInt32 reaches a slot written before raw chunks and buffer growth", () => {
    const w = new Writer(16);
    const mark = w.reserveInt32();
    w.int16(5);
    w.rawChunk(new Uint8Array(RAW_CHUNK_MIN_BYTES * 2));
    for (let i = 0; i < 100; i++) w.int64(BigInt(i)); // grows the buffer after the chunk
    const mark2 = w.reserveInt32();
    w.rawChunk(new Uint8Array(RAW_CHUNK_MIN_BYTES));
    w.patchInt32(mark, w.length - 4);
    w.patchInt32(mark2, 0x01020304);
    const all = w.finish();
    const dv = new DataView(all.buffer);
    expect(dv.getInt32(0)).toBe(all.length - 4);
    expect(dv.getInt32(mark2)).toBe(0x01020304);
    expect(w.finishChunks().reduce((n, c) => n + c.length, 0)).toBe(all.length);
  });

  test("endSized inserts a varint length in front of a region, across growth", () => {
    const w = new Writer(16);
    w.int8(9);
    const s = w.beginSized();
    for (let i = 0; i < 200; i++) w.int8(i & 0x7f);
    w.endSized(s);
    const b = w.finish();
    expect([...b.subarray(0, 3)]).toEqual([9, 0xc8, 0x01]); // 200 = 0xc8 0x01
    expect(b.length).toBe(1 + 2 + 200);
    expect(b[3]).toBe(0);
    expect(b[202]).toBe(199 & 0x7f);
  });

  test("endSized when the region ends at the buffer's end (regression: growth while writing the length)", () => {
    const w = new Writer(16);
    for (let i = 0; i < 13; i++) w.int8(i);
    const s = w.beginSized();
    w.int16(0x366f); // the buffer is now 15 of 16 bytes full
    w.endSized(s);
    expect([...w.finish().subarray(13)]).toEqual([0x02, 0x36, 0x6f]);
  });

  test("reset after finishChunks never overwrites bytes handed out", () => {
    const w = new Writer(64);
    w.int32(0x11111111);
    const out = w.finishChunks();
    w.reset();
    w.int32(0x22222222);
    expect([...out[0]!]).toEqual([0x11, 0x11, 0x11, 0x11]);
  });

  test("encoding misuse throws RangeError", () => {
    expect(() => new Writer().uuid(new Uint8Array(15))).toThrow(RangeError);
    expect(() => new Writer().string("x".repeat(40000))).toThrow(RangeError);
    expect(() => new Writer().uvarint(-1)).toThrow(RangeError);
  });
});
