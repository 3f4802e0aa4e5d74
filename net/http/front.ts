// The HTTP door's front (issue #18 item 5): what faces the network is this relay, not Bun.serve,
// so that every answer is the door's JSON error body, Bun's own included. Bun's HTTP parser answers
// a malformed request with a bare `400 Bad Request`, oversized headers with a bare 431, a body over
// its cap with a bare 413, and closes the connection without a word on a method it does not know
// (FOO). The front reads each request head itself, refuses what Bun would refuse (and a little
// more) with a JSON error, and relays the rest, byte for byte, to Bun.serve on a unix socket in a
// private (0700) directory.
//
//   client ──TCP/TLS──▶ front: parse + check the head ─▶ unix socket ─▶ Bun.serve (the door)
//
// | what the head has                                 | answer                                  |
// |---------------------------------------------------|-----------------------------------------|
// | no CRLF CRLF within HEAD_BYTES_MAX                 | 431 REQUEST_HEADERS_TOO_LARGE           |
// | a request line that is not METHOD /target HTTP/1.x | 400 BAD_REQUEST                         |
// | a method that is a token but not one we serve      | 405 METHOD_NOT_ALLOWED with Allow       |
// | a target longer than TARGET_BYTES_MAX              | 414 URI_TOO_LONG                        |
// | a header line that is not name: value, a control  | 400 BAD_REQUEST                         |
// |   byte, no Host or two, a bad or second           |                                         |
// |   Content-Length, Transfer-Encoding other than    |                                         |
// |   chunked, or both framings                       |                                         |
// | Content-Length over SERVER_BODY_BYTES_MAX, or a    | 413 PAYLOAD_TOO_LARGE                   |
// |   chunked body growing past it                    |                                         |
// | a malformed chunked body                          | 400 BAD_REQUEST                         |
//
// | a head not whole within headTimeoutMs of its      | 408 REQUEST_TIMEOUT                     |
// |   first byte (the first head: of connecting)      |                                         |
// | a body not whole within bodyTimeoutMs of its head | 408 REQUEST_TIMEOUT (if Bun has not     |
// |                                                   |   begun its answer; else just closed)   |
// | a connection over maxConnections, or over the     | 503 TOO_MANY_CONNECTIONS, at once,      |
// |   client address's share (addresses)              |   before anything is read               |
//
// Each error is answered with Connection: close and the connection ends once it is written. A
// request relayed gets Bun's answer; the front follows the response's framing (Content-Length,
// chunked, interim 1xx, until-close) so that it knows when it ends: requests on a connection are
// relayed one at a time (a pipelined one waits, read but unparsed, with reading paused past a
// bound), and an error can always be written between two responses. The client's address travels
// in a header only the front can set (a per-process secret proves it; a client's own copies of
// those headers are dropped).
//
// Slow clients (slowloris): the idle timer (IDLE_SECONDS) is reset by every byte, so a head sent a
// byte at a time would hold its connection for ever; the head deadline bounds the whole head
// instead, as the Kafka door bounds a connection's first request (serve --first-request-timeout-ms).
// A body sent a byte at a time would do the same (Bun's own idle timer on the relayed connection
// is reset by every byte we relay): the body deadline (serve --request-body-timeout-ms, 30 s from
// the end of the head) bounds the whole body. Meanwhile the body holds no more memory than it
// would anyway: what arrives is relayed as it comes (reading pauses past QUEUED_BYTES_HIGH not yet
// taken by Bun), and the route reading it stops at its cap.
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { REQUEST_BODY_TIMEOUT_MS_DEFAULT } from "../../core/limits.ts";

export const HEAD_BYTES_MAX = 12 * 1024;
export const TARGET_BYTES_MAX = 8 * 1024;
/** Chunk-size and trailer lines longer than this end the request (400). */
const CHUNK_LINE_BYTES_MAX = 4096;
/** Bytes queued towards a socket that does not keep up before the other side stops being read. */
const QUEUED_BYTES_HIGH = 1024 * 1024;
/** A connection waiting for its next request head this long is closed (Bun.serve's default idle). */
const IDLE_SECONDS = 10;
export const SERVED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export const CLIENT_HEADER = "x-streamctl-client";
export const SECRET_HEADER = "x-streamctl-front";

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(1\.[01])$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
// Visible ASCII, space, tab and obs-text; no other control byte (latin1-decoded head).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^\/[\x21-\x7e]*$/;

