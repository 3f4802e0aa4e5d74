// Recycled buffers for the broker's big byte runs: large reads of the active segment, and large
// requests gathered from the socket.
//
// A consumer catching up reads the active segment up to 8 MiB at a time (our client's partition
// fetch size), and a producer sends requests of about 1 MB (librdkafka's and our batch size).
// A fresh buffer for each is zeroed and faulted in page by page, which costs more than the copy
// itself: most of the broker's CPU for a 1,000,000-record consume was that, and half the page
// faults of a produce. So those buffers are lent from here, and whoever is done with the bytes
// gives them back once nothing refers to them any more: the broker's connection, when a response
// chunk has been handed to the socket whole, and when a Produce request has been answered
// (`giveBack`). Buffers never given back (in-process readers, a connection that closed) are
// collected as any other.
//
// Not a mapping: every page read through one counts in the broker's resident memory until the
// mapping is collected (a catch-up read of 550 MB of sealed segments: 114 → 604 MiB), and the
// active segment keeps growing and is truncated after a failed write or sync, which a mapping
// cannot follow safely (SIGBUS past the end). Small reads of sealed segments and header walks
// still use the mapping.
//
// Bounded: at most SPARES_MAX buffers wait here; a give-back beyond that drops the smallest.
// Capacities go in CAPACITY_STEP steps, so requests and reads of similar sizes share buffers.

/** Runs smaller than this get a buffer of their own (a consumer at the tail reads a few KB). */
export const RECYCLE_MIN_BYTES = 256 * 1024;
const CAPACITY_STEP = 1024 * 1024;
const SPARES_MAX = 6;
/** Views this small are never checked (asking a small typed array for its buffer costs an allocation). */
const GIVE_BACK_MIN_BYTES = 4096;

const spares: ArrayBuffer[] = [];
/** Buffers lent and not yet given back: only these are taken back, each once. */
const lent = new WeakSet<ArrayBuffer>();

/** A spare buffer of `length` bytes (a view of it), lent; null when none is large enough. */
export function lendSpare(length: number): Uint8Array | null {
  // The smallest that fits; of equal ones the last given back (its pages are the warmest).
  let best = -1;
  for (let i = spares.length - 1; i >= 0; i--) {
    const cap = spares[i]!.byteLength;
    if (cap >= length && (best < 0 || cap < spares[best]!.byteLength)) best = i;
  }
  if (best < 0) return null;
  const buffer = spares.splice(best, 1)[0]!;
  lent.add(buffer);
  return new Uint8Array(buffer, 0, length);
}

/** A buffer of exactly `length` bytes (a view of a lent buffer): a spare, else a new one. */
export function lendBuffer(length: number): Uint8Array {
  const spare = lendSpare(length);
  if (spare !== null) return spare;
  const buffer = new ArrayBuffer(Math.ceil(length / CAPACITY_STEP) * CAPACITY_STEP);
  lent.add(buffer);
  return new Uint8Array(buffer, 0, length);
}

/**
 * `view` is done with (written to a socket, or its request answered): if it is a view of a lent
 * buffer, that buffer may be lent again, and true is returned. The caller must hold no other view
 * of it that is still to be used.
 */
export function giveBack(view: Uint8Array): boolean {
  if (view.byteLength < GIVE_BACK_MIN_BYTES) return false;
  const buffer = view.buffer as ArrayBuffer;
  if (!lent.delete(buffer)) return false;
  if (spares.length >= SPARES_MAX) {
    let smallest = 0;
    for (let i = 1; i < spares.length; i++) if (spares[i]!.byteLength < spares[smallest]!.byteLength) smallest = i;
    if (spares[smallest]!.byteLength >= buffer.byteLength) return true;
    spares.splice(smallest, 1);
  }
  spares.push(buffer);
  return true;
}

/** The buffers waiting to be lent again, largest capacity first (tests). */
export function spareCapacities(): number[] {
  return spares.map((b) => b.byteLength).sort((a, b) => b - a);
}
