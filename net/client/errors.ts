// Errors the client raises. A Kafka error code from a response stays a number on `KafkaClientError`
// so callers branch on it (`err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION`); connection-level
// failures (refused, closed mid-request, a frame that does not decode) are `ConnectionError`,
// which the client treats as retriable: reconnect, refresh metadata, try again.
import { errorByCode, isRetriable } from "../protocol/errors.ts";

export class KafkaClientError extends Error {
  override name = "KafkaClientError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  get retriable(): boolean {
    return isRetriable(this.code);
  }
}

/** `what` failed with Kafka error `code`: "produce to t/0: NOT_LEADER_OR_FOLLOWER (6)". */
export function kafkaError(code: number, what: string, detail?: string | null): KafkaClientError {
  const name = errorByCode(code)?.name ?? "UNKNOWN";
  return new KafkaClientError(code, `${what}: ${name} (${code})${detail ? `: ${detail}` : ""}`);
}

export class ConnectionError extends Error {
  override name = "ConnectionError";
  readonly retriable = true;
}

/** A broker did not accept a connection, or did not answer a request, in time (connection.ts). */
export class TimeoutError extends ConnectionError {
  override name = "TimeoutError";
  constructor(
    /** HOST:PORT of the broker that stayed silent. */
    readonly address: string,
    message: string,
  ) {
    super(message);
  }
}

/** The client was closed while something still used it: final, never retried. */
export class ClientClosedError extends Error {
  override name = "ClientClosedError";
  constructor() {
    super("client closed");
  }
}

/** Whether an error is worth retrying after a backoff (and a metadata refresh). */
export function isRetriableError(err: unknown): boolean {
  if (err instanceof AuthenticationError) return false;
  if (err instanceof ConnectionError) return true;
  if (err instanceof KafkaClientError) return err.retriable;
  return false;
}

/** A TLS handshake or SASL login the broker (or we) refused: retrying with the same settings
 * cannot help, so it is never retried. `code` is Kafka's (SASL_AUTHENTICATION_FAILED…) when the
 * broker said so. */
export class AuthenticationError extends Error {
  override name = "AuthenticationError";
  readonly retriable = false;
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}
