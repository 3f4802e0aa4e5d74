// Fuzzing every decoder with seeded random bytes and with mutated valid frames. Invariants:
//   - decoding never throws (failure is `r.error`), and the cursor stays inside the input;
//   - allocation is bounded by the input: no more array elements decoded than input bytes;
//   - whatever decodes without error re-encodes without an untyped exception (a RangeError for a
//     value the wire cannot carry back is allowed, e.g. garbage UTF-8 growing past 32767 bytes);
//   - a valid encoding with bytes appended still decodes to the same message (prefix property).
// Prints fast-check's seed on failure; replay with SEED=<seed>.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ApiDescriptor } from "./api.ts";
import * as messages from "./messages/index.ts";
import { decodeRequestHeader, decodeResponseHeader } from "./header.ts";
import { apis } from "./messages/index.ts";
import { Reader } from "./reader.ts";
import type { MessageSchema } from "./schema.ts";
import { rng, Sampler } from "../testing/message-samples.ts";
import { Writer } from "./writer.ts";

const SEED = process.env.SEED !== undefined ? { seed: Number(process.env.SEED) } : {};
const mod = messages as unknown as Record<string, unknown>;

type Side = { name: string; decode: (r: Reader, v: number) => unknown; encode: (w: Writer, v: number, m: never) => void };
const sides = (api: ApiDescriptor<unknown, unknown>): Side[] => [
  { name: `${api.name}Request`, decode: api.decodeRequest, encode: api.encodeRequest },
  { name: `${api.name}Response`, decode: api.decodeResponse, encode: api.encodeResponse },
];

function arrayElements(x: unknown): number {
  if (Array.isArray(x)) return x.length + x.reduce((n: number, e) => n + arrayElements(e), 0);
  if (x !== null && typeof x === "object" && !(x instanceof Uint8Array)) {
    let n = 0;
    for (const v of Object.values(x)) n += arrayElements(v);
    return n;
  }
  return 0;
}

function checkDecode(side: Side, v: number, bytes: Uint8Array): void {
  const r = new Reader(bytes);
  const m = side.decode(r, v); // a throw here fails the property
  expect(r.pos).toBeLessThanOrEqual(bytes.length);
  expect(arrayElements(m)).toBeLessThanOrEqual(bytes.length);
  if (r.error !== null) return;
  try {
    side.encode(new Writer(), v, m as never);
  } catch (e) {
    expect(e).toBeInstanceOf(RangeError);
  }
}

type Mutation = { at: number; kind: number; value: number };
function mutate(valid: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = valid.slice();
  for (const { at, kind, value } of muts) {
    const i = b.length === 0 ? 0 : at % b.length;
    switch (kind) {
      case 0: b[i] = value & 0xff; break; // overwrite a byte
      case 1: b = b.slice(0, i); break; // truncate
      case 2: { // a count or length at its worst
        const worst = [0x7fffffff, -1, -2, 0x80000000 | 0, 0x0fffffff][value % 5]!;
        if (i + 4 <= b.length) new DataView(b.buffer).setInt32(i, worst);
        break;
      }
      case 3: b[i] = 0xff; break; // a huge varint byte
      default: { // insert a byte
        const c = new Uint8Array(b.length + 1);
        c.set(b.subarray(0, i));
        c[i] = value & 0xff;
        c.set(b.subarray(i), i + 1);
        b = c;
      }
    }
  }
  return b;
}

const mutationArb = fc.array(fc.record({ at: fc.nat(), kind: fc.nat(4), value: fc.nat(255) }), { minLength: 1, maxLength: 4 });

describe("fuzz every decoder", () => {
  test.each(apis.map((a) => [a.name, a] as const))("%s: random bytes", (_name, api) => {
    for (const side of sides(api)) {
      fc.assert(
        fc.property(fc.integer({ min: api.minVersion, max: api.maxVersion }), fc.uint8Array({ maxLength: 200 }), (v, bytes) => checkDecode(side, v, bytes)),
        { numRuns: 150, ...SEED },
      );
    }
  });

  test.each(apis.map((a) => [a.name, a] as const))("%s: mutated valid messages, and valid prefixes", (_name, api) => {
    for (const side of sides(api)) {
      const schema = mod[`${side.name}Schema`] as MessageSchema;
      fc.assert(
        fc.property(fc.integer({ min: api.minVersion, max: api.maxVersion }), fc.integer(), mutationArb, fc.uint8Array({ minLength: 1, maxLength: 8 }), (v, seed, muts, tail) => {
          const m = new Sampler(mod, schema, rng(seed), { populated: false }).message(v);
          const w = new Writer();
          side.encode(w, v, m as never);
          const valid = w.finish();
          checkDecode(side, v, mutate(valid, muts));
          // The valid message followed by junk decodes the same, leaving the junk unread.
          const withTail = new Uint8Array(valid.length + tail.length);
          withTail.set(valid);
          withTail.set(tail, valid.length);
          const r = new Reader(withTail);
          expect(side.decode(r, v)).toEqual(m as never);
          expect(r.error).toBeNull();
          expect(r.remaining).toBe(tail.length);
        }),
        { numRuns: 150, ...SEED },
      );
    }
  });

  test("request and response headers: random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 20 }), (bytes, key, version) => {
        const r = new Reader(bytes);
        const h = decodeRequestHeader(r);
        if (r.error === null) expect(h.headerVersion).toBeGreaterThanOrEqual(0);
        decodeResponseHeader(new Reader(bytes), key, version);
      }),
      { numRuns: 500, ...SEED },
    );
  });

  test("a version below or above the schema's range does not throw either", () => {
    for (const api of apis) {
      for (const side of sides(api)) {
        for (const v of [-1, api.maxVersion + 1, 0x7fff]) checkDecode(side, v, new Uint8Array([0, 0, 0, 1, 0, 2, 0x7f, 0xff, 0xff, 0xff]));
      }
    }
  });
});
