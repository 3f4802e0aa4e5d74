// One TCP connection to one broker: frames out, frames in, responses matched to requests.
//
// Order: Kafka answers the requests of one connection in the order they were sent, so pending
// requests sit in a FIFO and each response must carry the correlation id at its head; anything
// else means the stream is out of step and the connection is failed (every pending request
// rejects with ConnectionError). A Produce with acks=0 gets no response at all (kafka-protocol.md
// §1.3b): it is never queued and resolves once its bytes are handed to the socket.
//
// Writes: Bun's socket.write() writes what the kernel takes and returns that count without
// buffering the rest, so the remainder waits in `outbox` until the `drain` callback. `request()`
// never waits for the outbox: callers bound what they have in flight themselves (the producer
// keeps at most one batch per partition in flight).
//
// Allocation: at 5,000 one-record requests a second, garbage per request is what sets how often
// the young generation is collected (a pause of a millisecond or more, visible in bench's p99).
// So one Writer per connection encodes every request (reset, not reallocated); the request header
// is encoded once per API and version and copied, with only the correlation id patched in (header.ts:
// key, version and id are the first 8 bytes in every header version); a response that arrives
// alone in one read is decoded in place (FrameSplitter passes such a chunk on whole); a pending request
// is one small object holding its API and version instead of closures and a description string;
// and hot callers (producer, fetcher) pass a `ResponseHandler` instead of taking a Promise.
//
// Opening negotiates versions first (ApiVersions v3, then the broker's max for key 18 after
// UNSUPPORTED_VERSION, as librdkafka does), so `version(api)` works from the first request on;
// with `security`, TLS runs under the socket and a SASL login follows the versions
// (net/client/security.ts).
//
// Timeouts (issue #22: a broker that accepts and never answers hung the CLI for minutes): a connect
// (with TLS, its handshake included) fails after `connectTimeoutMs`, and a request unanswered
// `requestTimeoutMs` after it was sent, plus the time the request itself asks the broker to wait (a
// Fetch's maxWaitMs, a Produce's or CreateTopics' timeoutMs, a JoinGroup's rebalance timeout: the
// Java client adds those too), fails the connection with a TimeoutError naming the broker. Answers
// come in order, so only the oldest pending request's deadline is watched. The SASL login's
// requests are requests like any other.
import type { Socket } from "bun";
import { LentBuffers, RECYCLE_MIN_BYTES } from "../../core/lent-buffers.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { FrameSplitter } from "../protocol/framing.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../protocol/header.ts";
import { ApiVersions, decodeApiVersionsResponse, type ApiVersionsResponse } from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { CONNECT_TIMEOUT_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT } from "./constants.ts";
import { AuthenticationError, ConnectionError, kafkaError, TimeoutError } from "./errors.ts";
import { type ClientSecurity, saslLogin } from "./security.ts";
import { pickVersion, type VersionRange } from "./versions.ts";

export const CLIENT_SOFTWARE_NAME = "streamctl";
/** The watchdog looks at the oldest request this often (at most; a tenth of the timeout when shorter). */
const WATCHDOG_INTERVAL_MS = 1_000;
/** Answers up to this size are gathered in one buffer of their declared size (framing.ts). */
const RESPONSE_WHOLE_BYTES = 64 * 1024 * 1024;
/** Spare buffers kept: one is read by the caller while the next answer fills another. */
const SPARES_MAX = 2;
/** Where the correlation id sits in a framed request: after the length, the API key and version. */
const CORRELATION_ID_AT = 4 + 2 + 2;

/** Receives one request's decoded response or its failure (called from the socket callback). */
export interface ResponseHandler<Res> {
  onResponse(res: Res): void;
  onError(err: Error): void;
}

interface Pending {
  correlationId: number;
  /** performance.now() after which the request counts as unanswered. */
  deadline: number;
  api: ApiDescriptor<any, any, any, any>;
  version: number;
  /** Null: header then `api.decodeResponse`. */
  decode: ((r: Reader) => unknown) | null;
  handler: ResponseHandler<unknown>;
}

/** A Promise's two ends as a ResponseHandler (for `request()`). */
class Settler<Res> implements ResponseHandler<Res> {
  constructor(
    readonly onResponse: (res: Res) => void,
    readonly onError: (err: Error) => void,
  ) {}
}

function what(p: Pending): string {
  return `${p.api.name} v${p.version}`;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  clientVersion: string;
  /** Largest response frame accepted (fetch responses are bounded by our own maxBytes). */
  maxResponseBytes?: number;
  /** How long a connect may take (default CONNECT_TIMEOUT_MS_DEFAULT). */
  connectTimeoutMs?: number;
  /** How long a request may go unanswered beyond what it asks the broker to wait (default REQUEST_TIMEOUT_MS_DEFAULT). */
  requestTimeoutMs?: number;
  /** TLS and a SASL login (default: neither). */
  security?: ClientSecurity;
}

