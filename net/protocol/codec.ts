// Small helpers the generated codec (./messages/) calls, kept by hand so the generated files stay
// short: arrays in their classic and compact forms, the tagged-field section's unknown fields,
// and null checks on encode. Wire grammar: reader.ts.
import type { TaggedField } from "./api.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/**
 * A non-nullable array. `minBytes` is the fewest bytes one element can take: the count is checked
 * against the bytes left before anything is allocated. Null or failure decode as [].
 * `el` gets the message version `v` passed through, so the generated code hands its struct
 * decoders over as they are instead of making a closure per array per message (issue #8).
 */
export function readArray<T>(r: Reader, compact: boolean, minBytes: number, el: (r: Reader, v: number) => T, v = 0): T[] {
  const n = compact ? r.compactArrayLength(minBytes) : r.arrayLength(minBytes);
  if (n < 0) {
    if (r.error === null) r.fail("array: null where a non-null array is required");
    return [];
  }
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    out.push(el(r, v));
    if (r.error !== null) return [];
  }
  return out;
}

/** A nullable array: like readArray, but null decodes as null. */
export function readNullableArray<T>(r: Reader, compact: boolean, minBytes: number, el: (r: Reader, v: number) => T, v = 0): T[] | null {
  const n = compact ? r.compactArrayLength(minBytes) : r.arrayLength(minBytes);
  if (n < 0) return null;
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    out.push(el(r, v));
    if (r.error !== null) return null;
  }
  return out;
}

/** Writes an array; `el` gets the message version `v` passed through (see readArray). */
export function writeArray<T>(w: Writer, compact: boolean, a: readonly T[] | null, el: (w: Writer, v: number, e: T) => void, v = 0): void {
  if (a === null) {
    if (compact) w.uvarint(0);
    else w.int32(-1);
    return;
  }
  if (compact) w.uvarint(a.length + 1);
  else w.int32(a.length);
  for (const e of a) el(w, v, e);
}

/** Encode-side null check for a field that is not nullable in the version being written. */
export function nn<T>(v: T | null, field: string): T {
  if (v === null) throw new RangeError(`${field}: null in a version where it is not nullable`);
  return v;
}

/** Reads one tagged field's data as an unknown field (a view, not a copy). */
export function unknownTag(list: TaggedField[] | undefined, tag: number, t: Reader): TaggedField[] {
  const out = list ?? [];
  out.push({ tag, data: t.bytes.subarray(t.pos, t.end) });
  return out;
}

/**
 * Writes the unknown tagged fields from index `i` whose tag is below `below`, keeping the
 * section in ascending tag order; returns the next index.
 */
export function writeUnknownTags(w: Writer, list: readonly TaggedField[] | undefined, i: number, below: number): number {
  if (list === undefined) return i;
  for (; i < list.length && list[i]!.tag < below; i++) {
    const f = list[i]!;
    w.uvarint(f.tag);
    w.uvarint(f.data.length);
    w.raw(f.data);
  }
  return i;
}

export function isZeroUuid(u: Uint8Array): boolean {
  for (let i = 0; i < u.length; i++) if (u[i] !== 0) return false;
  return true;
}
