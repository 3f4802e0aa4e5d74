// Who a Kafka connection acts as, and where its SASL exchange stands. One Session per connection;
// every request's context carries it, so the principal is known wherever a request is handled.
//
// The listener's protocol (Kafka's names) decides how a session starts:
//
// | protocol        | TLS | SASL | first phase | principal before SASL                          |
// |-----------------|-----|------|-------------|-------------------------------------------------|
// | PLAINTEXT       | no  | no   | done        | User:ANONYMOUS                                  |
// | SSL             | yes | no   | done        | User:<CN> of a verified client cert, else ANONYMOUS |
// | SASL_PLAINTEXT  | no  | yes  | handshake   | User:ANONYMOUS (serves nothing until SASL done)  |
// | SASL_SSL        | yes | yes  | handshake   | as SSL (serves nothing until SASL done)          |
//
// What the door admits in each phase (admits(), called by dispatch before anything is decoded
// past the header; Kafka's SaslServerAuthenticator does the same):
//
// | phase        | how it is reached                              | admitted                        | else  |
// |--------------|------------------------------------------------|---------------------------------|-------|
// | handshake    | a SASL listener's new connection               | ApiVersions, SaslHandshake      | close |
// | authenticate | SaslHandshake v1 (first login or re-login)     | SaslAuthenticate                | close |
// | raw          | SaslHandshake v0                               | raw SASL tokens (net/kafka/sasl.ts) | —  |
// | done         | a non-SASL listener, or an exchange's success  | everything                      |       |
// | done+expired | session lifetime over (KIP-368)                | SaslHandshake (a re-login)      | close |
//
// Re-authentication (KIP-368): an authenticated client sends SaslHandshake v1 and SaslAuthenticate
// again, with the same mechanism and ending as the same principal, before its session expires.
// Session lifetime is the listener's sessionLifetimeMs (Kafka's connections.max.reauth.ms; 0 =
// sessions never expire, Kafka's default), told to clients in SaslAuthenticate v1+.
import { ANONYMOUS, type Principal, type SaslExchange, type SaslMechanism } from "../../core/broker/auth.ts";

export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

export interface ListenerSecurity {
  readonly protocol: SecurityProtocol;
  /** Mechanisms offered in SaslHandshake (SASL protocols only). */
  readonly saslMechanisms: readonly SaslMechanism[];
  /** A session's lifetime after each login; 0: no expiry (no re-authentication needed). */
  readonly sessionLifetimeMs: number;
}

export const PLAINTEXT_LISTENER: ListenerSecurity = Object.freeze({ protocol: "PLAINTEXT", saslMechanisms: [], sessionLifetimeMs: 0 });

export function usesSasl(p: SecurityProtocol): boolean {
  return p === "SASL_PLAINTEXT" || p === "SASL_SSL";
}

export function usesTls(p: SecurityProtocol): boolean {
  return p === "SSL" || p === "SASL_SSL";
}

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

export type SaslPhase = "handshake" | "authenticate" | "raw" | "done";

export class Session {
  principal: Principal = ANONYMOUS;
  phase: SaslPhase;
  /** The exchange under way (phases authenticate and raw). */
  exchange: SaslExchange | null = null;
  /** The mechanism of the last successful login: a re-login must use it again. */
  mechanism: SaslMechanism | null = null;
  /** Set when a re-login asked for another mechanism: its SaslAuthenticate fails with this. */
  refusal: string | null = null;
  /** When the session ends (ms since the epoch, Date.now()); 0: never. */
  expiresAtMs = 0;

  constructor(readonly security: ListenerSecurity = PLAINTEXT_LISTENER) {
    this.phase = usesSasl(security.protocol) ? "handshake" : "done";
  }

  get sasl(): boolean {
    return usesSasl(this.security.protocol);
  }

  /** Starts an exchange after a SaslHandshake of `version` (0: raw tokens follow, 1: SaslAuthenticate). */
  begin(exchange: SaslExchange, version: number): void {
    this.exchange = exchange;
    this.phase = version === 0 ? "raw" : "authenticate";
    this.refusal = this.mechanism !== null && this.mechanism !== exchange.mechanism ? `SASL mechanism '${exchange.mechanism}' requested by client is not supported for re-authentication of mechanism '${this.mechanism}'` : null;
  }

  /** The exchange succeeded as `principal`: the session is (again) logged in; returns its lifetime in ms (0: none). */
  complete(principal: Principal, nowMs: number): number {
    this.mechanism = this.exchange!.mechanism;
    this.principal = principal;
    this.exchange = null;
    this.phase = "done";
    const lifetime = this.security.sessionLifetimeMs;
    this.expiresAtMs = lifetime > 0 ? nowMs + lifetime : 0;
    return lifetime;
  }
}

/** Whether a request of `apiKey` may be handled now (the table at the top); false closes the connection. */
export function admits(session: Session, apiKey: number, nowMs: () => number): boolean {
  switch (session.phase) {
    case "done":
      return session.expiresAtMs === 0 || apiKey === SASL_HANDSHAKE || nowMs() < session.expiresAtMs;
    case "handshake":
      return apiKey === API_VERSIONS || apiKey === SASL_HANDSHAKE;
    case "authenticate":
      return apiKey === SASL_AUTHENTICATE;
    case "raw":
      return false;
  }
}
