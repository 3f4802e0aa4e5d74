// Recycled buffers for large reads of the active segment.
//
// A consumer catching up reads the active segment up to 8 MiB at a time (our client's partition
// fetch size). A fresh buffer for each read is zeroed and faulted in page by page, which cost
// more than the copy itself: the broker's CPU for a 1,000,000-record consume was mostly that. So
// reads of RECYCLE_MIN_BYTES or more go into buffers lent from here, and whoever hands the bytes
// on gives them back once nothing refers to them any more: the broker's connection, when a
// response chunk has been handed to the socket whole (`giveBack`). In-process readers never give
// back; their buffers are collected as any other.
//
// A sealed segment is read through its mapping instead, but an active one keeps growing and is
// truncated after a failed write or sync, which a mapping cannot follow safely (SIGBUS past the
// end); a mapping would also count every page read in the broker's resident memory.
//
// Bounded: at most SPARES_MAX buffers wait here; a give-back beyond that drops the smallest.
// Capacities go in CAPACITY_STEP steps, so reads of similar sizes share buffers.

/** Reads smaller than this get a buffer of their own (a consumer at the tail reads a few KB). */
export const RECYCLE_MIN_BYTES = 256 * 1024;
const CAPACITY_STEP = 1024 * 1024;
const SPARES_MAX = 4;
/** Views this small are never checked (asking a small typed array for its buffer costs an allocation). */
const GIVE_BACK_MIN_BYTES = 4096;

const spares: ArrayBuffer[] = [];
/** Buffers lent and not yet given back: only these are taken back, each once. */
const lent = new WeakSet<ArrayBuffer>();

/** A buffer of exactly `length` bytes (a view of a lent buffer) for a read to fill. */
export function takeReadBuffer(length: number): Uint8Array {
  // The smallest that fits; of equal ones the last given back (its pages are the warmest).
  let best = -1;
  for (let i = spares.length - 1; i >= 0; i--) {
    const cap = spares[i]!.byteLength;
    if (cap >= length && (best < 0 || cap < spares[best]!.byteLength)) best = i;
  }
  const buffer = best >= 0 ? spares.splice(best, 1)[0]! : new ArrayBuffer(Math.ceil(length / CAPACITY_STEP) * CAPACITY_STEP);
  lent.add(buffer);
  return new Uint8Array(buffer, 0, length);
}

/**
 * `view` has been handed on whole (written to a socket): if it is a view of a lent buffer, that
 * buffer may be lent again, and true is returned. The caller must hold no other view of it that
 * is still to be used.
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
