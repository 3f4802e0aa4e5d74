// One step of a SASL login on a Kafka connection, whichever way its tokens travel: inside
// SaslAuthenticate requests (after SaslHandshake v1) or as raw length-prefixed tokens (after
// SaslHandshake v0, KIP-43's unframed exchange: no request header, no correlation id, the answer is
// the server's token behind a 4-byte length; a failure just closes the connection). The exchange
// itself (PLAIN, SCRAM) is core's (core/broker/auth.ts); this turns its steps into what the
// session and the client see.
//
// What a client is told on failure is Kafka's wording, which names no user and says nothing of
// why; the reason goes to the broker's log with the client's address.
import { type Principal, principalString, samePrincipal } from "../../core/broker/auth.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { CLOSE_CONNECTION, EncodedResponse } from "./handler.ts";
import type { Session } from "./session.ts";

export type LoginStep =
  | { kind: "challenge"; bytes: Uint8Array }
  | { kind: "success"; bytes: Uint8Array; sessionLifetimeMs: number }
  | { kind: "failure"; message: string };

interface StepContext {
  broker: Broker;
  remoteAddress?: string;
}

/** Feeds the client's `token` to the session's exchange; on success the session is logged in. */
export async function loginStep(session: Session, token: Uint8Array, ctx: StepContext): Promise<LoginStep> {
  const exchange = session.exchange;
  const relogin = session.mechanism !== null;
  const what = relogin ? "re-authentication" : "authentication";
  if (exchange === null) return { kind: "failure", message: "no SASL exchange under way" };
  if (session.refusal !== null) return failed(ctx, session.refusal, session.refusal);
  const step = await exchange.step(token);
  if (step.kind === "challenge") return step;
  if (step.kind === "failure") {
    const message = exchange.mechanism === "PLAIN" ? "Authentication failed: Invalid username or password" : `Authentication failed during ${what} due to invalid credentials with SASL mechanism ${exchange.mechanism}`;
    return failed(ctx, message, `${exchange.mechanism} ${what} failed: ${step.reason}`);
  }
  if (relogin && !samePrincipal(session.principal, step.principal)) {
    const message = `Cannot change principals during re-authentication from ${principalString(session.principal)}: ${principalString(step.principal)}`;
    return failed(ctx, message, message);
  }
  const sessionLifetimeMs = session.complete(step.principal, Date.now());
  ctx.broker.log.debug?.(`${principalString(step.principal as Principal)} logged in with ${exchange.mechanism} from ${ctx.remoteAddress}`);
  return { kind: "success", bytes: step.bytes, sessionLifetimeMs };
}

function failed(ctx: StepContext, message: string, logged: string): LoginStep {
  ctx.broker.log.info(`failed SASL login from ${ctx.remoteAddress ?? "?"}: ${logged}`);
  return { kind: "failure", message };
}

/** A raw token after SaslHandshake v0 (`frame` is its 4-byte length and the token): the server's
 * token back the same way, or a closed connection. */
export async function saslRawToken(frame: Uint8Array, session: Session, ctx: StepContext): Promise<EncodedResponse | typeof CLOSE_CONNECTION> {
  try {
    const step = await loginStep(session, frame.subarray(4), ctx);
    if (step.kind === "failure") return CLOSE_CONNECTION;
    const out = new Uint8Array(4 + step.bytes.length);
    new DataView(out.buffer).setInt32(0, step.bytes.length);
    out.set(step.bytes, 4);
    return new EncodedResponse(out);
  } catch (err) {
    ctx.broker.log.error(`SASL exchange failed: ${(err as Error)?.stack ?? err}`);
    return CLOSE_CONNECTION;
  }
}
