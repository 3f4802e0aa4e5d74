// An etcd v3 client over etcd's JSON gateway (HTTP + fetch, no package): what cluster mode keeps
// its metadata with (live brokers on leases, topics, partition state changed by transactions that
// compare the revision they read, a controller elected on a lease).
//
// Why the gateway and not gRPC: Bun's fetch speaks it with nothing to install or bundle into the
// compiled binary, and every call we need (kv, txn, leases, watch) is there. Measured against
// Debian's etcd 3.4.23: the gateway lives under /v3/ (3.4 keeps /v3beta/ too; 3.5 only /v3/).
//
//   call          path                    notes
//   range         /v3/kv/range            count and kvs absent when empty
//   put           /v3/kv/put
//   delete        /v3/kv/deleterange      `deleted` absent when 0
//   txn           /v3/kv/txn              `succeeded` absent when false
//   compact       /v3/kv/compaction
//   grant         /v3/lease/grant         {"TTL":"5","ID":"232…"}: ids pass 2^53, kept strings
//   keepAlive     /v3/lease/keepalive     a stream: one {"result":…} per request; TTL absent = gone
//   revoke        /v3/lease/revoke        3.4 also serves /v3/kv/lease/revoke; 3.5 keeps this one
//   timeToLive    /v3/lease/timetolive    TTL "-1" when gone
//   watch         /v3/watch               a stream: see etcd-watch.ts
//
// Keys and values are bytes: every call takes a string (UTF-8) or a Uint8Array, and answers
// KeyValues with `key`/`value` bytes and `keyString`/`valueString`. Every call takes `timeoutMs`
// (default the client's) and fails over across endpoints as etcd-transport.ts says; errors are
// EtcdError with a `code`, the `endpoint`, and `indeterminate` for a write that may have applied.
import { EtcdError, EtcdTransport } from "./etcd-transport.ts";
import { type KeepAliveOptions, type Lease, LeaseKeeper } from "./etcd-lease.ts";
import { decodeTxn, txnIsReadOnly, txnRequest, type TxnRequest, type TxnResult } from "./etcd-txn.ts";
import { Watch, type WatchHandler, type WatchOptions } from "./etcd-watch.ts";
import {
  type Bytes,
  decodeDelete,
  decodePut,
  decodeRange,
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  headerRevision,
  int,
  type KeyValue,
  type LeaseId,
  leaseId,
  type PutOptions,
  type PutResult,
  putRequest,
  type RangeOptions,
  type RangeResult,
  rangeRequest,
} from "./etcd-wire.ts";

export { EtcdError };
export { type EtcdErrorCode, parseEndpoints } from "./etcd-transport.ts";
export { type KeepAliveOptions, type Lease, LeaseKeeper } from "./etcd-lease.ts";
export { compare, type Compare, type CompareOp, op, type TxnOp, type TxnRequest, type TxnResponse, type TxnResult } from "./etcd-txn.ts";
export { Watch, type WatchEnd, type WatchEvent, type WatchHandler, type WatchOptions } from "./etcd-watch.ts";
export {
  type Bytes,
  type DeleteOptions,
  type DeleteResult,
  KeyValue,
  type LeaseId,
  prefixEnd,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  text,
  toBytes,
} from "./etcd-wire.ts";

/** Every call's last argument may bound it in time or abort it. */
export interface Timed {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EtcdClientOptions {
  /** Default timeout of each call on one endpoint. */
  timeoutMs?: number;
}

export interface LeaseStatus {
  id: LeaseId;
  /** Seconds left; -1 when the lease is gone. */
  ttlSeconds: number;
  grantedTtlSeconds: number;
  keys: KeyValue["key"][];
}

export class EtcdClient {
  private readonly transport: EtcdTransport;
  private readonly keepers = new Set<LeaseKeeper>();
  private readonly watches = new Set<Watch>();

  /** `endpoints`: "http://127.0.0.1:2379,http://…" or a list. */
  constructor(endpoints: string | string[], o: EtcdClientOptions = {}) {
    this.transport = new EtcdTransport(endpoints, o.timeoutMs);
  }

  get endpoints(): readonly string[] {
    return this.transport.endpoints;
  }

  /** The endpoint calls go to first (the last one that answered). */
  get endpoint(): string {
    return this.transport.endpoint;
  }

  // ---- Keys ----

  async range(key: Bytes, o: RangeOptions & Timed = {}): Promise<RangeResult> {
    return decodeRange(await this.transport.call("/v3/kv/range", rangeRequest(key, o), { ...timed(o), retrySafe: true }));
  }

  /** One key, or null. */
  async get(key: Bytes, o: Timed & { serializable?: boolean } = {}): Promise<KeyValue | null> {
    return (await this.range(key, o)).kvs[0] ?? null;
  }

  async put(key: Bytes, value: Bytes, o: PutOptions & Timed = {}): Promise<PutResult> {
    return decodePut(await this.transport.call("/v3/kv/put", putRequest(key, value, o), timed(o)));
  }

