// The one place that turns failures into the control plane's JSON error shape:
// {"error":{"code":"...","message":"..."}} with a 4xx/5xx status. Core's codes keep their names;
// the control plane's own are BAD_REQUEST, INVALID_JSON, UNKNOWN_FIELD, NOT_FOUND,
// METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, UNAUTHORIZED (401), NOT_AUTHORIZED
// (403), CROSS_ORIGIN (403) and MISDIRECTED_REQUEST (421) from net/http/guard.ts, GROUP_* ; the
// front (net/http/front.ts) answers REQUEST_HEADERS_TOO_LARGE (431), URI_TOO_LONG (414) and
// BAD_REQUEST, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE in the same shape.
import { CoreError, type CoreErrorCode } from "../../core/errors.ts";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_BY_CORE_CODE: Partial<Record<CoreErrorCode, number>> = {
  INVALID_TOPIC: 400,
  INVALID_PARTITIONS: 400,
  INVALID_CONFIG: 400,
  INVALID_RECORD: 400,
  CORRUPT_BATCH: 400,
  UNSUPPORTED_COMPRESSION: 400,
  DECOMPRESSION_LIMIT: 400,
  MESSAGE_TOO_LARGE: 413,
  INVALID_TIMESTAMP: 400,
  UNKNOWN_TOPIC: 404,
  UNKNOWN_PARTITION: 404,
  PRODUCER_FENCED: 400,
  OUT_OF_ORDER_SEQUENCE: 400,
  INVALID_TXN_STATE: 400,
  COORDINATOR_FENCED: 409,
  DATA_DIR_LOCKED: 503,
  NOT_LEADER: 421,
  FENCED_LEADER_EPOCH: 409,
  UNKNOWN_LEADER_EPOCH: 409,
  NOT_ENOUGH_REPLICAS: 503,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 503,
  TOPIC_EXISTS: 409,
  OFFSET_OUT_OF_RANGE: 416,
  POLICY_VIOLATION: 409,
  STORAGE: 507,
  CLOSED: 503,
  USER_NOT_FOUND: 404,
  USER_EXISTS: 409,
  UNACCEPTABLE_CREDENTIAL: 400,
  DUPLICATE_RESOURCE: 400,
  UNSUPPORTED_MECHANISM: 400,
  NOT_AUTHORIZED: 403,
  INVALID_ACL: 400,
  SECURITY_DISABLED: 409,
};

export function badRequest(message: string, code = "BAD_REQUEST"): HttpError {
  return new HttpError(400, code, message);
}

export function notFound(message: string, code = "NOT_FOUND"): HttpError {
  return new HttpError(404, code, message);
}

/** The status and JSON body for any failure. */
export function errorBody(err: unknown): { status: number; body: { error: { code: string; message: string } } } {
  let status = 500;
  let code = "INTERNAL";
  let message = "internal error";
  if (err instanceof HttpError) {
    ({ status, code } = err);
    message = err.message;
  } else if (err instanceof CoreError) {
    status = STATUS_BY_CORE_CODE[err.code] ?? 500;
    code = err.code;
    message = withoutEcho(err);
  } else if (err instanceof Error) {
    message = err.message;
  }
  return { status, body: { error: { code, message } } };
}

/** "topic 'x' does not exist (topic x)" → "topic 'x' does not exist": the context names the
 * topic again when the message already did. */
function withoutEcho(err: CoreError): string {
  const topic = err.context.topic;
  if (topic === undefined || !err.message.includes(`'${topic}'`)) return err.message;
  const suffix = ` (topic ${topic})`;
  return err.message.endsWith(suffix) ? err.message.slice(0, -suffix.length) : err.message;
}

export function errorResponse(err: unknown): Response {
  const { status, body } = errorBody(err);
  return Response.json(body, { status });
}