export class Connection {
  readonly address: string;
  /** API key → the broker's advertised range. */
  readonly brokerVersions = new Map<number, VersionRange>();
  private socket: Socket<undefined> | null = null;
  private readonly splitter: FrameSplitter;
  private readonly pending: Pending[] = [];
  /** Frames of the chunk being read (refilled per chunk). */
  private readonly frames: Uint8Array[] = [];
  private pendingHead = 0;
  private outbox: Uint8Array[] = [];
  /** Encodes every request of this connection (reset between them). */
  private readonly writer = new Writer(1024);
  /** Request headers by API key and version, encoded with correlation id 0. */
  private readonly headers = new Map<number, Uint8Array>();
  private nextCorrelationId = 1;
  private failure: Error | null = null;
  private readonly picked = new Map<number, number>();
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private closedResolve!: () => void;
  /** Resolves when the socket is gone, for whatever reason. */
  readonly closed = new Promise<void>((r) => (this.closedResolve = r));

  private constructor(private readonly opts: ConnectionOptions) {
    this.address = `${opts.host}:${opts.port}`;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.splitter = new FrameSplitter(opts.maxResponseBytes ?? 256 * 1024 * 1024, { wholeBytes: RESPONSE_WHOLE_BYTES, take: (n) => this.takeBuffer(n) });
  }

