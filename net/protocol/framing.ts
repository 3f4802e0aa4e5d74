// Kafka framing over TCP: every request and response is an int32 big-endian length N followed by
// N bytes. FrameSplitter turns a byte stream, cut anywhere by TCP, back into whole frames.
//
// Bounds: a declared length below 0 or above `maxBytes` (default 100 MiB, Kafka's
// socket.request.max.bytes) is an error found from the 4 length bytes alone, before anything is
// allocated. A frame that arrives in pieces is gathered in a buffer that grows by doubling with
// the bytes actually received (never straight to the declared size, so a client that declares
// 100 MiB and sends 4 bytes costs 64 KiB), so a big frame costs O(size) copying, not O(size²).
// A client, whose peer is the broker it chose and answers only what it asked for, may instead
// take frames up to `wholeBytes` in one buffer of the declared size from `take` (its own pool of
// recycled buffers, net/client/connection.ts): no copies while gathering, and no fresh memory to
// fault in for every answer (page faults were most of a consumer's time, issue #8). The broker
// may not trust a declared size, but gives a frame of `lendMinBytes` or more a buffer that already
// exists if one fits (`spare`), else grows it as above and takes its last, whole-size buffer from
// `lend`: buffers it gives back once the request is answered (core/lent-buffers.ts).
//
// Admission: with `admit`, every frame's size (prefix included) is offered to it as soon as its
// length prefix is read, and an admitted frame is gathered in one buffer of its declared size
// (the budget already counts all of it; untouched pages cost no memory); if it says no, the splitter stops there and keeps the rest of the stream,
// from that prefix on, in `held` (`waiting` is true; later pushes append to it) until `resume`,
// which offers the size again (the broker's request memory, net/kafka/admission.ts).
//
// Frames returned are the length prefix plus the body. A frame wholly inside one pushed chunk is
// returned as a view of that chunk (no copy): the caller must not reuse chunk buffers afterwards.
// Bun's socket `data` handler gives a fresh buffer per call, so that holds there.
import type { Writer } from "./writer.ts";

export const FRAME_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;
const GATHER_INITIAL_BYTES = 64 * 1024;

/** Where gathered frames' buffers come from (default: a new one each time). */
export interface GatherBuffers {
  /** Frames up to this size are gathered in one buffer of their declared size from `take` (default 0). */
  wholeBytes?: number;
  /** Exactly n bytes long. */
  take?: (n: number) => Uint8Array;
  /** Frames of this size or more (and over `wholeBytes`) use `spare` and `lend` (default: none do). */
  lendMinBytes?: number;
  /** An existing buffer of exactly n bytes, or null: no new memory for a size not yet received. */
  spare?: (n: number) => Uint8Array | null;
  /** A buffer of exactly n bytes, for the last step of growing (n is the frame's size). */
  lend?: (n: number) => Uint8Array;
  /** Whether a frame of n bytes (prefix included) may be read now; no: wait for `resume`. */
  admit?: (n: number) => boolean;
}

const newBuffer = (n: number): Uint8Array => new Uint8Array(n);

export class FrameSplitter {
  /** Why the stream is unusable (bad length); once set, push() returns nothing. */
  error: string | null = null;
  private readonly head = new Uint8Array(4);
  private headLength = 0;
  /** A frame being gathered: `gather[0, gathered)` holds its first bytes; `frameBytes` is its whole size. */
  private gather: Uint8Array | null = null;
  private gathered = 0;
  private frameBytes = 0;

  private readonly wholeBytes: number;
  private readonly take: (n: number) => Uint8Array;
  private readonly lendMinBytes: number;
  private readonly spare: (n: number) => Uint8Array | null;
  private readonly lend: (n: number) => Uint8Array;
  /** The frame being gathered is at least lendMinBytes: its last buffer comes from `lend`. */
  private lending = false;
  private readonly admit: ((n: number) => boolean) | null;
  /** Not admitted yet: the stream from the waiting frame's prefix on. */
  private held: Uint8Array | null = null;

  constructor(
    /** May change between frames: a Kafka connection takes smaller frames before it logs in. */
    public maxBytes = FRAME_BYTES_MAX_DEFAULT,
    buffers: GatherBuffers = {},
  ) {
    this.wholeBytes = buffers.wholeBytes ?? 0;
    this.take = buffers.take ?? newBuffer;
    this.lendMinBytes = buffers.lendMinBytes ?? Infinity;
    this.spare = buffers.spare ?? (() => null);
    this.lend = buffers.lend ?? newBuffer;
    this.admit = buffers.admit ?? null;
  }

  /** A frame's size was refused by `admit`: nothing more is split until `resume`. */
  get waiting(): boolean {
    return this.held !== null;
  }

  /** Offers the waiting frame's size to `admit` again and, if it passes, splits what was held. */
  resume(out: Uint8Array[] = []): Uint8Array[] {
    const held = this.held;
    if (held === null) return out;
    this.held = null;
    return this.push(held, out);
  }

  /** A frame's length was read (and admitted) and its bytes are arriving: the size it declared
   * (prefix included), else 0. */
  get frameInProgress(): number {
    return this.gather === null ? 0 : this.frameBytes;
  }

