// HTTP to etcd's v3 JSON gateway, over several endpoints (`--cluster URL,URL,…`), with a timeout
// on every call, failover, and errors that name the endpoint.
//
// Failover. The transport talks to one endpoint at a time (the last that worked) and moves to the
// next when that one fails. Whether the call itself is then sent again depends on what may have
// happened to it:
//
//   failure                                          reads (retrySafe)   writes
//   could not connect (refused, unreachable)         next endpoint       next endpoint: never sent
//   timeout, connection broken after sending         next endpoint       throw, indeterminate
//   gRPC UNAVAILABLE (no leader, leader changed)     next endpoint       throw, indeterminate
//   any other answer from etcd                       throw               throw
//
// "Indeterminate" (`EtcdError.indeterminate`) means the write may or may not have been applied:
// the caller must read before it decides (a compare-and-swap sent twice would fail the second time
// and wrongly look like a lost race). Every endpoint failing to connect is UNAVAILABLE.
import { ETCD_CALL_TIMEOUT_MS_DEFAULT, STREAM_LINE_BYTES_MAX } from "./etcd-limits.ts";

export type EtcdErrorCode =
  | "UNAVAILABLE" // no endpoint could be reached, or etcd had no leader
  | "TIMEOUT" // no answer within the call's timeout
  | "LEASE_NOT_FOUND" // the lease expired or was revoked (or never existed)
  | "LEASE_LOST" // a lease keeper gave up: keepalives stopped being acknowledged, or the lease is gone
  | "COMPACTED" // a read or watch at a revision etcd has compacted away
  | "FUTURE_REVISION" // a read at a revision etcd has not reached
  | "INVALID_ARGUMENT" // etcd refused the request's shape
  | "ABORTED" // the caller's signal aborted the call
  | "BAD_RESPONSE" // an answer that is not the gateway's JSON
  | "SERVER"; // any other gRPC error etcd answered

