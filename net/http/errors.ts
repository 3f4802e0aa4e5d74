// The one place that turns failures into the control plane's JSON error shape:
// {"error":{"code":"...","message":"..."}} with a 4xx/5xx status.
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
  MESSAGE_TOO_LARGE: 413,
  INVALID_TIMESTAMP: 400,
  UNKNOWN_TOPIC: 404,
  TOPIC_EXISTS: 409,
  OFFSET_OUT_OF_RANGE: 416,
  STORAGE: 507,
  CLOSED: 503,
};

export function errorResponse(err: unknown): Response {
  let status = 500;
  let code = "INTERNAL";
  let message = "internal error";
  if (err instanceof HttpError) {
    ({ status, code } = err);
    message = err.message;
  } else if (err instanceof CoreError) {
    status = STATUS_BY_CORE_CODE[err.code] ?? 500;
    code = err.code;
    message = err.message;
  } else if (err instanceof Error) {
    message = err.message;
  }
  return Response.json({ error: { code, message } }, { status });
}
