// What a request handler is and what it may reach: the broker core (core/broker) and the Kafka
// door's own state (its handler registry, which ApiVersions is built from, its options and the
// address it advertises). A handler declares the versions it accepts; the broker advertises
// exactly those, so the two can never disagree.
import type { Broker } from "../../core/broker/broker.ts";
import type { ApiDescriptor } from "../protocol/api.ts";
import type { Admission } from "./admission.ts";
import { PLAINTEXT_LISTENER, type ListenerSecurity, type Session } from "./session.ts";

export interface KafkaDoorOptions {
  /** Largest request frame accepted (Kafka's socket.request.max.bytes). */
  requestBytesMax: number;
  maxConnections: number;
  idleTimeoutMs: number;
  /** A connection without a whole request by then is closed (default FIRST_REQUEST_TIMEOUT_MS_DEFAULT). */
  firstRequestTimeoutMs?: number;
  /** A frame begun and then silent this long closes its connection (default REQUEST_BODY_TIMEOUT_MS_DEFAULT). */
  requestBodyTimeoutMs?: number;
}

/** The Kafka door: one per listener. */
export interface KafkaDoor {
  readonly broker: Broker;
  readonly options: KafkaDoorOptions;
  readonly handlers: ReadonlyMap<number, Handler>;
  /** The address Metadata and FindCoordinator advertise (0.0.0.0 → the connection's local address). */
  advertised: { host: string; port: number };
  /** The listener's protocol and SASL settings (absent: PLAINTEXT, as for in-process tests). */
  readonly security?: ListenerSecurity;
  /** The request memory and connections per address every listener of the broker shares
   * (net/kafka/admission.ts; absent: unbounded, as for in-process tests). */
  readonly admission?: Admission;
}

export { PLAINTEXT_LISTENER };

/** Returned by a handler that must not answer (Produce with acks=0). */
export const NO_RESPONSE = Symbol("no response");

/** Returned by a handler that must close the connection instead of answering (acks=0 failure). */
export const CLOSE_CONNECTION = Symbol("close connection");

export interface RequestContext {
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  broker: Broker;
  door: KafkaDoor;
  /** Local address the client connected to: what Metadata advertises when listening on 0.0.0.0. */
  localAddress: string;
  localPort: number;
  /** The client's address (DescribeGroups' client_host). */
  remoteAddress?: string;
  /** Resolves when the connection closes or the broker stops: long polls end early on it. */
  closed: AbortSignal;
  /** Who the connection acts as and where its SASL exchange stands (net/kafka/session.ts). The
   * principal is what an authorize() gate in dispatch would ask about. */
  session: Session;
  /** Dispatch no further request of this connection until the returned function is called (a
   * Produce awaiting its decompression calls it once its appends have started: they must come
   * before those of later requests). */
  holdDispatch?: () => () => void;
  /** performance.now() when its frame began to be decoded: the decoding counts against the turn's
   * share of sliced work (core/turn-clock.ts). */
  dispatchedAt?: number;
}

/**
 * A whole response frame (length prefix, header, body) a handler encoded itself, as chunks for one
 * vectored write. Produce and Fetch answer this way: their common shapes go straight into one
 * exact-size array (net/protocol/fast-responses.ts) instead of response objects and a Writer.
 */
export class EncodedResponse {
  constructor(
    /** One array (most answers) or several, written in order. */
    readonly chunks: Uint8Array | Uint8Array[],
    /** Close the connection once these are written (a failed authentication). */
    readonly closeAfter = false,
  ) {}
}

/** An answer after which the connection closes, as Kafka closes it after a failed authentication. */
export class AnswerThenClose<Res> {
  constructor(readonly res: Res) {}
}

export type HandlerResult<Res> = Res | EncodedResponse | AnswerThenClose<Res> | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

export interface Handler<Req = any, Res = any> {
  api: ApiDescriptor<Req, Res>;
  minVersion: number;
  maxVersion: number;
  handle(req: Req, ctx: RequestContext): HandlerResult<Res> | Promise<HandlerResult<Res>>;
}

export function defineHandler<Req, Res>(h: Handler<Req, Res>): Handler<Req, Res> {
  if (h.minVersion < h.api.minVersion || h.maxVersion > h.api.maxVersion || h.minVersion > h.maxVersion) {
    throw new Error(`${h.api.name}: handler versions ${h.minVersion}-${h.maxVersion} outside schema ${h.api.minVersion}-${h.api.maxVersion}`);
  }
  return h;
}
