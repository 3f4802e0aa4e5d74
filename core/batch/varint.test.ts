import { describe, expect, test } from "bun:test";
import fc from "fast-check";
// kafkajs's protocol Encoder/Decoder: an independent zigzag implementation (on Long), as oracle.
// @ts-expect-error kafkajs internals have no types
import KafkaEncoder from "kafkajs/src/protocol/encoder.js";
// @ts-expect-error kafkajs internals have no types
import KafkaDecoder from "kafkajs/src/protocol/decoder.js";
import { ByteReader } from "./byte-reader.ts";
import { SEED } from "../testing/seed.ts";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "./varint.ts";

const RUNS = 2000;

function encVarint(n: number): number[] {
  const buf = new Uint8Array(5);
  const end = writeVarint(buf, 0, n);
  expect(end).toBe(sizeOfVarint(n));
  return Array.from(buf.subarray(0, end));
}

function encVarlong(n: number): number[] {
  const buf = new Uint8Array(10);
  const end = writeVarlong(buf, 0, n);
  expect(end).toBe(sizeOfVarlong(n));
  return Array.from(buf.subarray(0, end));
}

function kafkajsVarlong(n: number): number[] {
  return Array.from(new KafkaEncoder().writeVarLong(n).buffer as Uint8Array);
}

describe("zigzag varint (int32)", () => {
  test.each([
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [-2, [0x03]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])("%p", (n, bytes) => {
    expect(encVarint(n)).toEqual(bytes);
    const r = new ByteReader(Uint8Array.from(bytes), 0, bytes.length);
    expect(r.varint()).toBe(n);
    expect(r.failed).toBe(false);
  });

  test("round trips and matches kafkajs for every int32", () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (n) => {
        const bytes = encVarint(n);
        expect(bytes).toEqual(Array.from(new KafkaEncoder().writeVarInt(n).buffer as Uint8Array));
        const r = new ByteReader(Uint8Array.from(bytes), 0, bytes.length);
        expect(r.varint()).toBe(n);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test("more than 5 bytes or running out sets the failure flag, never throws", () => {
    const long = new ByteReader(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 0, 6);
    expect(long.varint()).toBe(0);
    expect(long.failed).toBe(true);
    const cut = new ByteReader(Uint8Array.from([0x80, 0x80]), 0, 2);
    cut.varint();
    expect(cut.failed).toBe(true);
  });
});

describe("zigzag varlong (int64) without BigInt", () => {
  test.each([
    [0, [0x00]],
    [-1, [0x01]],
    [1700000000000, kafkajsVarlong(1700000000000)],
    [-1700000000000, kafkajsVarlong(-1700000000000)],
    [2 ** 52, kafkajsVarlong(2 ** 52)],
    [-(2 ** 52), kafkajsVarlong(-(2 ** 52))],
    [Number.MAX_SAFE_INTEGER, kafkajsVarlong(Number.MAX_SAFE_INTEGER)],
    [Number.MIN_SAFE_INTEGER, kafkajsVarlong(Number.MIN_SAFE_INTEGER)],
  ])("%p", (n, bytes) => {
    expect(encVarlong(n)).toEqual(bytes);
    const r = new ByteReader(Uint8Array.from(bytes), 0, bytes.length);
    expect(r.varlong()).toBe(n);
    expect(r.failed).toBe(false);
  });

  test("int64 extremes (BigInt path) decode to the nearest double", () => {
    // Long.MAX_VALUE zigzags to 2^64 - 2: ten bytes.
    const max = new KafkaEncoder().writeVarLong("9223372036854775807").buffer as Uint8Array;
    expect(max.length).toBe(10);
    expect(new ByteReader(max, 0, max.length).varlong()).toBe(9223372036854775807);
    const min = new KafkaEncoder().writeVarLong("-9223372036854775808").buffer as Uint8Array;
    expect(new ByteReader(min, 0, min.length).varlong()).toBe(-9223372036854775808);
  });

  test("round trips and matches kafkajs for safe integers", () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.integer({ min: -(2 ** 45), max: 2 ** 45 })), (n) => {
        const bytes = encVarlong(n);
        expect(bytes).toEqual(kafkajsVarlong(n));
        const r = new ByteReader(Uint8Array.from(bytes), 0, bytes.length);
        expect(r.varlong()).toBe(n);
        // kafkajs reads ours back.
        expect(new KafkaDecoder(Buffer.from(bytes)).readVarLong().toString()).toBe(String(n));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
