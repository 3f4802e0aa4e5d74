// Checksummed metadata files (issue #7): one test per row of the reading table in
// checked-json.ts, and a property: every single-bit flip and every truncation of an encoded file
// is damaged, or reads back the very same value (seeded; replay with SEED=). And writeFileAtomic,
// which writes them, after a crash that cut a rename in the middle.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { SEED } from "./testing/seed.ts";
import { encodeCheckedJson, readCheckedJson } from "./checked-json.ts";
import { writeFileAtomic } from "./fs.ts";
import { MemoryFileLayer } from "./testing/memory-fs.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const VALUE = { version: 1, name: "orders", n: 3, configs: { "retention.ms": "1000" } };

test.each([
  ["1: empty", new Uint8Array(0), "empty file"],
  ["2: not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), "not JSON"],
  ["2: not JSON", utf8('{"version":1,'), "not JSON"],
  ["2: JSON, not an object", utf8("[1,2]"), "not a JSON object"],
  ["2: null", utf8("null"), "not a JSON object"],
  ["3: crc32c not hex", utf8('{"a":1,"crc32c":"xyz"}'), "crc32c field is not 8 hex digits"],
  ["3: crc32c a number", utf8('{"a":1,"crc32c":12}'), "crc32c field is not 8 hex digits"],
  ["4: mismatch", utf8('{"a":1,"crc32c":"00000000"}'), "checksum mismatch"],
] as Array<[string, Uint8Array, string]>)("row %s → damaged", (_row, bytes, reason) => {
  const read = readCheckedJson(bytes);
  expect(read.ok).toBe(false);
  if (!read.ok) expect(read.reason).toContain(reason);
});

test("row 5: a written file reads back checked, compact or indented", () => {
  for (const indent of [undefined, 2]) {
    const read = readCheckedJson(encodeCheckedJson({ ...VALUE }, indent));
    expect(read).toEqual({ ok: true, value: VALUE, checked: true });
  }
  expect(readCheckedJson(encodeCheckedJson({}))).toEqual({ ok: true, value: {}, checked: true });
  // The check is on values: re-indenting by hand keeps the file good.
  const pretty = readCheckedJson(utf8(JSON.stringify(JSON.parse(new TextDecoder().decode(encodeCheckedJson({ ...VALUE }))), null, 4)));
  expect(pretty.ok && pretty.checked).toBe(true);
});

test("row 6: a file without crc32c (written before checksums) reads unchecked", () => {
  expect(readCheckedJson(utf8(JSON.stringify(VALUE, null, 2)))).toEqual({ ok: true, value: VALUE, checked: false });
});

test("every bit flip and truncation of a written file is damaged or reads the same value", () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small" }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 })),
  })).value;
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1 }), json, { maxKeys: 5 }), fc.constantFrom(undefined, 2), fc.nat(), fc.nat(7), (value, indent, at, bit) => {
      if (Object.hasOwn(value, "crc32c")) return;
      const bytes = encodeCheckedJson(value, indent);
      const want = JSON.parse(JSON.stringify(value));
      const flipped = bytes.slice();
      flipped[at % bytes.length]! ^= 1 << bit;
      for (const damaged of [flipped, bytes.subarray(0, at % bytes.length)]) {
        const read = readCheckedJson(damaged);
        if (!read.ok) continue;
        // The checksum field itself hit: unchecked, and with a field the writer never wrote, which
        // callers refuse (they check for exactly their fields).
        if (!read.checked) expect(Object.keys(read.value).some((k) => !Object.hasOwn(value, k))).toBe(true);
        else expect(read.value).toEqual(want);
      }
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test("writeFileAtomic over a temp left as a second name of the file: a crash before its sync leaves the file as it was", async () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  let cutRenames = 0;
  for (let seed = 0; seed < 64; seed++) {
    let fs = new MemoryFileLayer();
    fs.mkdirp("/m");
    await fs.fsyncDir("/");
    await writeFileAtomic(fs, "/m/f", utf8("one"));
    // writeFileAtomic's steps, the power lost before the directory sync: the rename may be cut.
    const tmp = fs.open("/m/f.tmp", { create: true, truncate: true });
    fs.pwrite(tmp, utf8("two"), 0);
    await fs.fdatasync(tmp);
    fs.close(tmp);
    fs.rename("/m/f.tmp", "/m/f");
    fs = fs.crash(seed);
    if (fs.stat("/m/f.tmp") === null || fs.stat("/m/f") === null) continue;
    cutRenames++;
    const before = text(fs.readFile("/m/f"));
    // The next write, the power lost before its fdatasync.
    void writeFileAtomic(fs, "/m/f", utf8("three, longer")).catch(() => {});
    fs = fs.crash(seed + 1000);
    expect(text(fs.readFile("/m/f"))).toBe(before);
  }
  expect(cutRenames).toBeGreaterThan(0);
});