  /** Gives up the frame being gathered (its connection closed) and returns its buffer, which
   * nothing here refers to any more, or null. */
  dropGather(): Uint8Array | null {
    const g = this.gather;
    this.gather = null;
    this.gathered = 0;
    return g;
  }

  /** Bytes held back, waiting for the rest of their frame. */
  get buffered(): number {
    return this.headLength + this.gathered;
  }

  /** Feeds the next bytes of the stream; appends every frame they complete to `out`, in order, and
   * returns it (a caller with a queue of its own passes it: no array per chunk). */
  push(chunk: Uint8Array, out: Uint8Array[] = []): Uint8Array[] {
    if (this.held !== null) {
      const held = new Uint8Array(this.held.length + chunk.length);
      held.set(this.held);
      held.set(chunk, this.held.length);
      this.held = held;
      return out;
    }
    let pos = 0;
    while (pos < chunk.length && this.error === null) {
      if (this.gather !== null) {
        pos = this.fill(chunk, pos, out);
        continue;
      }
      if (this.headLength > 0 || chunk.length - pos < 4) {
        const take = Math.min(4 - this.headLength, chunk.length - pos);
        this.head.set(chunk.subarray(pos, pos + take), this.headLength);
        this.headLength += take;
        pos += take;
        if (this.headLength < 4) break;
        this.headLength = 0;
        const n = this.declared(this.head, 0);
        if (n < 0) break;
        if (this.admit !== null && !this.admit(4 + n)) {
          this.hold(this.head, chunk.subarray(pos));
          break;
        }
        if (n === 0) out.push(this.head.slice());
        else this.startGather(n, this.head);
        continue;
      }
      const n = this.declared(chunk, pos);
      if (n < 0) break;
      if (this.admit !== null && !this.admit(4 + n)) {
        this.hold(chunk.subarray(pos, pos + 4), chunk.subarray(pos + 4));
        break;
      }
      if (chunk.length - pos >= 4 + n) {
        // A chunk that is exactly one frame (most requests) is returned as it is: a view of it
        // would make JavaScriptCore give the chunk an ArrayBuffer of its own (core/bytes.ts).
        out.push(pos === 0 && n + 4 === chunk.length ? chunk : chunk.subarray(pos, pos + 4 + n));
        pos += 4 + n;
      } else {
        this.startGather(n, chunk.subarray(pos, pos + 4));
        pos += 4;
      }
    }
    return out;
  }

  /** Keeps a refused frame's prefix and the bytes after it for `resume`. */
  private hold(prefix: Uint8Array, rest: Uint8Array): void {
    const held = new Uint8Array(4 + rest.length);
    held.set(prefix.subarray(0, 4));
    held.set(rest, 4);
    this.held = held;
  }

  /** The length at `at`, or -1 after recording an error. */
  private declared(b: Uint8Array, at: number): number {
    const n = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) | 0;
    if (n < 0 || n > this.maxBytes) {
      this.error = `frame length ${n} outside 0…${this.maxBytes}`;
      return -1;
    }
    return n;
  }

  private startGather(n: number, prefix: Uint8Array): void {
    const bytes = (this.frameBytes = 4 + n);
    this.lending = bytes > this.wholeBytes && bytes >= this.lendMinBytes;
    if (bytes <= this.wholeBytes) this.gather = this.take(bytes);
    // Admitted (the broker's request memory holds its whole size already): one buffer of that
    // size at once, no copies while growing; its pages are faulted in only as bytes arrive.
    else if (this.admit !== null) this.gather = this.lending ? (this.spare(bytes) ?? this.lend(bytes)) : new Uint8Array(bytes);
    else this.gather = (this.lending ? this.spare(bytes) : null) ?? new Uint8Array(Math.min(bytes, GATHER_INITIAL_BYTES));
    this.gather.set(prefix);
    this.gathered = 4;
  }

  private fill(chunk: Uint8Array, pos: number, out: Uint8Array[]): number {
    const take = Math.min(this.frameBytes - this.gathered, chunk.length - pos);
    let g = this.gather!;
    if (this.gathered + take > g.length) {
      let size = g.length * 2;
      while (size < this.gathered + take) size *= 2;
      const next = this.lending && size >= this.frameBytes ? this.lend(this.frameBytes) : new Uint8Array(Math.min(size, this.frameBytes));
      next.set(g.subarray(0, this.gathered));
      g = this.gather = next;
    }
    g.set(chunk.subarray(pos, pos + take), this.gathered);
    this.gathered += take;
    if (this.gathered === this.frameBytes) {
      out.push(g);
      this.gather = null;
      this.gathered = 0;
    }
    return pos + take;
  }
}

/** Reserves a frame's length prefix at the start of a message; finish with `endFrame`. */
export function beginFrame(w: Writer): number {
  return w.reserveInt32();
}

/** Writes the length of everything after the prefix reserved by `beginFrame`. */
export function endFrame(w: Writer, mark: number): void {
  w.patchInt32(mark, w.length - mark - 4);
}
