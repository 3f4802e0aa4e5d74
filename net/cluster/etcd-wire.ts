// The JSON shapes of etcd's v3 gRPC gateway (etcd 3.4, paths under /v3/) and their translation to
// and from the client's types. The gateway is the protobuf JSON mapping of etcdserverpb, so:
//
// - bytes fields (key, value, range_end) are base64 strings;
// - int64 fields (revisions, versions, counts, lease ids, TTLs) are decimal strings. Revisions and
//   versions stay far below 2^53 in any real cluster, so they become numbers (asserted safe);
//   lease ids are random 63-bit numbers (2324035872132280330 was one here), so they stay strings;
// - a field at its zero value is left out: an empty value, `succeeded: false`, `count: 0`,
//   `lease: 0`, a watch event of type PUT (0), `watch_id: 0` all arrive absent;
// - enums go by name ("MOD", "EQUAL", "DELETE");
// - streaming calls (/v3/watch, /v3/lease/keepalive) answer newline-separated JSON objects, each
//   `{"result": …}` or `{"error": …}`;
// - a failed unary call answers a 4xx/5xx status with `{"error","message","code"}` where code is
//   the gRPC status code (3 invalid argument, 5 not found, 11 out of range, 14 unavailable).
//
// Nothing here does I/O; etcd-transport.ts sends what this builds.

export type Bytes = string | Uint8Array;
/** A lease id as etcd prints it: a decimal int64, "0" for none. Kept a string (ids pass 2^53). */
export type LeaseId = string;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string; a Uint8Array as it is. */
export function toBytes(b: Bytes): Uint8Array {
  return typeof b === "string" ? encoder.encode(b) : b;
}

/** Bytes as text (UTF-8; invalid sequences become U+FFFD). */
export function text(b: Uint8Array): string {
  return decoder.decode(b);
}

export function toBase64(b: Bytes): string {
  return Buffer.from(toBytes(b)).toString("base64");
}

export function fromBase64(s: string | undefined): Uint8Array {
  if (s === undefined || s === "") return new Uint8Array(0);
  return new Uint8Array(Buffer.from(s, "base64"));
}

/**
 * The range_end that makes [key, range_end) every key starting with `key`: the key with its last
 * byte below 0xff incremented and what follows dropped (as etcd's clientv3.GetPrefixRangeEnd).
 * A key of only 0xff bytes, or the empty key, has no such end: "\0" then means "to the end".
 */
