// Request and response headers, and which header version goes with which request.
// The header fields are generated (messages/request-header.ts, messages/response-header.ts);
// this file owns the version rules, which the schemas do not carry:
//
// | header           | fields                                                        | used when                         |
// |------------------|---------------------------------------------------------------|-----------------------------------|
// | request v0       | int16 api_key, int16 api_version, int32 correlation_id        | ControlledShutdown v0 only        |
// | request v1       | v0 + client_id (nullable string, int16 length, never compact) | request version not flexible      |
// | request v2       | v1 + tagged fields                                            | request version flexible          |
// | response v0      | int32 correlation_id                                          | not flexible, and ApiVersions     |
// | response v1      | v0 + tagged fields                                            | response version flexible         |
//
// ApiVersions responses always use response header v0, even at v3+ (KIP-511): a client that does
// not yet know the broker's versions must be able to read the answer.
//
// The first 8 bytes (key, version, correlation id) are the same in every request header version,
// so `decodeRequestHeader` returns them even for an API key this codec does not know or a version
// out of range: the broker needs them to answer ApiVersions with UNSUPPORTED_VERSION (kafka-protocol.md §1.2).
import type { TaggedField } from "./api.ts";
import { apiByKey } from "./messages/index.ts";
import { decodeRequestHeader as decodeRequestHeaderFields, encodeRequestHeader as encodeRequestHeaderFields } from "./messages/request-header.ts";
import { decodeResponseHeader as decodeResponseHeaderFields, encodeResponseHeader as encodeResponseHeaderFields } from "./messages/response-header.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

const API_VERSIONS_KEY = 18;
const CONTROLLED_SHUTDOWN_KEY = 7;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** 0, 1 or 2: what was decoded (or is to be encoded). */
  headerVersion: number;
  unknownTaggedFields?: TaggedField[];
}

/** Whether `apiVersion` of `apiKey` uses the flexible encoding; false for keys this codec lacks. */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const api = apiByKey.get(apiKey);
  return api !== undefined && apiVersion >= api.flexibleMinVersion;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === CONTROLLED_SHUTDOWN_KEY && apiVersion === 0) return 0;
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === API_VERSIONS_KEY) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}

/**
 * Decodes a request header at the reader's cursor (just after the frame's length prefix).
 * Check `r.error` afterwards. For an API key this codec does not know, header v1 is assumed, so
 * the cursor may stop before a tagged-field section such a request could carry.
 */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const start = r.pos;
  const apiKey = r.int16();
  const apiVersion = r.int16();
  r.pos = start;
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const h = decodeRequestHeaderFields(r, headerVersion);
  const out: RequestHeader = {
    apiKey: h.requestApiKey,
    apiVersion: h.requestApiVersion,
    correlationId: h.correlationId,
    clientId: h.clientId,
    headerVersion,
  };
  if (h.unknownTaggedFields) out.unknownTaggedFields = h.unknownTaggedFields;
  return out;
}

/** Writes a request header; the header version follows from the key and version unless given. */
export function encodeRequestHeader(
  w: Writer,
  h: { apiKey: number; apiVersion: number; correlationId: number; clientId: string | null; headerVersion?: number; unknownTaggedFields?: TaggedField[] },
): void {
  const v = h.headerVersion ?? requestHeaderVersion(h.apiKey, h.apiVersion);
  const fields = { requestApiKey: h.apiKey, requestApiVersion: h.apiVersion, correlationId: h.correlationId, clientId: h.clientId };
  encodeRequestHeaderFields(w, v, h.unknownTaggedFields ? { ...fields, unknownTaggedFields: h.unknownTaggedFields } : fields);
}

export interface ResponseHeader {
  correlationId: number;
  headerVersion: number;
  unknownTaggedFields?: TaggedField[];
}

/** Writes the response header for a response to `apiKey` at `apiVersion`. */
export function encodeResponseHeader(w: Writer, correlationId: number, apiKey: number, apiVersion: number): void {
  encodeResponseHeaderFields(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
}

/** Decodes the response header of a response to `apiKey` at `apiVersion` (client side). */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  const headerVersion = responseHeaderVersion(apiKey, apiVersion);
  const h = decodeResponseHeaderFields(r, headerVersion);
  const out: ResponseHeader = { correlationId: h.correlationId, headerVersion };
  if (h.unknownTaggedFields) out.unknownTaggedFields = h.unknownTaggedFields;
  return out;
}