export interface FrontError {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

export type HeadCheck = { ok: true; head: Uint8Array; method: string; close: boolean; body: { kind: "none" } | { kind: "length"; bytes: number } | { kind: "chunked" } } | { ok: false; error: FrontError };

const bad = (message: string): HeadCheck => ({ ok: false, error: { status: 400, code: "BAD_REQUEST", message } });

/**
 * Checks a request head (without its final CRLF CRLF, latin1) and answers the head to relay: the
 * same lines without any client copy of our headers, plus `extra` header lines.
 */
export function checkHead(text: string, bodyBytesMax: number, extra: readonly string[]): HeadCheck {
  const lines = text.split("\r\n");
  const m = REQUEST_LINE.exec(lines[0]!);
  if (m === null) return bad(`malformed request line: expected METHOD /path HTTP/1.1`);
  const [, method, target, version] = m as unknown as [string, string, string, string];
  if (!TOKEN.test(method)) return bad("malformed request line: the method is not a token");
  if (!(SERVED_METHODS as readonly string[]).includes(method)) {
    return { ok: false, error: { status: 405, code: "METHOD_NOT_ALLOWED", message: `${method.slice(0, 64)} is not a method this server serves: use ${SERVED_METHODS.join(", ")}`, headers: { allow: SERVED_METHODS.join(", ") } } };
  }
  if (target.length > TARGET_BYTES_MAX) return { ok: false, error: { status: 414, code: "URI_TOO_LONG", message: `the request target is over ${TARGET_BYTES_MAX} bytes` } };
  if (!TARGET.test(target)) return bad("malformed request target: expected a path starting with /, in visible ASCII");
  const kept = [lines[0]!];
  let hosts = 0;
  let length: string | null = null;
  let encoding: string | null = null;
  let connection = "";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const h = HEADER_LINE.exec(line);
    if (h === null) return bad(line.startsWith(" ") || line.startsWith("\t") ? "folded header lines are not accepted" : "malformed header line: expected name: value");
    const name = h[1]!.toLowerCase();
    const value = h[2]!;
    if (!HEADER_VALUE.test(value)) return bad(`header ${h[1]} holds a control character`);
    if (name === CLIENT_HEADER || name === SECRET_HEADER) continue;
    if (name === "host") {
      if (value === "" || ++hosts > 1) return bad(value === "" ? "the Host header is empty" : "more than one Host header");
    } else if (name === "content-length") {
      if (length !== null || !/^\d{1,15}$/.test(value)) return bad(length !== null ? "more than one Content-Length header" : `Content-Length "${value.slice(0, 32)}" is not a number`);
      length = value;
    } else if (name === "connection") {
      connection += `,${value.toLowerCase()}`;
    } else if (name === "transfer-encoding") {
      if (encoding !== null || value.toLowerCase() !== "chunked") return bad("Transfer-Encoding must be chunked, once");
      encoding = value;
    }
    kept.push(line);
  }
  if (hosts === 0) return bad("the Host header is missing");
  if (length !== null && encoding !== null) return bad("both Content-Length and Transfer-Encoding: a request has one framing");
  const bytes = length === null ? 0 : Number(length);
  if (bytes > bodyBytesMax) return { ok: false, error: { status: 413, code: "PAYLOAD_TOO_LARGE", message: `the body (${bytes} bytes) is over this server's ${bodyBytesMax}` } };
  const head = Buffer.from([...kept, ...extra, "", ""].join("\r\n"), "latin1");
  const tokens = connection.split(",").map((t) => t.trim());
  const close = tokens.includes("close") || (version === "1.0" && !tokens.includes("keep-alive"));
  return { ok: true, head, method, close, body: encoding !== null ? { kind: "chunked" } : bytes > 0 ? { kind: "length", bytes } : { kind: "none" } };
}

