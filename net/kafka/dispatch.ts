// Request dispatch: decode the header, find the handler, check the version, decode the body,
// run the handler, encode the response with its header. Behaviour on bad input follows Kafka
// (kafka-protocol.md §1.2):
//
// | input                                   | answer                                            |
// |-----------------------------------------|---------------------------------------------------|
// | header unreadable                       | close the connection                              |
// | ApiVersions at a version we don't serve | v0 response, error 35, api_keys = our ApiVersions |
// | other API unknown or version unserved   | close the connection                              |
// | body does not decode (short, counts)    | close the connection                              |
// | handler says NO_RESPONSE (acks=0)       | nothing written                                   |
// | handler says CLOSE_CONNECTION           | close after earlier responses are written         |
// | handler says AnswerThenClose            | answer, then close (a failed SASL login)          |
// | not admitted by the session (SASL phase | close the connection (net/kafka/session.ts)       |
// | or expired session)                     |                                                   |
// | a raw SASL token (after SaslHandshake v0)| a raw token back, or close (net/kafka/sasl.ts)   |
// | the principal may not do it (ACLs)       | Kafka's *_AUTHORIZATION_FAILED answer, or only   |
// |                                          | the allowed part handled (net/kafka/acl-gate.ts) |
//
// Every refusal in this table (not the handlers' own answers) is counted in /metrics and logged on
// stderr, one line per client per 10 s at most (net/kafka/refusals.ts); so are a malformed frame
// (net/kafka/connection.ts) and a request that failed with no answer to carry its error (a
// Produce with acks=0: the handler says CLOSE_CONNECTION).
//
// Two gates every request passes with its principal known, in this order: the session's
// (admits: is the connection logged in), then authorization (gate: may this principal do what the
// decoded request asks), before its handler runs.
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../protocol/header.ts";
import { ApiVersions } from "../protocol/messages/index.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { AnswerThenClose, CLOSE_CONNECTION, EncodedResponse, type Handler, type HandlerResult, type KafkaDoor, NO_RESPONSE, type RequestContext } from "./handler.ts";
import { gate, outcomeOf } from "./acl-gate.ts";
import type { Outcome } from "./acl-rule.ts";
import { fastFetch } from "./fast-fetch.ts";
import { fastProduce } from "./fast-produce.ts";
import { type RefusalReason, refuse } from "./refusals.ts";
import { saslRawToken } from "./sasl.ts";
import { admits, Session } from "./session.ts";

/** What to do with a request: write these chunks, write nothing, or close the connection. */
export type DispatchOutcome = EncodedResponse | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

/** The part of a request's context that is the same for every request on one connection. A
 * context without a session is a PLAINTEXT connection (in-process tests build them so). */
export type ConnectionContext = Omit<RequestContext, "apiVersion" | "correlationId" | "clientId" | "session"> & { session?: Session };

/** The session of every connection that has none of its own: PLAINTEXT, never changed (only a
 * SASL session moves between phases). */
const PLAINTEXT_SESSION = new Session();

/** Where a request's outcome goes: its place in the connection's response order. */
export interface OutcomeSink {
  settle(outcome: DispatchOutcome): void;
}

/**
 * Handles `frame`, one whole request including its 4-byte length prefix, and hands the outcome to
 * `sink`, always from a later microtask (never from inside this call: the connection dispatches
 * the next frame from its completion, and a chunk may hold thousands of frames). Never throws; a
 * handler that throws or rejects closes the connection. Makes no promise chain or closure of its
 * own per request: the connection's slot is the sink (issue #8).
 */
export function dispatch(frame: Uint8Array, conn: ConnectionContext, sink: OutcomeSink): void {
  if (conn.session?.phase === "raw") {
    void settleLater(saslRawToken(frame, conn.session, conn), null, sink);
    return;
  }
  // The common Produce, read from the frame without request objects (fast-produce.ts).
  if (fastProduce(frame, conn, sink)) return;
  // A consumer's Fetch of one partition, parked without promises (fast-fetch.ts).
  if (fastFetch(frame, conn, sink)) return;
  let decoded: Decoded | DispatchOutcome;
  let res: HandlerResult<unknown> | Promise<HandlerResult<unknown>>;
  let after: ((res: Outcome<unknown>) => Outcome<unknown>) | undefined;
  try {
    decoded = decode(frame, conn);
    if (!(decoded instanceof Decoded)) {
      void settleLater(decoded, null, sink);
      return;
    }
    const verdict = gate(decoded.handler, decoded.req, decoded.ctx);
    if (verdict === CLOSE_CONNECTION) {
      void settleLater(CLOSE_CONNECTION, null, sink);
      return;
    }
    if (verdict !== null && "answer" in verdict) res = verdict.answer;
    else {
      after = verdict?.after;
      res = decoded.handler.handle(verdict === null ? decoded.req : verdict.req, decoded.ctx);
    }
  } catch (err) {
    void settleLater(failed(conn.door, err), null, sink);
    return;
  }
  void settleLater(res, decoded, sink, after);
}

/** A request that decoded, with the handler that takes it. */
class Decoded {
  readonly started = performance.now();
  constructor(
    readonly handler: Handler,
    readonly req: unknown,
    readonly ctx: RequestContext,
  ) {}
}

