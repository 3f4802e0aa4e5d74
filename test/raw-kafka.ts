// A bare Kafka wire connection for broker tests: sends frames built with the generated codec (or
// raw bytes, for fuzzing) and matches responses by correlation id. Deliberately not net/client:
// these tests check the broker at the byte level, independently of our client.
import type { Socket } from "bun";
import type { ApiDescriptor } from "../net/protocol/api.ts";
import { FrameSplitter } from "../net/protocol/framing.ts";
import { decodeResponseHeader, encodeRequestHeader } from "../net/protocol/header.ts";
import { Reader } from "../net/protocol/reader.ts";
import { Writer } from "../net/protocol/writer.ts";

export class RawConnection {
  // Far from the small ids real clients use, so answers to replayed captured frames never collide.
  private nextCorrelation = 0x40000000;
  private readonly waiting = new Map<number, (frame: Uint8Array) => void>();
  private readonly splitter = new FrameSplitter();
  /** Frames whose correlation id nobody waited for (answers to raw sends). */
  readonly unsolicited: Uint8Array[] = [];
  closed: Promise<void>;
  isClosed = false;
  private socket!: Socket<undefined>;

  private constructor() {
    let onClose!: () => void;
    this.closed = new Promise((r) => (onClose = r));
    this.onClose = onClose;
  }
  private onClose: () => void;

  static async open(address: string, opts: { firstCorrelationId?: number; tls?: { ca?: string; cert?: string; key?: string } } = {}): Promise<RawConnection> {
    const [host, port] = address.split(":") as [string, string];
    const conn = new RawConnection();
    if (opts.firstCorrelationId !== undefined) conn.nextCorrelation = opts.firstCorrelationId;
    let handshake: (() => void) | undefined;
    const handshaken = new Promise<void>((r) => (handshake = r));
    conn.socket = await Bun.connect({
      hostname: host,
      port: Number(port),
      ...(opts.tls ? { tls: { ...opts.tls, serverName: "localhost" } } : {}),
      socket: {
        handshake: () => handshake?.(),
        data: (_s, chunk) => {
          for (const frame of conn.splitter.push(chunk)) {
            const corr = new DataView(frame.buffer, frame.byteOffset).getInt32(4);
            const waiter = conn.waiting.get(corr);
            if (waiter) {
              conn.waiting.delete(corr);
              waiter(frame);
            } else conn.unsolicited.push(frame);
          }
        },
        close: () => {
          conn.isClosed = true;
          conn.onClose();
        },
        error: () => {
          conn.isClosed = true;
          conn.onClose();
        },
      },
    });
    if (opts.tls) await Promise.race([handshaken, conn.closed]);
    return conn;
  }

  /** Encodes and sends a request; resolves with the decoded response (and checks it parsed whole). */
  async request<Req, Res>(api: ApiDescriptor<Req, Res, any, any>, version: number, body: Req, timeoutMs = 10000): Promise<Res> {
    const correlationId = this.nextCorrelation++;
    const w = new Writer();
    const mark = w.reserveInt32();
    encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: "raw-test" });
    api.encodeRequest(w, version, body);
    w.patchInt32(mark, w.length - 4);
    const frame = await this.roundTrip(correlationId, w.finish(), timeoutMs, `${api.name} v${version}`);
    const r = new Reader(frame, 4);
    const header = decodeResponseHeader(r, api.key, version);
    if (header.correlationId !== correlationId) throw new Error(`correlation ${header.correlationId} != ${correlationId}`);
    const res = api.decodeResponse(r, version);
    if (r.error) throw new Error(`${api.name} v${version} response did not decode: ${r.error}`);
    if (r.remaining !== 0) throw new Error(`${api.name} v${version} response has ${r.remaining} trailing bytes`);
    return res;
  }

  /** The next answer that is not a response to request() (a raw SASL token after SaslHandshake v0), or null once closed. */
  async nextUnsolicited(timeoutMs = 10000): Promise<Uint8Array | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.unsolicited.length === 0) {
      if (this.isClosed) return null;
      if (Date.now() > deadline) throw new Error(`no unsolicited frame in ${timeoutMs} ms`);
      await Bun.sleep(5);
    }
    return this.unsolicited.shift()!;
  }

  /** Sends bytes as they are. */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a raw frame whose correlation id is `correlationId`; resolves with the answer frame, or null if the connection closed. */
  roundTripRaw(correlationId: number, frame: Uint8Array, timeoutMs = 10000): Promise<Uint8Array | null> {
    return this.roundTrip(correlationId, frame, timeoutMs, "raw").catch((err) => {
      if (this.isClosed) return null;
      throw err;
    });
  }

  private roundTrip(correlationId: number, frame: Uint8Array, timeoutMs: number, what: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        reject(new Error(`${what}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(correlationId, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      this.closed.then(() => {
        if (this.waiting.delete(correlationId)) {
          clearTimeout(timer);
          reject(new Error(`${what}: connection closed`));
        }
      });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.end();
  }
}