export class EtcdError extends Error {
  override name = "EtcdError";
  constructor(
    readonly code: EtcdErrorCode,
    message: string,
    /** The endpoint that failed (the last one tried), or null when none was involved. */
    readonly endpoint: string | null,
    readonly details: {
      /** The gRPC status code etcd answered with, if it answered. */
      grpcCode?: number;
      /** A write that may or may not have been applied. */
      indeterminate?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(endpoint ? `etcd ${endpoint}: ${message}` : `etcd: ${message}`, { cause: details.cause });
  }

  get indeterminate(): boolean {
    return this.details.indeterminate === true;
  }
}

/** Error codes of a fetch that never reached the server: safe to send elsewhere. */
const NOT_SENT = new Set(["ECONNREFUSED", "ConnectionRefused", "FailedToOpenSocket", "ENETUNREACH", "EHOSTUNREACH", "ENOTFOUND", "EADDRNOTAVAIL", "EAI_AGAIN"]);

export interface CallOptions {
  timeoutMs?: number;
  /** The call may be sent again after a timeout or broken connection (reads, keepalives). */
  retrySafe?: boolean;
  /** The answer is a stream (keepalive); its first object is the answer. */
  streamed?: boolean;
  signal?: AbortSignal;
}

export interface Stream {
  endpoint: string;
  /** The stream's objects in order; ends when the server closes; throws on a broken connection. */
  messages: AsyncGenerator<Record<string, unknown>>;
}

/** "http://a:2379,http://b:2379" → the endpoints, without trailing slashes; a bare HOST:PORT gets http://. */
export function parseEndpoints(list: string | string[]): string[] {
  const parts = (Array.isArray(list) ? list : list.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new EtcdError("INVALID_ARGUMENT", "no endpoints given", null);
  return parts.map((p) => {
    const url = new URL(/^[a-z]+:\/\//i.test(p) ? p : `http://${p}`);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new EtcdError("INVALID_ARGUMENT", `endpoint ${p}: only http and https`, null);
    return url.origin;
  });
}

export class EtcdTransport {
  readonly endpoints: string[];
  private current = 0;

  constructor(
    endpoints: string | string[],
    readonly timeoutMs = ETCD_CALL_TIMEOUT_MS_DEFAULT,
  ) {
    this.endpoints = parseEndpoints(endpoints);
  }

  /** The endpoint the next call goes to first. */
  get endpoint(): string {
    return this.endpoints[this.current]!;
  }

  private failedOver(from: number): void {
    if (this.current === from) this.current = (from + 1) % this.endpoints.length;
  }

  /** POSTs `body` to `path`, failing over as the table above says; the answer's JSON. */
  async call(path: string, body: unknown, o: CallOptions = {}): Promise<Record<string, unknown>> {
    const failures: string[] = [];
    let last: EtcdError | null = null;
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const index = this.current;
      const endpoint = this.endpoints[index]!;
      try {
        return await this.once(endpoint, path, body, o);
      } catch (err) {
        const e = this.asEtcdError(err, endpoint, path, o);
        if (e.code === "ABORTED") throw e;
        const moveOn = e.code === "UNAVAILABLE" || e.code === "TIMEOUT";
        if (!moveOn) throw e;
        this.failedOver(index);
        if (e.indeterminate) throw e;
        failures.push(`${endpoint}: ${e.message.slice(`etcd ${endpoint}: `.length)}`);
        last = e;
      }
    }
    if (this.endpoints.length === 1 && last) throw last;
    throw new EtcdError(last?.code ?? "UNAVAILABLE", `${path}: no endpoint answered (${failures.join("; ")})`, last?.endpoint ?? null, { cause: last });
  }

  private async once(endpoint: string, path: string, body: unknown, o: CallOptions): Promise<Record<string, unknown>> {
    const signal = withTimeout(o.timeoutMs ?? this.timeoutMs, o.signal);
    const res = await fetch(endpoint + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal });
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(o.streamed ? (text.split("\n")[0] ?? "") : text);
    } catch {
      throw new EtcdError("BAD_RESPONSE", `${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, endpoint);
    }
    if (o.streamed && json.result === undefined && json.error === undefined) throw new EtcdError("BAD_RESPONSE", `${path}: no result: ${text.slice(0, 200)}`, endpoint);
    // A unary error is the whole body ({"error": "text", "message", "code"}); a stream's is an object under "error".
    const nested = typeof json.error === "object" && json.error !== null ? (json.error as Record<string, unknown>) : undefined;
    const error = !res.ok ? (nested ?? json) : o.streamed ? nested : undefined;
    if (error) throw grpcError(error, endpoint, path, !o.retrySafe);
    return o.streamed ? (json.result as Record<string, unknown>) : json;
  }

  /** An error of any kind from one attempt as an EtcdError, with `indeterminate` set for writes. */
  private asEtcdError(err: unknown, endpoint: string, path: string, o: CallOptions): EtcdError {
    if (err instanceof EtcdError) return err;
    const name = (err as { name?: string })?.name;
    const code = (err as { code?: string })?.code;
    const message = (err as Error)?.message ?? String(err);
    if (o.signal?.aborted) return new EtcdError("ABORTED", `${path}: aborted`, endpoint, { cause: err });
    if (name === "TimeoutError") {
      return new EtcdError("TIMEOUT", `${path}: no answer within ${o.timeoutMs ?? this.timeoutMs} ms`, endpoint, { indeterminate: !o.retrySafe, cause: err });
    }
    const sent = !(code !== undefined && NOT_SENT.has(code));
    return new EtcdError("UNAVAILABLE", `${path}: ${code ?? name ?? "error"}: ${message}`, endpoint, { indeterminate: sent && !o.retrySafe, cause: err });
  }

  /**
   * Opens a streaming call (watch) on the current endpoint, moving to the next ones when the
   * connection fails. `timeoutMs` bounds the wait for the answer's headers; the stream then lives
   * until `signal` aborts or the connection breaks.
   */
  async stream(path: string, body: unknown, o: { timeoutMs?: number; signal: AbortSignal }): Promise<Stream> {
    let last: EtcdError | null = null;
    for (let attempt = 0; attempt < this.endpoints.length; attempt++) {
      const index = this.current;
      const endpoint = this.endpoints[index]!;
      const connect = new AbortController();
      const timer = setTimeout(() => connect.abort(new DOMException("connect timeout", "TimeoutError")), o.timeoutMs ?? this.timeoutMs);
      try {
        const res = await fetch(endpoint + path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal: AbortSignal.any([o.signal, connect.signal]) });
        clearTimeout(timer);
        if (!res.ok || !res.body) {
          const text = await res.text();
          let j: Record<string, unknown> = {};
          try {
            j = JSON.parse(text);
          } catch {}
          throw j.code !== undefined ? grpcError(j, endpoint, path, false) : new EtcdError("BAD_RESPONSE", `${path}: HTTP ${res.status}: ${text.slice(0, 200)}`, endpoint);
        }
        return { endpoint, messages: ndjson(res.body, endpoint, path) };
      } catch (err) {
        clearTimeout(timer);
        if (o.signal.aborted) throw new EtcdError("ABORTED", `${path}: aborted`, endpoint, { cause: err });
        const e = err instanceof EtcdError ? err : this.asEtcdError(connect.signal.aborted ? connect.signal.reason : err, endpoint, path, { retrySafe: true, timeoutMs: o.timeoutMs });
        if (e.code !== "UNAVAILABLE" && e.code !== "TIMEOUT") throw e;
        this.failedOver(index);
        last = e;
      }
    }
    throw last!;
  }
}

/** The caller's signal and a timeout as one signal. */
function withTimeout(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([timeout, signal]) : timeout;
}

/** A gateway error object ({"error","message","code"}) as an EtcdError. */
export function grpcError(j: Record<string, unknown>, endpoint: string, path: string, write: boolean): EtcdError {
  // Unary errors carry `code`; errors inside a stream carry `grpc_code` (and `http_code`).
  const raw = j.code ?? j.grpc_code;
  const grpcCode = typeof raw === "number" ? raw : Number(raw);
  const message = String(j.message ?? j.error ?? "unknown error");
  const text = `${path}: ${message} (gRPC ${grpcCode})`;
  if (grpcCode === 5 && /lease not found/.test(message)) return new EtcdError("LEASE_NOT_FOUND", text, endpoint, { grpcCode });
  if (grpcCode === 11 && /compacted/.test(message)) return new EtcdError("COMPACTED", text, endpoint, { grpcCode });
  if (grpcCode === 11 && /future rev/.test(message)) return new EtcdError("FUTURE_REVISION", text, endpoint, { grpcCode });
  if (grpcCode === 3) return new EtcdError("INVALID_ARGUMENT", text, endpoint, { grpcCode });
  // "etcdserver: request timed out": the proposal may still commit.
  if (grpcCode === 4) return new EtcdError("TIMEOUT", text, endpoint, { grpcCode, indeterminate: write });
  if (grpcCode === 14) return new EtcdError("UNAVAILABLE", text, endpoint, { grpcCode, indeterminate: write });
  return new EtcdError("SERVER", text, endpoint, { grpcCode });
}

/** A streaming answer's newline-separated JSON objects. */
async function* ndjson(body: ReadableStream<Uint8Array>, endpoint: string, path: string): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = body.getReader();
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new EtcdError("UNAVAILABLE", `${path}: stream broken: ${(err as Error)?.message ?? err}`, endpoint, { cause: err });
      }
      if (chunk.done) break;
      buffered += decoder.decode(chunk.value, { stream: true });
      if (buffered.length > STREAM_LINE_BYTES_MAX) throw new EtcdError("BAD_RESPONSE", `${path}: a stream line over ${STREAM_LINE_BYTES_MAX} bytes`, endpoint);
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === "") continue;
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line);
        } catch {
          throw new EtcdError("BAD_RESPONSE", `${path}: stream line is not JSON: ${line.slice(0, 200)}`, endpoint);
        }
        yield message;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
