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
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../protocol/header.ts";
import { ApiVersions } from "../protocol/messages/index.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { CLOSE_CONNECTION, EncodedResponse, NO_RESPONSE, type RequestContext } from "./handler.ts";
import type { BrokerState } from "./state.ts";

/** What to do with a request: write these chunks, write nothing, or close the connection. */
export type DispatchOutcome = EncodedResponse | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

/** The part of a request's context that is the same for every request on one connection. */
export type ConnectionContext = Omit<RequestContext, "apiVersion" | "correlationId" | "clientId">;

/** `frame` is one whole request including its 4-byte length prefix. */
export async function dispatch(frame: Uint8Array, conn: ConnectionContext): Promise<DispatchOutcome> {
  const broker = conn.broker;
  const r = new Reader(frame, 4);
  const header = decodeRequestHeader(r);
  const { apiKey, apiVersion, correlationId } = header;
  if (r.error) {
    // A future ApiVersions may carry a header we cannot fully parse; the first 8 bytes suffice.
    if (apiKey === ApiVersions.key && frame.length >= 12) return unsupportedApiVersions(broker, correlationId);
    return CLOSE_CONNECTION;
  }
  const handler = broker.handlers.get(apiKey);
  if (!handler || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
    if (apiKey === ApiVersions.key) return unsupportedApiVersions(broker, correlationId);
    broker.metrics.requestRejected(apiKey, apiVersion);
    return CLOSE_CONNECTION;
  }
  const req = handler.api.decodeRequest(r, apiVersion);
  if (r.error) {
    broker.metrics.requestRejected(apiKey, apiVersion);
    return CLOSE_CONNECTION;
  }
  const started = performance.now();
  const ctx: RequestContext = {
    apiVersion,
    correlationId,
    clientId: header.clientId,
    broker,
    localAddress: conn.localAddress,
    localPort: conn.localPort,
    remoteAddress: conn.remoteAddress,
    closed: conn.closed,
  };
  const res = await handler.handle(req, ctx);
  broker.metrics.requestHandled(apiKey, performance.now() - started);
  if (res === NO_RESPONSE || res === CLOSE_CONNECTION || res instanceof EncodedResponse) return res;
  const w = new Writer(256); // most answers are small; it grows by doubling, and record data goes out as its own chunks
  const mark = w.reserveInt32();
  encodeResponseHeader(w, correlationId, apiKey, apiVersion);
  handler.api.encodeResponse(w, apiVersion, res);
  w.patchInt32(mark, w.length - 4);
  return new EncodedResponse(w.finishChunks());
}

/** Kafka answers an ApiVersions version it does not know in v0 format with error 35 and its own
 * ApiVersions range, so the client can retry at a version both speak (KIP-511). */
function unsupportedApiVersions(broker: BrokerState, correlationId: number): EncodedResponse {
  const own = broker.handlers.get(ApiVersions.key)!;
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