/** The bytes of a JSON error answer. */
export function errorAnswer(e: FrontError): Uint8Array {
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  const reason = { 400: "Bad Request", 405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large", 503: "Service Unavailable" }[e.status] ?? "Error";
  const extra = Object.entries(e.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return Buffer.from(`HTTP/1.1 ${e.status} ${reason}\r\ncontent-type: application/json;charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ndate: ${new Date().toUTCString()}\r\nconnection: close\r\n${extra}\r\n${body}`, "latin1");
}

/** Follows a chunked body: how many of the bytes given belong to it, and whether it ended. */
export class ChunkedScanner {
  private state: "size" | "data" | "data-crlf" | "trailer" = "size";
  private line = "";
  private left = 0;
  /** Data bytes so far (without the framing). */
  dataBytes = 0;

  /** Bytes of `buf` from `at` that are the body's; `done` once its last CRLF is in; `error` for a malformed one. */
  scan(buf: Uint8Array, at: number): { used: number; done: boolean; error?: string } {
    let i = at;
    while (i < buf.length) {
      if (this.state === "data") {
        const n = Math.min(this.left, buf.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = "data-crlf";
        continue;
      }
      const b = buf[i++]!;
      this.line += String.fromCharCode(b);
      if (this.state === "data-crlf" && !"\r\n".startsWith(this.line)) return { used: i - at, done: false, error: "chunk data is not followed by CRLF" };
      if (this.line.length > CHUNK_LINE_BYTES_MAX) return { used: i - at, done: false, error: "a chunk-size or trailer line is too long" };
      if (!this.line.endsWith("\r\n")) {
        if (b === 0x0a) return { used: i - at, done: false, error: "a bare LF in the chunked framing" };
        continue;
      }
      const line = this.line.slice(0, -2);
      this.line = "";
      if (this.state === "data-crlf") {
        if (line !== "") return { used: i - at, done: false, error: "chunk data is not followed by CRLF" };
        this.state = "size";
      } else if (this.state === "size") {
        const m = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line);
        if (m === null) return { used: i - at, done: false, error: "malformed chunk size" };
        const size = parseInt(m[1]!, 16);
        this.dataBytes += size;
        if (size === 0) this.state = "trailer";
        else {
          this.left = size;
          this.state = "data";
        }
      } else if (line === "") {
        return { used: i - at, done: true };
      } else if (!HEADER_LINE.test(line)) {
        return { used: i - at, done: false, error: "malformed trailer line" };
      }
    }
    return { used: i - at, done: false };
  }
}

/** Follows Bun's responses on the upstream connection, to know when one has ended. */
class ResponseScanner {
  private head = "";
  private state: "head" | "length" | "chunked" | "until-close" | "idle" = "idle";
  private left = 0;
  private chunked: ChunkedScanner | null = null;
  private headRequest = false;
  /** The last response said Connection: close. */
  closing = false;

  expect(method: string): void {
    this.state = "head";
    this.head = "";
    this.headRequest = method === "HEAD";
  }

  get inFlight(): boolean {
    return this.state !== "idle";
  }

  /** Feeds response bytes; answers true when the response in flight has ended within them. */
  feed(buf: Uint8Array): boolean {
    let i = 0;
    while (i < buf.length && this.state !== "idle") {
      if (this.state === "until-close") return false;
      if (this.state === "length") {
        const n = Math.min(this.left, buf.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = "idle";
        continue;
      }
      if (this.state === "chunked") {
        const r = this.chunked!.scan(buf, i);
        i += r.used;
        if (r.done || r.error !== undefined) this.state = "idle";
        continue;
      }
      // head
      const end = Math.min(buf.length, i + HEAD_BYTES_MAX * 4);
      while (i < end && !this.head.endsWith("\r\n\r\n")) this.head += String.fromCharCode(buf[i++]!);
      if (!this.head.endsWith("\r\n\r\n")) continue;
      const lines = this.head.slice(0, -4).split("\r\n");
      this.head = "";
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
      if (status >= 100 && status < 200) continue; // interim (100 Continue): the final head follows
      const header = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
      if (header("connection")?.toLowerCase().includes("close")) this.closing = true;
      if (this.headRequest || status === 204 || status === 304) this.state = "idle";
      else if (header("transfer-encoding")?.toLowerCase() === "chunked") {
        this.chunked = new ChunkedScanner();
        this.state = "chunked";
      } else if (header("content-length") !== undefined) {
        this.left = Number(header("content-length"));
        this.state = this.left === 0 ? "idle" : "length";
      } else this.state = "until-close";
    }
    return this.state === "idle";
  }
}

type Pausable = Socket<unknown> & { pause(): void; resume(): void };

/** Writes to a socket, queueing what it does not take; `onLow` when the queue empties below the mark. */
class Outbox {
  private queue: Uint8Array[] = [];
  queued = 0;

  constructor(private readonly onHigh: () => void) {}

  write(socket: Socket<unknown> | null, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (socket === null || this.queue.length > 0) {
      this.queue.push(bytes);
      this.queued += bytes.length;
    } else {
      const n = socket.write(bytes);
      if (n < bytes.length) {
        this.queue.push(bytes.subarray(Math.max(0, n)));
        this.queued += bytes.length - Math.max(0, n);
      }
    }
    if (this.queued > QUEUED_BYTES_HIGH) this.onHigh();
  }

  /** Writes what is queued; answers whether everything went. */
  flush(socket: Socket<unknown>): boolean {
    while (this.queue.length > 0) {
      const bytes = this.queue[0]!;
      const n = socket.write(bytes);
      if (n < bytes.length) {
        this.queue[0] = bytes.subarray(Math.max(0, n));
        this.queued -= Math.max(0, n);
        return false;
      }
      this.queue.shift();
      this.queued -= bytes.length;
    }
    return true;
  }
}

/** Counts a listener's connections per client address (serve shares the Kafka door's, so that
 * --max-connections-per-ip holds across every listener of the broker). */
export interface AddressCount {
  readonly maxPerAddress: number;
  /** Counts a connection from `address`, or answers false when it already has its share. */
  tryOpen(address: string): boolean;
  close(address: string): void;
}

interface FrontOptions {
  hostname: string;
  port: number;
  tls?: { cert: string; key: string };
  /** The unix socket Bun.serve listens on. */
  upstream: string;
  bodyBytesMax: number;
  secret: string;
  /** Connections this listener holds at once (serve --max-connections). */
  maxConnections: number;
  addresses: AddressCount;
  /** A request head must be whole within this of its first byte; the first one within this of connecting. */
  headTimeoutMs: number;
  /** A request body must be whole within this of its head (default REQUEST_BODY_TIMEOUT_MS_DEFAULT). */
  bodyTimeoutMs?: number;
  /** Told of each connection ended by a deadline, with a line to log (null: nothing to log). */
  onTimedOut?(kind: "http_head" | "http_body", line: string | null): void;
  /** Told of each connection refused (a count, a rate-limited log line). */
  onRefused(address: string, why: string): void;
}

class FrontConnection {
  private pending: Uint8Array = new Uint8Array(0);
  private phase: "head" | "length" | "chunked" | "closing" = "head";
  private bodyLeft = 0;
  private chunked: ChunkedScanner | null = null;
  private upstream: Socket<FrontConnection> | null = null;
  private connecting = false;
  private readonly response = new ResponseScanner();
  /** Whether Bun has sent any byte of the answer to the request being relayed. */
  private answerStarted = false;
  private readonly toUpstream = new Outbox(() => this.client.pause());
  private readonly toClient = new Outbox(() => (this.upstream as Pausable | null)?.pause());
  private clientPaused = false;
  /** The request relayed asked for the connection to end after its answer. */
  private closeAfter = false;
  /** Runs while a request head is awaited after its first byte (or the connection's first head). */
  private headDeadline: ReturnType<typeof setTimeout> | null = null;
  /** Runs while a request body is being relayed. */
  private bodyDeadline: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: Pausable,
    private readonly options: FrontOptions,
    private readonly clientAddress: string,
  ) {}

  onClientData(chunk: Uint8Array): void {
    if (this.phase === "closing") return;
    // Idle is waiting for the client; an answer being streamed (SSE) is not.
    if (!(this.response.inFlight && this.answerStarted)) this.client.timeout(IDLE_SECONDS);
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.process();
  }

  private process(): void {
    while (this.phase !== "closing" && this.pending.length > 0) {
      if (this.phase === "length") {
        const n = Math.min(this.bodyLeft, this.pending.length);
        this.sendUpstream(this.pending.subarray(0, n));
        this.pending = this.pending.subarray(n);
        this.bodyLeft -= n;
        if (this.bodyLeft === 0) this.bodyArrived();
        continue;
      }
      if (this.phase === "chunked") {
        const r = this.chunked!.scan(this.pending, 0);
        if (r.error === undefined && this.chunked!.dataBytes > this.options.bodyBytesMax) {
          this.fail({ status: 413, code: "PAYLOAD_TOO_LARGE", message: `the chunked body is over this server's ${this.options.bodyBytesMax} bytes` });
          return;
        }
        if (r.error !== undefined) {
          this.fail({ status: 400, code: "BAD_REQUEST", message: `malformed chunked body: ${r.error}` });
          return;
        }
        this.sendUpstream(this.pending.subarray(0, r.used));
        this.pending = this.pending.subarray(r.used);
        if (r.done) this.bodyArrived();
        continue;
      }
      // A head: only once the previous answer has ended (one request at a time).
      if (this.response.inFlight) {
        if (this.pending.length > HEAD_BYTES_MAX && !this.clientPaused) {
          this.clientPaused = true;
          this.client.pause();
        }
        return;
      }
      const end = Buffer.from(this.pending.buffer, this.pending.byteOffset, this.pending.length).indexOf("\r\n\r\n");
      if (end < 0 || end + 4 > HEAD_BYTES_MAX) {
        if (this.pending.length >= HEAD_BYTES_MAX || (end >= 0 && end + 4 > HEAD_BYTES_MAX)) {
          this.fail({ status: 431, code: "REQUEST_HEADERS_TOO_LARGE", message: `the request head is over ${HEAD_BYTES_MAX} bytes` });
        } else this.awaitHead();
        return;
      }
      this.headArrived();
      // Leading empty lines before a request line are tolerated (RFC 9112 2.2).
      const text = Buffer.from(this.pending.subarray(0, end)).toString("latin1").replace(/^(\r\n)+/, "");
      const checked = checkHead(text, this.options.bodyBytesMax, [`${CLIENT_HEADER}: ${this.clientAddress}`, `${SECRET_HEADER}: ${this.options.secret}`]);
      if (!checked.ok) {
        this.fail(checked.error);
        return;
      }
      this.pending = this.pending.subarray(end + 4);
      this.response.expect(checked.method);
      this.closeAfter = checked.close;
      this.answerStarted = false;
      this.sendUpstream(checked.head);
      if (checked.body.kind === "length") {
        this.phase = "length";
        this.bodyLeft = checked.body.bytes;
        this.awaitBody();
      } else if (checked.body.kind === "chunked") {
        this.phase = "chunked";
        this.chunked = new ChunkedScanner();
        this.awaitBody();
      }
    }
  }

  /** Starts the body deadline: the body must be whole within bodyTimeoutMs of its head. */
  private awaitBody(): void {
    const ms = this.options.bodyTimeoutMs ?? REQUEST_BODY_TIMEOUT_MS_DEFAULT;
    this.bodyDeadline = setTimeout(() => {
      this.bodyDeadline = null;
      if (this.phase !== "length" && this.phase !== "chunked") return;
      const message = `the request body did not arrive whole within ${ms} ms of its head`;
      this.options.onTimedOut?.("http_body", `closed an HTTP connection from ${this.clientAddress}: ${message} (--request-body-timeout-ms)`);
      this.fail({ status: 408, code: "REQUEST_TIMEOUT", message });
    }, ms);
    (this.bodyDeadline as { unref?: () => void }).unref?.();
  }

  private bodyArrived(): void {
    this.phase = "head";
    if (this.bodyDeadline !== null) clearTimeout(this.bodyDeadline);
    this.bodyDeadline = null;
  }

  /** Starts the head deadline unless it runs already. */
  awaitHead(): void {
    if (this.headDeadline !== null || this.phase === "closing") return;
    const ms = this.options.headTimeoutMs;
    this.headDeadline = setTimeout(() => {
      this.headDeadline = null;
      if (this.phase !== "head" || this.response.inFlight) return;
      this.options.onTimedOut?.("http_head", null);
      this.fail({ status: 408, code: "REQUEST_TIMEOUT", message: `the request head did not arrive whole within ${ms} ms` });
    }, ms);
    (this.headDeadline as { unref?: () => void }).unref?.();
  }

  private headArrived(): void {
    if (this.headDeadline !== null) clearTimeout(this.headDeadline);
    this.headDeadline = null;
  }

  /** No deadline runs once the connection ends. */
  private clearDeadlines(): void {
    this.headArrived();
    if (this.bodyDeadline !== null) clearTimeout(this.bodyDeadline);
    this.bodyDeadline = null;
  }

  private sendUpstream(bytes: Uint8Array): void {
    // Until connected, writes queue in toUpstream.
    if (this.upstream === null && !this.connecting) this.connectUpstream();
    this.toUpstream.write(this.upstream, bytes);
  }

  private connectUpstream(): void {
    this.connecting = true;
    const self = this;
    void Bun.connect<FrontConnection>({
      unix: this.options.upstream,
      data: this,
      socket: {
        open(socket) {
          self.connecting = false;
          // The client left, or was answered with an error, while this connected: nothing to relay.
          if (self.phase === "closing") {
            socket.end();
            return;
          }
          self.upstream = socket;
          self.onUpstreamDrain();
        },
        data(_socket, chunk) {
          self.onUpstreamData(chunk);
        },
        drain() {
          self.onUpstreamDrain();
        },
        close(socket) {
          self.onUpstreamClose(socket);
        },
        error(socket) {
          self.onUpstreamClose(socket);
        },
      },
    }).catch(() => self.onUpstreamClose(null));
  }

  private onUpstreamDrain(): void {
    if (this.upstream === null) return;
    if (this.toUpstream.flush(this.upstream) && this.toUpstream.queued < QUEUED_BYTES_HIGH && !this.clientPaused) this.client.resume();
  }

  private onUpstreamData(chunk: Uint8Array): void {
    this.answerStarted = true;
    const ended = this.response.feed(chunk);
    this.toClient.write(this.client, chunk);
    if (ended && (this.closeAfter || this.response.closing)) {
      // The last answer on this connection: end it once it is out.
      this.phase = "closing";
      this.upstream?.end();
      if (this.toClient.queued === 0) this.client.end();
    } else if (ended) {
      this.client.timeout(IDLE_SECONDS);
      if (this.clientPaused) {
        this.clientPaused = false;
        this.client.resume();
      }
      // The next pipelined request, if one is waiting.
      queueMicrotask(() => this.process());
    } else {
      // An answer in flight (an SSE stream) is not idle.
      this.client.timeout(0);
    }
  }

  onClientDrain(): void {
    if (this.toClient.flush(this.client)) {
      (this.upstream as Pausable | null)?.resume();
      if (this.phase === "closing" && !(this.response.inFlight && this.upstream !== null)) this.client.end();
    }
  }

  private onUpstreamClose(socket: Socket<FrontConnection> | null): void {
    if (socket !== null && this.upstream !== null && socket !== this.upstream) return; // an older one
    this.upstream = null;
    this.connecting = false;
    // Bun closing an idle keep-alive connection: the next request opens another.
    if (this.phase === "head" && !this.response.inFlight && this.toUpstream.queued === 0) return;
    // Bun ended the connection mid-request (Connection: close, an error, shutdown): so do we, once our queue is out.
    this.phase = "closing";
    if (this.toClient.queued === 0) this.client.end();
  }

  /** Whether a request is being relayed or answered, or its head is under way (the head deadline
   * answers that one): not idle, whatever the clock says. */
  get busy(): boolean {
    return this.response.inFlight || this.headDeadline !== null;
  }

  /** The door is stopping: end the connection once what is queued for the client is out. */
  shutdown(): void {
    this.clearDeadlines();
    this.phase = "closing";
    this.upstream?.end();
    if (this.toClient.queued === 0) this.client.end();
  }

  onClientClose(): void {
    this.clearDeadlines();
    this.phase = "closing";
    this.upstream?.end();
  }

  /** Answers `e` and ends the connection; mid-answer from Bun, just ends it. */
  private fail(e: FrontError): void {
    this.clearDeadlines();
    this.phase = "closing";
    this.pending = new Uint8Array(0);
    if (this.response.inFlight && this.answerStarted) {
      this.upstream?.end();
      return;
    }
    this.toClient.write(this.client, errorAnswer(e));
    // Bun has not answered the request being relayed (its body was cut short): drop it.
    if (this.response.inFlight) this.upstream?.terminate();
    if (this.toClient.queued === 0) this.client.end();
  }
}

export interface Front {
  port: number;
  /** Stops accepting new connections. */
  stop(): void;
  /** Ends every connection (after Bun.serve has finished what was in flight). */
  closeAll(): void;
}

export function startFront(options: FrontOptions): Front {
  const conns = new Set<FrontConnection>();
  /** The address each connection counts against (once: close and error may both come). */
  const counted = new Map<FrontConnection, string>();
  const listener: TCPSocketListener<FrontConnection> = Bun.listen<FrontConnection>({
    hostname: options.hostname,
    port: options.port,
    // One port, one broker: no second process may bind it beside us.
    exclusive: true,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    socket: {
      open(socket) {
        const raw = socket.remoteAddress ?? "";
        const address = raw.startsWith("::ffff:") && raw.includes(".") ? raw.slice(7) : raw;
        const full = conns.size >= options.maxConnections;
        if (full || !options.addresses.tryOpen(address)) {
          // Refused before anything is read: the answer goes out at once and the connection ends.
          const why = full ? `--max-connections ${options.maxConnections} are open` : `${address} already has --max-connections-per-ip ${options.addresses.maxPerAddress} open`;
          options.onRefused(address, why);
          socket.write(errorAnswer({ status: 503, code: "TOO_MANY_CONNECTIONS", message: `connection refused: ${why}` }));
          socket.end();
          return;
        }
        (socket as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        const conn = new FrontConnection(socket as unknown as Pausable, options, address);
        socket.data = conn;
        conns.add(conn);
        counted.set(conn, address);
        socket.timeout(IDLE_SECONDS);
        conn.awaitHead();
      },
      data(socket, chunk) {
        socket.data?.onClientData(chunk);
      },
      drain(socket) {
        socket.data?.onClientDrain();
      },
      timeout(socket) {
        // Idle between requests: close. A request Bun takes long to answer is not idle (a slow
        // body upload is bounded by Bun's own idle timeout on the relayed connection).
        if (socket.data?.busy) socket.timeout(IDLE_SECONDS);
        else socket.end();
      },
      close(socket) {
        const conn = socket.data;
        if (!conn) return;
        conn.onClientClose();
        conns.delete(conn);
        const address = counted.get(conn);
        if (address !== undefined) options.addresses.close(address);
        counted.delete(conn);
      },
      error(socket) {
        socket.data?.onClientClose();
      },
    },
  });
  return {
    port: listener.port,
    stop() {
      listener.stop(false);
    },
    closeAll() {
      for (const c of conns) c.shutdown();
    },
  };
}

/** A unix socket's path holds at most this many bytes (sun_path is 108 with its NUL). */
export const UNIX_PATH_BYTES_MAX = 107;
/** The private directory's name under the data dir, and the socket's in it. */
export const PRIVATE_DIR_NAME = ".http";
const SOCKET_NAME = "door.sock";
const TMP_PREFIX = "streamctl-http-";

export interface Plumbing {
  dir: string;
  socket: string;
  secret: string;
  remove(): void;
}

/**
 * A private (0700) directory for the upstream socket, and a secret for the headers only the front
 * sets. The directory is `<under>/.http` when `under` is given (serve passes the data dir, whose
 * lock is ours: whatever is there was left by a broker that was killed, and is replaced) and the
 * socket's path fits a unix socket's; otherwise `$TMPDIR/streamctl-http-<pid>-XXXXXX`, after
 * removing those of ours whose pid is gone (a broker killed with SIGKILL removes nothing).
 */
export function frontPlumbing(under?: string): Plumbing {
  const secret = randomBytes(18).toString("base64url");
  const plumbing = (dir: string): Plumbing => ({ dir, socket: join(dir, SOCKET_NAME), secret, remove: () => rmSync(dir, { recursive: true, force: true }) });
  if (under !== undefined && Buffer.byteLength(join(under, PRIVATE_DIR_NAME, SOCKET_NAME)) <= UNIX_PATH_BYTES_MAX) {
    const dir = join(under, PRIVATE_DIR_NAME);
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { mode: 0o700 });
      return plumbing(dir);
    } catch {
      // A full disk, say: the temporary directory does as well.
    }
  }
  removeStaleTmpDirs();
  return plumbing(mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${process.pid}-`)));
}

/** Removes $TMPDIR/streamctl-http-<pid>-* directories of this user whose process is gone. */
export function removeStaleTmpDirs(dir = tmpdir(), alive: (pid: number) => boolean = processAlive): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const m = new RegExp(`^${TMP_PREFIX}(\\d+)-[A-Za-z0-9]+$`).exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