export function prefixEnd(key: Bytes): Uint8Array {
  const k = toBytes(key);
  for (let i = k.length - 1; i >= 0; i--) {
    if (k[i]! < 0xff) {
      const end = k.slice(0, i + 1);
      end[i]! += 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** An int64 field as a number: absent is 0; anything that is not a safe integer is refused. */
export function int(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new TypeError(`etcd gateway: ${field} is not a safe integer: ${JSON.stringify(v)}`);
  return n;
}

/** A lease id field: absent is "0". */
export function leaseId(v: unknown): LeaseId {
  if (v === undefined || v === null) return "0";
  const s = String(v);
  if (!/^-?\d+$/.test(s)) throw new TypeError(`etcd gateway: lease id is not an integer: ${JSON.stringify(v)}`);
  return s;
}

/** One key as etcd keeps it. `lease` is "0" when the key is bound to no lease. */
export class KeyValue {
  constructor(
    readonly key: Uint8Array,
    readonly value: Uint8Array,
    /** Revision of the put that created this key (since its last delete). */
    readonly createRevision: number,
    /** Revision of the last change: the fencing token a compare-and-swap checks. */
    readonly modRevision: number,
    /** Puts since creation: 1 after the first. */
    readonly version: number,
    readonly lease: LeaseId,
  ) {}

  get keyString(): string {
    return text(this.key);
  }

  get valueString(): string {
    return text(this.value);
  }
}

/** mvccpb.KeyValue from the gateway. */
export function decodeKeyValue(j: Record<string, unknown>): KeyValue {
  return new KeyValue(
    fromBase64(j.key as string | undefined),
    fromBase64(j.value as string | undefined),
    int(j.create_revision, "create_revision"),
    int(j.mod_revision, "mod_revision"),
    int(j.version, "version"),
    leaseId(j.lease),
  );
}

export function decodeKeyValues(list: unknown): KeyValue[] {
  return Array.isArray(list) ? list.map((j) => decodeKeyValue(j as Record<string, unknown>)) : [];
}

/** The revision of the store when the call was answered (ResponseHeader.revision). */
export function headerRevision(j: Record<string, unknown>): number {
  return int((j.header as Record<string, unknown> | undefined)?.revision, "header.revision");
}

// ---- Requests ----

export interface RangeOptions {
  /** Every key starting with `key` (range_end = prefixEnd(key)). */
  prefix?: boolean;
  /** An explicit end, exclusive; overrides `prefix`. */
  rangeEnd?: Bytes;
  /** At most this many keys (0: no limit); `more` says whether some were left out. */
  limit?: number;
  /** Read the store as of this revision (0: the newest). Fails with COMPACTED below the compaction. */
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Serve from the member's local copy without a quorum read: faster, possibly stale. */
  serializable?: boolean;
}

function rangeEndOf(key: Bytes, o: { prefix?: boolean; rangeEnd?: Bytes }): string | undefined {
  if (o.rangeEnd !== undefined) return toBase64(o.rangeEnd);
  return o.prefix ? toBase64(prefixEnd(key)) : undefined;
}

export function rangeRequest(key: Bytes, o: RangeOptions = {}): Record<string, unknown> {
  return {
    key: toBase64(key),
    range_end: rangeEndOf(key, o),
    limit: o.limit ? String(o.limit) : undefined,
    revision: o.revision ? String(o.revision) : undefined,
    keys_only: o.keysOnly || undefined,
    count_only: o.countOnly || undefined,
    serializable: o.serializable || undefined,
  };
}

export interface PutOptions {
  /** Bind the key to this lease: the key is deleted when the lease ends. */
  lease?: LeaseId;
  /** Answer with the key as it was before the put. */
  prevKv?: boolean;
}

export function putRequest(key: Bytes, value: Bytes, o: PutOptions = {}): Record<string, unknown> {
  return { key: toBase64(key), value: toBase64(value), lease: o.lease && o.lease !== "0" ? o.lease : undefined, prev_kv: o.prevKv || undefined };
}

export interface DeleteOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  /** Answer with the deleted keys. */
  prevKv?: boolean;
}

export function deleteRequest(key: Bytes, o: DeleteOptions = {}): Record<string, unknown> {
  return { key: toBase64(key), range_end: rangeEndOf(key, o), prev_kv: o.prevKv || undefined };
}

// ---- Results ----

export interface RangeResult {
  kvs: KeyValue[];
  /** Keys in the range (all of them, whatever the limit). */
  count: number;
  /** Whether `limit` left keys out. */
  more: boolean;
  /** The store's revision the range was read at. */
  revision: number;
}

export function decodeRange(j: Record<string, unknown>): RangeResult {
  return { kvs: decodeKeyValues(j.kvs), count: int(j.count, "count"), more: j.more === true, revision: headerRevision(j) };
}

export interface PutResult {
  /** The revision of this put: the key's new mod_revision. */
  revision: number;
  prevKv: KeyValue | null;
}

export function decodePut(j: Record<string, unknown>): PutResult {
  return { revision: headerRevision(j), prevKv: j.prev_kv ? decodeKeyValue(j.prev_kv as Record<string, unknown>) : null };
}

export interface DeleteResult {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export function decodeDelete(j: Record<string, unknown>): DeleteResult {
  return { revision: headerRevision(j), deleted: int(j.deleted, "deleted"), prevKvs: decodeKeyValues(j.prev_kvs) };
}
