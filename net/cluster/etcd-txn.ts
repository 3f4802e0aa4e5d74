// etcd transactions: "if every compare holds, do `success`, else do `failure`", applied
// atomically at one revision. This is how a controller or leader changes shared state only if
// nothing changed since it read it: compare the key's mod_revision (or version, or that it does
// not exist: create_revision = 0) with what it read, and a deposed writer's transaction fails.
//
// Wire shape (etcdserverpb.TxnRequest over POST /v3/kv/txn):
//   {"compare":[{"key","range_end"?,"target":"VERSION|CREATE|MOD|VALUE|LEASE",
//                "result":"EQUAL|GREATER|LESS|NOT_EQUAL", "<version|create_revision|mod_revision|value|lease>"}],
//    "success":[{"request_put"|"request_delete_range"|"request_range": {...}}], "failure":[...]}
// answers {"header","succeeded"?,"responses":[{"response_put"|"response_delete_range"|"response_range": {...}}]}
// with `succeeded` absent when false (a zero value), and the responses of the branch that ran.
import {
  type Bytes,
  decodeDelete,
  decodePut,
  decodeRange,
  type DeleteOptions,
  type DeleteResult,
  deleteRequest,
  headerRevision,
  type LeaseId,
  type PutOptions,
  type PutResult,
  putRequest,
  type RangeOptions,
  type RangeResult,
  rangeRequest,
  toBase64,
} from "./etcd-wire.ts";

export type CompareOp = "=" | "!=" | ">" | "<";

const RESULT: Record<CompareOp, string> = { "=": "EQUAL", "!=": "NOT_EQUAL", ">": "GREATER", "<": "LESS" };

/** One condition of a transaction, built with `compare.*`. */
export interface Compare {
  readonly wire: Record<string, unknown>;
}

function cmp(key: Bytes, target: string, op: CompareOp, field: string, value: string, rangeEnd?: Bytes): Compare {
  return {
    wire: { key: toBase64(key), range_end: rangeEnd === undefined ? undefined : toBase64(rangeEnd), target, result: RESULT[op], [field]: value },
  };
}

function int64(n: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`etcd compare: ${what} must be a non-negative integer, got ${n}`);
  return String(n);
}

/**
 * Conditions on a key. A key that does not exist has version, create_revision and mod_revision 0,
 * value empty and lease "0": `compare.createRevision(k, "=", 0)` is "k does not exist".
 */
export const compare = {
  value: (key: Bytes, op: CompareOp, value: Bytes): Compare => cmp(key, "VALUE", op, "value", toBase64(value)),
  version: (key: Bytes, op: CompareOp, version: number): Compare => cmp(key, "VERSION", op, "version", int64(version, "version")),
  createRevision: (key: Bytes, op: CompareOp, revision: number): Compare => cmp(key, "CREATE", op, "create_revision", int64(revision, "create_revision")),
  modRevision: (key: Bytes, op: CompareOp, revision: number): Compare => cmp(key, "MOD", op, "mod_revision", int64(revision, "mod_revision")),
  lease: (key: Bytes, op: CompareOp, lease: LeaseId): Compare => cmp(key, "LEASE", op, "lease", lease),
  /** The key does not exist. */
  absent: (key: Bytes): Compare => cmp(key, "CREATE", "=", "create_revision", "0"),
};

/** One request of a transaction's branch, built with `op.*`. */
export type TxnOp =
  | { readonly type: "put"; readonly wire: Record<string, unknown> }
  | { readonly type: "delete"; readonly wire: Record<string, unknown> }
  | { readonly type: "range"; readonly wire: Record<string, unknown> };

export const op = {
  put: (key: Bytes, value: Bytes, o?: PutOptions): TxnOp => ({ type: "put", wire: { request_put: putRequest(key, value, o) } }),
  delete: (key: Bytes, o?: DeleteOptions): TxnOp => ({ type: "delete", wire: { request_delete_range: deleteRequest(key, o) } }),
  range: (key: Bytes, o?: RangeOptions): TxnOp => ({ type: "range", wire: { request_range: rangeRequest(key, o) } }),
};

export interface TxnRequest {
  compare?: Compare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

export type TxnResponse = ({ type: "put" } & PutResult) | ({ type: "delete" } & DeleteResult) | ({ type: "range" } & RangeResult);

export interface TxnResult {
  /** Whether every compare held (and `success` ran); otherwise `failure` ran. */
  succeeded: boolean;
  /** The answers of the branch that ran, in its order. */
  responses: TxnResponse[];
  /** The store's revision after the transaction (the revision of its writes, if any). */
  revision: number;
}

export function txnRequest(t: TxnRequest): Record<string, unknown> {
  return {
    compare: (t.compare ?? []).map((c) => c.wire),
    success: (t.success ?? []).map((o) => o.wire),
    failure: (t.failure ?? []).map((o) => o.wire),
  };
}

/** Whether a transaction only reads (safe to send again to another endpoint). */
export function txnIsReadOnly(t: TxnRequest): boolean {
  return [...(t.success ?? []), ...(t.failure ?? [])].every((o) => o.type === "range");
}

function decodeResponseOp(j: Record<string, unknown>): TxnResponse {
  // A nested response's header carries only the revision; decode* read just that.
  if (j.response_put) return { type: "put", ...decodePut(j.response_put as Record<string, unknown>) };
  if (j.response_delete_range) return { type: "delete", ...decodeDelete(j.response_delete_range as Record<string, unknown>) };
  if (j.response_range) return { type: "range", ...decodeRange(j.response_range as Record<string, unknown>) };
  throw new TypeError(`etcd gateway: unknown txn response ${JSON.stringify(Object.keys(j))}`);
}

export function decodeTxn(j: Record<string, unknown>): TxnResult {
  const responses = Array.isArray(j.responses) ? j.responses.map((r) => decodeResponseOp(r as Record<string, unknown>)) : [];
  return { succeeded: j.succeeded === true, responses, revision: headerRevision(j) };
}
