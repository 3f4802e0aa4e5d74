// Test support: builds messages from the generated schema tables (net/protocol/messages/*Schema)
// so that every API and version can be round-tripped without hand-written fixtures. Not used at
// runtime: production code never imports it (test/no-testing-imports.test.ts checks).
//
// `populated` mode gives every field present in the version a value different from its default
// (tagged fields included, plus unknown tagged fields in flexible versions); random mode mixes in
// nulls, empty arrays and defaults. Absent fields keep the default from the generated
// `default<Struct>()` constructor, which is what a decoder produces for them.
import type { FieldSchema, MessageSchema } from "../protocol/schema.ts";

/** A small seeded PRNG (mulberry32, core/testing/seed.ts's prng): the same seed gives the same message. */
export { prng as rng } from "../../core/testing/seed.ts";

const inRange = (v: number, r: readonly [number, number] | undefined): boolean => r !== undefined && v >= r[0] && v <= r[1];

/** Exports of a generated messages module: `default<Struct>` constructors are looked up by name. */
export type MessagesModule = Record<string, unknown>;

export interface SampleOptions {
  populated: boolean;
  /** Byte length above which `bytes`/`records` values may be generated, to exercise raw chunks. */
  largeBytes?: number;
}

const STRINGS = ["a", "topic-1", "émoji-😀", "ünïcode", "x".repeat(40), "kafka.streamctl_9"];

export class Sampler {
  constructor(
    private readonly mod: MessagesModule,
    private readonly schema: MessageSchema,
    private readonly next: () => number,
    private readonly opts: SampleOptions,
  ) {}

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  private chance(p: number): boolean {
    return !this.opts.populated && this.next() < p;
  }
  private bytes(): Uint8Array {
    const big = this.opts.largeBytes !== undefined && this.next() < 0.1;
    const n = big ? this.opts.largeBytes! + this.int(0, 100) : this.int(1, 24);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }

  message(version: number): Record<string, unknown> {
    return this.struct(this.schema.name, version);
  }

  struct(name: string, v: number): Record<string, unknown> {
    const make = this.mod[`default${name}`];
    if (typeof make !== "function") throw new Error(`no default${name} in the messages module`);
    const m = make() as Record<string, unknown>;
    const flexible = inRange(v, this.schema.flexibleVersions ?? undefined);
    for (const f of this.schema.structs[name] ?? []) {
      if (!inRange(v, f.versions)) continue;
      if (f.tag !== undefined && !flexible) continue;
      if (f.tag !== undefined && this.chance(0.3)) continue; // leave the tagged default
      m[f.name] = this.field(f, v, m[f.name]);
    }
    if (flexible && (this.opts.populated || this.next() < 0.3)) {
      const n = this.opts.populated ? 2 : this.int(1, 3);
      const tags: { tag: number; data: Uint8Array }[] = [];
      let tag = 1000;
      for (let i = 0; i < n; i++) {
        tag += this.int(1, 50);
        tags.push({ tag, data: this.bytes().subarray(0, this.int(0, 8)) });
      }
      m.unknownTaggedFields = tags;
    }
    return m;
  }

  private field(f: FieldSchema, v: number, dflt: unknown): unknown {
    const nullable = inRange(v, f.nullable);
    if (nullable && this.chance(0.2)) return null;
    if (f.type.startsWith("[]")) {
      const n = this.opts.populated ? this.int(1, 3) : this.int(0, 3);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(this.value(f.type.slice(2), v, undefined, f));
      return out;
    }
    return this.value(f.type, v, dflt, f);
  }

  /** A value of `type` different from `dflt` when populated. */
  private value(type: string, v: number, dflt: unknown, f: FieldSchema): unknown {
    for (let attempt = 0; attempt < 20; attempt++) {
      const x = this.raw(type, v, f);
      if (dflt === undefined || !this.opts.populated || !same(x, dflt)) return x;
    }
    throw new Error(`could not make a non-default ${type} for ${f.name}`);
  }

  private raw(type: string, v: number, f: FieldSchema): unknown {
    switch (type) {
      case "int8": return this.int(-128, 127);
      case "int16": return this.int(-32768, 32767);
      case "uint16": return this.int(0, 65535);
      case "int32": return this.int(-(2 ** 31), 2 ** 31 - 1);
      case "uint32": return this.int(0, 2 ** 32 - 1);
      case "int64": return BigInt.asIntN(64, (BigInt(this.int(0, 2 ** 32 - 1)) << 32n) | BigInt(this.int(0, 2 ** 32 - 1)));
      case "float64": return (this.next() - 0.5) * 1e6 || 1.5;
      case "bool": return this.next() < 0.5;
      case "uuid": {
        const u = new Uint8Array(16);
        for (let i = 0; i < 16; i++) u[i] = this.int(0, 255);
        u[0] = u[0]! | 1;
        return u;
      }
      case "string": return STRINGS[this.int(0, STRINGS.length - 1)]! + (this.opts.populated ? "" : String(this.int(0, 99)));
      case "bytes":
      case "records": return this.bytes();
      default: {
        if (!this.schema.structs[type]) throw new Error(`${f.name}: unknown type ${type}`);
        return this.struct(type, v);
      }
    }
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (typeof a === "object" && a !== null) return false;
  return a === b;
}
