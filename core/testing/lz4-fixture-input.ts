// The input behind testdata/batches/lz4-frames/*.lz4 (frames written by the lz4 CLI): 70,000
// bytes of words from a small vocabulary, so it compresses and repeats across 64 KiB blocks
// (which is what makes linked blocks reach into the previous block). Deterministic, so the test
// regenerates it instead of storing it. Imported by tests only.
const WORDS = ["kafka", "batch", "record", "offset"];

export function lz4FixtureInput(): Uint8Array {
  const out = new Uint8Array(70_000);
  let x = 12345;
  let pos = 0;
  while (pos < out.length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const w = WORDS[(x >>> 16) % WORDS.length]!;
    for (let i = 0; i < w.length && pos < out.length; i++) out[pos++] = w.charCodeAt(i);
    if (pos < out.length) out[pos++] = x & 0x100 ? 0x20 : 0x0a;
  }
  return out;
}
