// SaslAuthenticate (key 36), v0-2 (KIP-152; v1 session_lifetime_ms, KIP-368; v2 flexible). Carries
// one SASL token each way after SaslHandshake v1; the exchange is core's (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512), the session's bookkeeping net/kafka/sasl.ts's.
//
// | session                          | answer                                                        |
// |----------------------------------|---------------------------------------------------------------|
// | not SASL, or logged in and no    | ILLEGAL_SASL_STATE (Kafka's KafkaApis: "received after        |
// | exchange under way               | successful authentication"); the connection stays             |
// | exchange wants another token     | NONE with the server's token                                  |
// | exchange succeeded               | NONE with the last token and session_lifetime_ms (0: none)    |
// | exchange failed                  | SASL_AUTHENTICATION_FAILED with Kafka's message, then close   |
import { ErrorCode } from "../../protocol/errors.ts";
import { SaslAuthenticate, type SaslAuthenticateRequest, type SaslAuthenticateResponse } from "../../protocol/messages/index.ts";
import { AnswerThenClose, defineHandler } from "../handler.ts";
import { loginStep } from "../sasl.ts";

const EMPTY = new Uint8Array(0);

export const saslAuthenticateHandler = defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  api: SaslAuthenticate,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const session = ctx.session;
    if (!session.sasl || session.phase !== "authenticate") {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: "SaslAuthenticate request received after successful authentication", authBytes: EMPTY, sessionLifetimeMs: 0n };
    }
    const step = await loginStep(session, req.authBytes, ctx);
    if (step.kind === "failure") {
      return new AnswerThenClose({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: step.message, authBytes: EMPTY, sessionLifetimeMs: 0n });
    }
    const lifetime = step.kind === "success" ? BigInt(step.sessionLifetimeMs) : 0n;
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.bytes, sessionLifetimeMs: lifetime };
  },
});