  /** Connects and negotiates API versions. Rejects with ConnectionError if the broker is unreachable. */
  static async open(opts: ConnectionOptions): Promise<Connection> {
    const conn = new Connection(opts);
    await conn.connect();
    try {
      await conn.negotiate();
      if (opts.security?.sasl) await saslLogin(conn, opts.security.sasl);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  get isOpen(): boolean {
    return this.failure === null && this.socket !== null;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  /** The version to use for `api` with this broker (throws UnsupportedApiError if none). */
  version(api: ApiDescriptor<any, any, any, any>): number {
    let v = this.picked.get(api.key);
    if (v === undefined) {
      v = pickVersion(api.key, api.name, this.brokerVersions);
      this.picked.set(api.key, v);
    }
    return v;
  }

  supports(api: ApiDescriptor<any, any, any, any>): boolean {
    try {
      this.version(api);
      return true;
    } catch {
      return false;
    }
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const tls = this.opts.security?.tls;
      /** The socket once TCP is up (with TLS, before the handshake). */
      let opened: Socket<undefined> | null = null;
      const timer = setTimeout(() => {
        settled = true;
        reject(new TimeoutError(this.address, `broker ${this.address} did not accept a connection within ${this.connectTimeoutMs} ms`));
        this.fail(new ConnectionError(`connect to ${this.address}: timed out`));
        opened?.end(); // a TLS handshake still under way
      }, this.connectTimeoutMs);
      const ready = (s: Socket<undefined>) => {
        clearTimeout(timer);
        if (settled) {
          s.end(); // too late: the connect already timed out
          return;
        }
        this.socket = s;
        this.watchdog = setInterval(() => this.checkTimeouts(), Math.max(50, Math.min(WATCHDOG_INTERVAL_MS, this.requestTimeoutMs / 10)));
        this.watchdog.unref?.();
        resolve();
      };
      Bun.connect({
        hostname: this.opts.host,
        port: this.opts.port,
        ...(tls ? { tls: { ...tls, serverName: this.opts.host } } : {}),
        socket: {
          // With TLS the connection is ready once the handshake has verified the broker.
          open: (s) => {
            opened = s;
            if (!tls) ready(s);
          },
          handshake: (s, success, authorizationError) => {
            if (success) return ready(s);
            clearTimeout(timer);
            s.end();
            reject(new AuthenticationError(`TLS to ${this.address}: ${authorizationError?.message ?? "the broker's certificate was not accepted"}`));
          },
          data: (_s, chunk) => this.onData(chunk),
          drain: () => this.flushOutbox(),
          close: () => {
            // Closed before it was ready (a TLS handshake the broker refused): the open fails now.
            clearTimeout(timer);
            reject(new ConnectionError(`connection to ${this.address} closed${tls ? " during the TLS handshake" : ""}`));
            this.fail(new ConnectionError(`connection to ${this.address} closed`));
          },
          error: (_s, err) => {
            clearTimeout(timer);
            reject(new ConnectionError(`connection to ${this.address}: ${err.message}`));
            this.fail(new ConnectionError(`connection to ${this.address}: ${err.message}`));
          },
          connectError: (_s, err) => {
            clearTimeout(timer);
            reject(new ConnectionError(`connect to ${this.address}: ${err.message}`));
          },
        },
      }).catch((err: Error) => {
        clearTimeout(timer);
        reject(new ConnectionError(`connect to ${this.address}: ${err.message}`));
      });
    });
  }

  private async negotiate(): Promise<void> {
    let version = 3;
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await new Promise<ApiVersionsResponse>((resolve, reject) => {
        const v = version;
        const body = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: this.opts.clientVersion };
        this.send(ApiVersions, v, body, new Settler(resolve, reject) as ResponseHandler<unknown>, (r) => decodeApiVersionsTolerant(r, v));
      });
      if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersions.key);
        const next = theirs ? Math.min(version - 1, theirs.maxVersion) : 0;
        if (next < 0 || next >= version) break;
        version = next;
        continue;
      }
      if (res.errorCode !== 0) throw kafkaError(res.errorCode, `ApiVersions v${version} to ${this.address}`);
      for (const k of res.apiKeys) this.brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      return;
    }
    throw new ConnectionError(`ApiVersions to ${this.address}: no version accepted`);
  }

  /** Sends a request and resolves with the decoded response. */
  request<Req, Res>(api: ApiDescriptor<any, Res, Req, any>, body: Req, version = this.version(api)): Promise<Res> {
    return new Promise<Res>((resolve, reject) => this.send(api, version, body, new Settler(resolve, reject) as ResponseHandler<unknown>, null));
  }

  /**
   * Sends a request; `handler` gets the decoded response or the failure, never synchronously from
   * inside this call. No Promise or closure per request: for callers that send thousands a second.
   */
  requestWith<Req, Res>(api: ApiDescriptor<any, Res, Req, any>, body: Req, handler: ResponseHandler<Res>, version = this.version(api)): void {
    this.send(api, version, body, handler as ResponseHandler<unknown>, null);
  }

  /** Sends a request that the broker will not answer (Produce with acks=0). */
  sendOneWay<Req>(api: ApiDescriptor<any, any, Req, any>, body: Req, version = this.version(api)): void {
    if (this.failure) throw this.failure;
    const correlationId = this.nextCorrelationId++;
    this.write(this.frame(api, version, correlationId, body));
  }

  private send(api: ApiDescriptor<any, any, any, any>, version: number, body: unknown, handler: ResponseHandler<unknown>, decode: ((r: Reader) => unknown) | null): void {
    const failure = this.failure;
    if (failure) {
      queueMicrotask(() => handler.onError(failure));
      return;
    }
    const correlationId = this.nextCorrelationId++;
    const bytes = this.frame(api, version, correlationId, body);
    this.pending.push({ correlationId, deadline: performance.now() + this.requestTimeoutMs + waitAskedMs(api.key, body), api, version, decode, handler });
    this.write(bytes);
  }

  /** The request's frame: encoded in the connection's writer, returned as one exact-size copy
   * (the socket may keep part of it in the outbox). */
  private frame(api: ApiDescriptor<any, any, any, any>, version: number, correlationId: number, body: unknown): Uint8Array {
    const w = this.writer;
    w.reset();
    const mark = w.reserveInt32();
    w.raw(this.header(api, version));
    w.patchInt32(mark + CORRELATION_ID_AT, correlationId);
    api.encodeRequest(w, version, body);
    w.patchInt32(mark, w.length - mark - 4);
    return w.finish();
  }

  private header(api: ApiDescriptor<any, any, any, any>, version: number): Uint8Array {
    const key = api.key * 0x10000 + version;
    let h = this.headers.get(key);
    if (h === undefined) {
      const w = new Writer(64);
      encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId: 0, clientId: this.opts.clientId });
      h = w.finish();
      this.headers.set(key, h);
    }
    return h;
  }

  private write(bytes: Uint8Array): void {
    if (this.outbox.length > 0) {
      this.outbox.push(bytes);
      return;
    }
    const n = this.socket!.write(bytes);
    if (n < bytes.length) this.outbox.push(bytes.subarray(Math.max(0, n)));
  }

  private flushOutbox(): void {
    while (this.outbox.length > 0 && this.socket) {
      const head = this.outbox[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.outbox[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.outbox.shift();
    }
  }

  /**
   * Buffers for big answers (core/lent-buffers.ts). Views under 64 KiB are not looked at: asking
   * a view of a small answer (a view of Bun's chunk) for its buffer would give that chunk an
   * ArrayBuffer of its own (core/bytes.ts), at every poll.
   */
  private readonly buffers = new LentBuffers(SPARES_MAX, RECYCLE_MIN_BYTES / 4);

  /** A buffer of exactly `n` bytes to gather an answer in: a lent one if the answer is big. */
  private takeBuffer(n: number): Uint8Array {
    return n < RECYCLE_MIN_BYTES ? new Uint8Array(n) : this.buffers.lend(n);
  }

  /**
   * Hands back the buffer of the answer `view` lies in, once nothing reads that answer any more:
   * the next big answer is gathered into it instead of fresh memory. A view of anything else
   * (a small answer, one already handed back) is ignored. The Fetcher calls it for the previous
   * answer at each poll(); its callers keep no record past that (consumer.ts).
   */
  recycle(view: Uint8Array): void {
    this.buffers.giveBack(view);
  }

  private onData(chunk: Uint8Array): void {
    // The splitter hands a chunk that is one whole frame (most responses) over as it is, and fills
    // the connection's own queue: no array or view per response.
    const frames = this.splitter.push(chunk, this.frames);
    try {
      if (this.splitter.error) return this.fail(new ConnectionError(`from ${this.address}: ${this.splitter.error}`));
      for (let i = 0; i < frames.length; i++) if (!this.onFrame(frames[i]!)) return;
    } finally {
      frames.length = 0;
    }
  }

  /** Matches one response frame to its request and hands it over; false once the connection failed. */
  private onFrame(frame: Uint8Array): boolean {
    const p = this.pending[this.pendingHead];
    if (p === undefined) {
      this.fail(new ConnectionError(`from ${this.address}: a response nobody asked for`));
      return false;
    }
    this.pending[this.pendingHead++] = undefined as unknown as Pending;
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    const r = new Reader(frame, 4);
    // The correlation id leads every response header version; the request's decoder reads the
    // whole header (and its tag section, when flexible) again.
    const correlationId = r.int32();
    r.pos = 4;
    if (correlationId !== p.correlationId) {
      deliverError(p, new ConnectionError(`${what(p)} to ${this.address}: correlation id ${correlationId}, expected ${p.correlationId}`));
      this.fail(new ConnectionError(`${this.address}: responses out of step`));
      return false;
    }
    let value: unknown;
    try {
      if (p.decode !== null) value = p.decode(r);
      else {
        decodeResponseHeader(r, p.api.key, p.version);
        value = p.api.decodeResponse(r, p.version);
      }
    } catch (err) {
      deliverError(p, err as Error);
      return true;
    }
    if (r.error) {
      deliverError(p, new ConnectionError(`${what(p)} response from ${this.address} did not decode: ${r.error}`));
      return true;
    }
    try {
      p.handler.onResponse(value);
    } catch (err) {
      rethrowLater(err);
    }
    return true;
  }

  /** A broker that stops answering fails the connection (its requests are retried elsewhere). */
  private checkTimeouts(): void {
    const head = this.pending[this.pendingHead];
    if (head !== undefined && performance.now() > head.deadline) {
      this.fail(new TimeoutError(this.address, `broker ${this.address} did not answer ${what(head)} within ${this.requestTimeoutMs} ms`));
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    for (let i = this.pendingHead; i < this.pending.length; i++) deliverError(this.pending[i]!, err);
    this.pending.length = 0;
    this.pendingHead = 0;
    this.outbox = [];
    this.socket?.end();
    this.closedResolve();
  }

  close(): void {
    this.fail(new ConnectionError(`connection to ${this.address} closed by the client`));
  }
}

/** How long a request asks the broker to hold it before answering (added to the request timeout). */
function waitAskedMs(apiKey: number, body: unknown): number {
  const b = body as { maxWaitMs?: number; timeoutMs?: number; rebalanceTimeoutMs?: number; sessionTimeoutMs?: number };
  switch (apiKey) {
    case 0: // Produce: acks wait up to timeoutMs
    case 19: // CreateTopics
    case 37: // CreatePartitions
      return Math.max(0, b.timeoutMs ?? 0);
    case 1: // Fetch long-poll
      return Math.max(0, b.maxWaitMs ?? 0);
    case 11: // JoinGroup waits for the rebalance (v0: the session timeout)
      return Math.max(0, b.rebalanceTimeoutMs ?? b.sessionTimeoutMs ?? 0);
    default:
      return 0;
  }
}

/** Failures reach the handler on a later microtask, as a rejection would: `fail()` may run inside
 * a socket write, and a handler that sends again must not find itself inside its own call. */
function deliverError(p: Pending, err: Error): void {
  queueMicrotask(() => p.handler.onError(err));
}

/** A handler that throws is a bug in its caller: surface it as an uncaught error, as a rejected
 * `request()` continuation would, without leaving the frames behind it unread. */
function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/** ApiVersions response decoding that copes with a broker answering in v0 layout after an
 * unsupported version (Kafka does, kafka-protocol.md §1.2): the error code comes first in every
 * layout, so read it, and on UNSUPPORTED_VERSION read the rest as v0. */
function decodeApiVersionsTolerant(r: Reader, version: number): ApiVersionsResponse {
  decodeResponseHeader(r, ApiVersions.key, version);
  const start = r.pos;
  const errorCode = r.int16();
  r.pos = start;
  return decodeApiVersionsResponse(r, errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : version);
}