  async delete(key: Bytes, o: DeleteOptions & Timed = {}): Promise<DeleteResult> {
    return decodeDelete(await this.transport.call("/v3/kv/deleterange", deleteRequest(key, o), timed(o)));
  }

  /** If every compare holds, `success`, else `failure`: atomically, at one revision. */
  async txn(t: TxnRequest, o: Timed = {}): Promise<TxnResult> {
    return decodeTxn(await this.transport.call("/v3/kv/txn", txnRequest(t), { ...timed(o), retrySafe: txnIsReadOnly(t) }));
  }

  /** Drops history below `revision` (watches and reads there then fail with COMPACTED). */
  async compact(revision: number, o: Timed & { physical?: boolean } = {}): Promise<number> {
    const j = await this.transport.call("/v3/kv/compaction", { revision: String(revision), physical: o.physical || undefined }, { ...timed(o), retrySafe: true });
    return headerRevision(j);
  }

  // ---- Leases ----

  /** A new lease of `ttlSeconds` (etcd may grant more: read `ttlSeconds` of the answer). */
  async grant(ttlSeconds: number, o: Timed & { id?: LeaseId } = {}): Promise<Lease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`lease TTL must be a whole number of seconds ≥ 1, got ${ttlSeconds}`);
    const sentAtMs = performance.now();
    // Granting twice (after a timeout) leaves an unused lease that expires on its own: safe to resend.
    const j = await this.transport.call("/v3/lease/grant", { TTL: String(ttlSeconds), ID: o.id ?? "0" }, { ...timed(o), retrySafe: true });
    if (j.error) throw new EtcdError("SERVER", `/v3/lease/grant: ${String(j.error)}`, this.transport.endpoint);
    return { id: leaseId(j.ID), ttlSeconds: int(j.TTL, "TTL"), sentAtMs };
  }

  /** One keepalive; the TTL etcd renewed the lease to, 0 when the lease is gone. */
  async keepAliveOnce(id: LeaseId, o: Timed = {}): Promise<number> {
    const j = await this.transport.call("/v3/lease/keepalive", { ID: id }, { ...timed(o), streamed: true, retrySafe: true });
    return Math.max(0, int(j.TTL, "TTL"));
  }

  /**
   * Keeps a lease alive in the background (every TTL/3) until stopped or lost; see etcd-lease.ts
   * for the fencing contract: once `keeper.signal` aborts (or `onLost` runs, or `alive` is false),
   * stop acting on what the lease guards. Pass the Lease from grant() so the keeper knows from when
   * the lease is sure to live; a bare id is trusted only after its first acknowledged keepalive.
   */
  keepAlive(lease: Lease | LeaseId, o: KeepAliveOptions = {}): LeaseKeeper {
    const keeper = new LeaseKeeper(this.transport, typeof lease === "string" ? { id: lease } : lease, { timeoutMs: this.transport.timeoutMs, ...o });
    this.keepers.add(keeper);
    void keeper.done.then(() => this.keepers.delete(keeper));
    return keeper;
  }

  /** Ends a lease now, deleting its keys. A lease already gone is not an error. */
  async revoke(id: LeaseId, o: Timed = {}): Promise<void> {
    try {
      await this.transport.call("/v3/lease/revoke", { ID: id }, { ...timed(o), retrySafe: true });
    } catch (err) {
      if ((err as { code?: string }).code !== "LEASE_NOT_FOUND") throw err;
    }
  }

  async timeToLive(id: LeaseId, o: Timed & { keys?: boolean } = {}): Promise<LeaseStatus> {
    const j = await this.transport.call("/v3/lease/timetolive", { ID: id, keys: o.keys || undefined }, { ...timed(o), retrySafe: true });
    const keys = Array.isArray(j.keys) ? j.keys.map((k) => new Uint8Array(Buffer.from(String(k), "base64"))) : [];
    return { id, ttlSeconds: int(j.TTL, "TTL"), grantedTtlSeconds: int(j.grantedTTL, "grantedTTL"), keys };
  }

  // ---- Watch ----

  /**
   * Calls `onEvents` with every change of `key` (or its prefix) from `startRevision` (default:
   * from now), in order, across dropped connections and endpoints; see etcd-watch.ts.
   */
  watch(key: Bytes, o: WatchOptions, onEvents: WatchHandler): Watch {
    const w = new Watch(this.transport, key, { timeoutMs: this.transport.timeoutMs, ...o }, onEvents);
    this.watches.add(w);
    void w.done.then(() => this.watches.delete(w));
    return w;
  }

  /** Stops every keeper and watch this client started (leases are left to expire). */
  close(): void {
    for (const k of this.keepers) k.stop();
    for (const w of this.watches) w.cancel();
  }
}

function timed(o: Timed): { timeoutMs?: number; signal?: AbortSignal } {
  return { timeoutMs: o.timeoutMs, signal: o.signal };
}