/** Header and body, or what to do instead when they are unusable (the table above). */
function decode(frame: Uint8Array, conn: ConnectionContext): Decoded | DispatchOutcome {
  const dispatchedAt = performance.now();
  const door = conn.door;
  const r = new Reader(frame, 4);
  const header = decodeRequestHeader(r);
  const { apiKey, apiVersion, correlationId } = header;
  const headerRead = r.error === null;
  const refusal = (reason: RefusalReason, outcome: "answered" | "closed", detail?: string) =>
    refuse(door.broker, { reason, apiKey: frame.length < 8 ? -1 : apiKey, apiVersion, clientId: headerRead ? header.clientId : null, remoteAddress: conn.remoteAddress, outcome, detail });
  if (r.error) {
    // A future ApiVersions may carry a header we cannot fully parse; the first 8 bytes suffice.
    if (apiKey === ApiVersions.key && frame.length >= 12) {
      refusal("unsupported_version", "answered", versionsServed(door.handlers.get(apiKey)));
      return unsupportedApiVersions(door, correlationId);
    }
    refusal("malformed_header", "closed");
    return CLOSE_CONNECTION;
  }
  const session = conn.session ?? PLAINTEXT_SESSION;
  if (!admits(session, apiKey, Date.now)) {
    refusal("not_allowed_in_sasl_phase", "closed", `SASL phase ${session.phase}${session.phase === "done" ? ", session expired" : ""}`);
    door.broker.metrics.requestRejected(apiKey, apiVersion);
    return CLOSE_CONNECTION;
  }
  const handler = door.handlers.get(apiKey);
  if (!handler || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
    refusal(handler ? "unsupported_version" : "unsupported_api", apiKey === ApiVersions.key ? "answered" : "closed", versionsServed(handler));
    if (apiKey === ApiVersions.key) return unsupportedApiVersions(door, correlationId);
    door.broker.metrics.requestRejected(apiKey, apiVersion);
    return CLOSE_CONNECTION;
  }
  const req = handler.api.decodeRequest(r, apiVersion);
  if (r.error) {
    refusal("malformed_body", "closed", String(r.error));
    door.broker.metrics.requestRejected(apiKey, apiVersion);
    return CLOSE_CONNECTION;
  }
  const ctx: RequestContext = {
    apiVersion,
    correlationId,
    clientId: header.clientId,
    broker: door.broker,
    door,
    localAddress: conn.localAddress,
    localPort: conn.localPort,
    remoteAddress: conn.remoteAddress,
    closed: conn.closed,
    session,
    holdDispatch: conn.holdDispatch,
    dispatchedAt,
  };
  return new Decoded(handler, req, ctx);
}

/** Waits for the handler (a microtask at least), finishes the answer, settles the sink. */
async function settleLater(
  res: HandlerResult<unknown> | Promise<HandlerResult<unknown>>,
  request: Decoded | null,
  sink: OutcomeSink,
  after?: (res: Outcome<unknown>) => Outcome<unknown>,
): Promise<void> {
  let outcome: DispatchOutcome;
  try {
    let done = await res;
    // A request the gate narrowed: the refused part's answers merged in (net/kafka/acl-gate.ts).
    if (after !== undefined && request !== null) done = after(outcomeOf(request.handler, request.ctx.apiVersion, done));
    outcome = request === null ? (done as DispatchOutcome) : finish(done, request);
  } catch (err) {
    outcome = failed(request?.ctx.door, err);
  }
  sink.settle(outcome);
}

/** Counts the request and encodes its answer (unless the handler did). */
function finish(res: HandlerResult<unknown>, { handler, ctx, started }: Decoded): DispatchOutcome {
  const apiKey = handler.api.key;
  ctx.broker.metrics.requestHandled(apiKey, performance.now() - started);
  if (res === CLOSE_CONNECTION) {
    refuse(ctx.broker, { reason: "failed_without_answer", apiKey, apiVersion: ctx.apiVersion, clientId: ctx.clientId, remoteAddress: ctx.remoteAddress, outcome: "closed" });
  }
  if (res === NO_RESPONSE || res === CLOSE_CONNECTION || res instanceof EncodedResponse) return res;
  const closeAfter = res instanceof AnswerThenClose;
  const w = new Writer(256); // most answers are small; it grows by doubling, and record data goes out as its own chunks
  const mark = w.reserveInt32();
  encodeResponseHeader(w, ctx.correlationId, apiKey, ctx.apiVersion);
  handler.api.encodeResponse(w, ctx.apiVersion, closeAfter ? res.res : res);
  w.patchInt32(mark, w.length - 4);
  return new EncodedResponse(w.finishChunks(), closeAfter);
}

function failed(door: KafkaDoor | undefined, err: unknown): DispatchOutcome {
  door?.broker.log.error(`request handler failed: ${(err as Error)?.stack ?? err}`);
  return CLOSE_CONNECTION;
}

function versionsServed(handler: Handler | undefined): string | undefined {
  return handler ? `this broker serves v${handler.minVersion}-${handler.maxVersion}` : undefined;
}

/** Kafka answers an ApiVersions version it does not know in v0 format with error 35 and its own
 * ApiVersions range, so the client can retry at a version both speak (KIP-511). */
function unsupportedApiVersions(door: KafkaDoor, correlationId: number): EncodedResponse {
  const own = door.handlers.get(ApiVersions.key)!;
  const w = new Writer(64);
  const mark = w.reserveInt32();
  encodeResponseHeader(w, correlationId, ApiVersions.key, 0);
  ApiVersions.encodeResponse(w, 0, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: [{ apiKey: ApiVersions.key, minVersion: own.minVersion, maxVersion: own.maxVersion }],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  } as never);
  w.patchInt32(mark, w.length - 4);
  return new EncodedResponse(w.finishChunks());
}
