// FrameSplitter: frames cut anywhere by TCP come back whole and in order; bad lengths are
// refused from the 4 length bytes alone; a big frame is gathered without quadratic copying.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { beginFrame, endFrame, FRAME_BYTES_MAX_DEFAULT, FrameSplitter } from "./framing.ts";
import { Writer } from "./writer.ts";

const SEED = process.env.SEED !== undefined ? { seed: Number(process.env.SEED) } : {};

function frame(body: Uint8Array): Uint8Array {
  const f = new Uint8Array(4 + body.length);
  new DataView(f.buffer).setInt32(0, body.length);
  f.set(body, 4);
  return f;
}
const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe("FrameSplitter", () => {
  test("any cutting of a stream of frames yields the same frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(400), { maxLength: 10 }),
        (bodies, cuts) => {
          const frames = bodies.map(frame);
          const stream = concat(frames);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const s = new FrameSplitter();
          const got: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, stream.length]) {
            got.push(...s.push(stream.slice(prev, p)));
            prev = p;
          }
          expect(s.error).toBeNull();
          expect(got).toEqual(frames);
          expect(s.buffered).toBe(0);
        },
      ),
      SEED,
    );
  });

  test("byte by byte", () => {
    const frames = [frame(new Uint8Array([1, 2, 3])), frame(new Uint8Array(0)), frame(new Uint8Array([4]))];
    const stream = concat(frames);
    const s = new FrameSplitter();
    const got: Uint8Array[] = [];
    for (const b of stream) got.push(...s.push(new Uint8Array([b])));
    expect(got).toEqual(frames);
  });

  test("frames merged in one chunk come back as views of it (no copy)", () => {
    const stream = concat([frame(new Uint8Array([1])), frame(new Uint8Array([2, 2]))]);
    const got = new FrameSplitter().push(stream);
    expect(got.length).toBe(2);
    expect(got[1]!.buffer).toBe(stream.buffer);
    expect(got[1]!.byteOffset).toBe(5);
  });

  test.each([
    ["negative", -1, 100],
    ["above the maximum", 101, 100],
    ["2^31-1", 0x7fffffff, FRAME_BYTES_MAX_DEFAULT],
  ])("a %s length is an error from the length bytes alone", (_name, n, max) => {
    const s = new FrameSplitter(max);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setInt32(0, n);
    expect(s.push(head.subarray(0, 2))).toEqual([]);
    expect(s.error).toBeNull();
    expect(s.push(head.subarray(2))).toEqual([]);
    expect(s.error).toMatch(/frame length/);
    expect(s.buffered).toBe(0); // nothing gathered for it
    expect(s.push(frame(new Uint8Array([1])))).toEqual([]); // stays failed
  });

  test("a length exactly at the maximum is accepted", () => {
    const s = new FrameSplitter(3);
    expect(s.push(frame(new Uint8Array([1, 2, 3])))).toEqual([frame(new Uint8Array([1, 2, 3]))]);
  });

  test("a declared big frame holds only about what arrived", () => {
    const s = new FrameSplitter();
    const head = new Uint8Array(8);
    new DataView(head.buffer).setInt32(0, 50 * 1024 * 1024);
    s.push(head);
    expect(s.buffered).toBe(8);
    expect(s.error).toBeNull();
  });

  test("with wholeBytes, a frame up to it is gathered into one buffer of its declared size; a bigger one still grows with what arrived", () => {
    const s = new FrameSplitter(FRAME_BYTES_MAX_DEFAULT, { wholeBytes: 1024 * 1024 });
    const body = new Uint8Array(1024 * 1024 - 4).map((_, i) => (i * 7) & 0xff);
    const f = frame(body);
    const got: Uint8Array[] = [];
    for (let at = 0; at < f.length; at += 100_000) got.push(...s.push(f.subarray(at, at + 100_000)));
    expect(got).toEqual([f]);
    expect(got[0]!.buffer.byteLength).toBe(f.length); // the one buffer, exactly the frame
    const head = new Uint8Array(8);
    new DataView(head.buffer).setInt32(0, 50 * 1024 * 1024);
    s.push(head);
    expect(s.buffered).toBe(8);
    expect((s as unknown as { gather: Uint8Array }).gather.length).toBeLessThanOrEqual(64 * 1024);
  });

  test("with lendMinBytes, a big frame goes into a spare that fits, else grows with what arrived and takes only its last buffer from lend", () => {
    const calls: string[] = [];
    let spare: Uint8Array | null = new Uint8Array(2 * 1024 * 1024);
    const s = new FrameSplitter(FRAME_BYTES_MAX_DEFAULT, {
      lendMinBytes: 256 * 1024,
      spare: (n) => {
        calls.push(`spare ${n}`);
        const v = spare?.subarray(0, n) ?? null;
        spare = null;
        return v;
      },
      lend: (n) => {
        calls.push(`lend ${n}`);
        return new Uint8Array(n);
      },
    });
    const gathered = (body: Uint8Array) => {
      const f = frame(body);
      const got: Uint8Array[] = [];
      for (let at = 0; at < f.length; at += 100_000) got.push(...s.push(f.subarray(at, at + 100_000)));
      expect(got).toEqual([f]);
      return got[0]!;
    };
    const body = new Uint8Array(1_000_000).map((_, i) => (i * 13) & 0xff);
    const first = gathered(body);
    expect(first.buffer.byteLength).toBe(2 * 1024 * 1024); // the spare, no copy while gathering
    const second = gathered(body.map((b) => b ^ 0xff)); // no spare left: grown, last step lent
    expect(second.buffer.byteLength).toBe(1_000_004);
    expect(calls).toEqual(["spare 1000004", "spare 1000004", "lend 1000004"]);
    // Small frames never ask; a declared 50 MiB with 8 bytes sent gets no lent buffer yet.
    gathered(new Uint8Array(100_000));
    const head = new Uint8Array(8);
    new DataView(head.buffer).setInt32(0, 50 * 1024 * 1024);
    s.push(head);
    expect(calls.slice(3)).toEqual([`spare ${50 * 1024 * 1024 + 4}`]);
    expect((s as unknown as { gather: Uint8Array }).gather.length).toBeLessThanOrEqual(64 * 1024);
  });

  test("a big frame in many small chunks is gathered whole", () => {
    const body = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
    const f = frame(body);
    const s = new FrameSplitter();
    const got: Uint8Array[] = [];
    for (let at = 0; at < f.length; at += 1000) got.push(...s.push(f.subarray(at, at + 1000)));
    expect(got.length).toBe(1);
    expect(got[0]!.length).toBe(f.length);
    expect(got[0]).toEqual(f);
  });

  test("admission: a refused frame and everything after it wait, whole, until resume admits it (issue #18)", () => {
    const frames = [frame(new Uint8Array(10).fill(1)), frame(new Uint8Array(3000).fill(2)), frame(new Uint8Array(20).fill(3))];
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) (stream.set(f, at), (at += f.length));
    // Every cut of the stream into two chunks, the 3,004-byte frame refused at first.
    for (const cut of [1, 3, 14, 15, 16, 17, 100, 3020, stream.length - 2]) {
      const offered: number[] = [];
      let open = false;
      const s = new FrameSplitter(undefined, { admit: (n) => (offered.push(n), n < 1000 || open) });
      const got: Uint8Array[] = [];
      s.push(stream.subarray(0, cut), got);
      s.push(stream.subarray(cut), got);
      expect({ cut, got: got.length, waiting: s.waiting }).toEqual({ cut, got: 1, waiting: true });
      expect(s.resume(got)).toBe(got); // still refused: nothing more
      expect(s.waiting).toBe(true);
      open = true;
      s.resume(got);
      expect(s.waiting).toBe(false);
      expect(got).toEqual(frames);
      expect(offered).toEqual([14, 3004, 3004, 3004, 24]);
    }
  });

  test("beginFrame/endFrame write the length of what follows", () => {
    const w = new Writer();
    w.int8(0x55); // something already in the writer before the frame
    const mark = beginFrame(w);
    w.int32(7);
    w.int16(1);
    endFrame(w, mark);
    expect([...w.finish()]).toEqual([0x55, 0, 0, 0, 6, 0, 0, 0, 7, 0, 1]);
  });
});
