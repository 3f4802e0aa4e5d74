// SaslHandshake (key 17), v0-1 (KIP-43, KIP-152). Picks the SASL mechanism of a connection's login
// on a SASL listener; what follows depends on the version: v0, raw length-prefixed SASL tokens
// (net/kafka/sasl.ts); v1, SaslAuthenticate requests. The answer lists the listener's mechanisms.
//
// | listener / session                       | answer                                               |
// |------------------------------------------|------------------------------------------------------|
// | not SASL (PLAINTEXT, SSL)                 | ILLEGAL_SASL_STATE (as Kafka's KafkaApis)            |
// | SASL, not logged in, mechanism offered    | NONE; the exchange starts                            |
// | SASL, mechanism not offered               | UNSUPPORTED_SASL_MECHANISM, then the connection closes |
// | SASL, logged in, v1 (a re-login, KIP-368) | NONE; another mechanism than the first login's fails at SaslAuthenticate |
// | SASL, logged in, v0                       | ILLEGAL_SASL_STATE, then close (v0 clients cannot re-login) |
//
// Only ApiVersions and SaslHandshake reach a SASL connection before this (net/kafka/session.ts).
import { isSaslMechanism } from "../../../core/broker/auth.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { SaslHandshake, type SaslHandshakeRequest, type SaslHandshakeResponse } from "../../protocol/messages/index.ts";
import { AnswerThenClose, defineHandler } from "../handler.ts";

export const saslHandshakeHandler = defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  api: SaslHandshake,
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const session = ctx.session;
    const mechanisms = [...session.security.saslMechanisms];
    if (!session.sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    if (!isSaslMechanism(req.mechanism) || !mechanisms.includes(req.mechanism)) {
      ctx.broker.log.info(`failed SASL login from ${ctx.remoteAddress ?? "?"}: mechanism ${JSON.stringify(req.mechanism)} is not enabled`);
      return new AnswerThenClose({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms });
    }
    if (session.phase !== "handshake" && !(session.phase === "done" && ctx.apiVersion >= 1)) {
      return new AnswerThenClose({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms });
    }
    session.begin(ctx.broker.auth.startSasl(req.mechanism), ctx.apiVersion);
    return { errorCode: ErrorCode.NONE, mechanisms };
  },
});
