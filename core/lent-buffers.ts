// Recycled buffers for big byte runs: on the broker, large reads of a segment and large requests
// gathered from the socket; in our client, large answers gathered from the socket.
//
// A consumer catching up reads up to 8 MiB at a time (our client's partition fetch size), and a
// producer sends requests of about 1 MB (librdkafka's and our batch size). A fresh buffer for
// each is zeroed and faulted in page by page, which costs more than the copy itself: most of the
// broker's CPU for a 1,000,000-record consume was that, and half the page faults of a produce;
// on the client side, page faults were most of a consumer's time. So those buffers are lent from
// a pool, and whoever is done with the bytes gives them back once nothing refers to them any
// more (`giveBack`): the broker's connection, when a response chunk has been handed to the socket
// whole and when a Produce request has been answered; the client's Fetcher, at the next poll().
// Buffers never given back (in-process readers, a connection that closed) are collected as any
// other.
//
// Not a mapping: every page read through one counts in the broker's resident memory until the
// mapping is collected (a catch-up read of 550 MB of sealed segments: 114 → 604 MiB), and the
// active segment keeps growing and is truncated after a failed write or sync, which a mapping
// cannot follow safely (SIGBUS past the end). Small reads of sealed segments and header walks
// still use the mapping.
//
// Bounded: at most `sparesMax` buffers wait in a pool; a give-back beyond that drops the
// smallest. Capacities go in CAPACITY_STEP steps, so runs of similar sizes share buffers.

import { BUFFER_CAPACITY_STEP as CAPACITY_STEP, RECYCLE_MIN_BYTES } from "./limits.ts";

/** Runs smaller than this get a buffer of their own (a consumer at the tail reads a few KB): core/limits.ts. */
export { RECYCLE_MIN_BYTES };

export class LentBuffers {
  private readonly spares: ArrayBuffer[] = [];
  /** Buffers lent and not yet given back: only these are taken back, each once. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  /**
   * `giveBackMinBytes`: views smaller than this are never looked at (asking a small typed array
   * for its buffer gives it an ArrayBuffer of its own, an allocation: core/bytes.ts).
   */
  constructor(
    private readonly sparesMax: number,
    private readonly giveBackMinBytes = 4096,
  ) {}

  /** A spare buffer of `length` bytes (a view of it), lent; null when none is large enough. */
  lendSpare(length: number): Uint8Array | null {
    // The smallest that fits; of equal ones the last given back (its pages are the warmest).
    const spares = this.spares;
    let best = -1;
    for (let i = spares.length - 1; i >= 0; i--) {
      const cap = spares[i]!.byteLength;
      if (cap >= length && (best < 0 || cap < spares[best]!.byteLength)) best = i;
    }
    if (best < 0) return null;
    const buffer = spares.splice(best, 1)[0]!;
    this.lent.add(buffer);
    return new Uint8Array(buffer, 0, length);
  }

  /**
   * A buffer of exactly `length` bytes (a view of a lent buffer): a spare, else a new one. A spare
   * holds what its last borrower left; a new one is zeros unless `uninitialized`, for a caller that
   * writes every byte before reading any (a gathered frame): zeroing 100 MiB of reused memory held
   * the event loop ~400 ms (issue #18).
   */
  lend(length: number, uninitialized = false): Uint8Array {
    const spare = this.lendSpare(length);
    if (spare !== null) return spare;
    const capacity = Math.ceil(length / CAPACITY_STEP) * CAPACITY_STEP;
    const buffer = uninitialized ? (Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer) : new ArrayBuffer(capacity);
    this.lent.add(buffer);
    return new Uint8Array(buffer, 0, length);
  }

  /**
   * `view` is done with (written to a socket, its request answered, its records read): if it is
   * a view of a lent buffer, that buffer may be lent again, and true is returned. The caller must
   * hold no other view of it that is still to be used.
   */
  giveBack(view: Uint8Array): boolean {
    if (view.byteLength < this.giveBackMinBytes) return false;
    const buffer = view.buffer as ArrayBuffer;
    if (!this.lent.delete(buffer)) return false;
    const spares = this.spares;
    if (spares.length >= this.sparesMax) {
      let smallest = 0;
      for (let i = 1; i < spares.length; i++) if (spares[i]!.byteLength < spares[smallest]!.byteLength) smallest = i;
      if (spares[smallest]!.byteLength >= buffer.byteLength) return true;
      spares.splice(smallest, 1);
    }
    spares.push(buffer);
    return true;
  }

  /** The buffers waiting to be lent again, largest capacity first (tests). */
  spareCapacities(): number[] {
    return this.spares.map((b) => b.byteLength).sort((a, b) => b - a);
  }
}

/** The broker's pool, shared by every log and connection of the process: six spares. */
const broker = new LentBuffers(6);
export const lendSpare = (length: number): Uint8Array | null => broker.lendSpare(length);
export const lendBuffer = (length: number): Uint8Array => broker.lend(length);
/** For a frame gathered from a socket: every byte is written before any is read. */
export const lendGatherBuffer = (length: number): Uint8Array => broker.lend(length, true);
export const giveBack = (view: Uint8Array): boolean => broker.giveBack(view);
export const spareCapacities = (): number[] => broker.spareCapacities();
