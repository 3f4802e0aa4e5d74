// The client side of a broker's security: TLS under the connection and a SASL login right after
// the versions are known (SaslHandshake v1 then SaslAuthenticate, KIP-152), with PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512 (core/security/scram.ts does the SCRAM math; the server's
// signature is checked, so a broker that does not know the password cannot pass for one that
// does). Failures are AuthenticationErrors: never retried.
//
// Re-login (KIP-368) is not done: when a broker gives the session a lifetime, it closes the
// connection at the first request after expiry and the client reconnects (and logs in again),
// as after any lost connection.
import { ScramClient } from "../../core/security/scram.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { SaslAuthenticate, SaslHandshake } from "../protocol/messages/index.ts";
import { AuthenticationError } from "./errors.ts";

export type ClientSaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
export const CLIENT_SASL_MECHANISMS: readonly ClientSaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

export interface ClientTls {
  /** PEM text of the CAs to trust (default: the system's). */
  ca?: string;
  /** PEM text of a client certificate and its key (mTLS). */
  cert?: string;
  key?: string;
}

export interface ClientSasl {
  mechanism: ClientSaslMechanism;
  username: string;
  password: string;
}

export interface ClientSecurity {
  tls?: ClientTls;
  sasl?: ClientSasl;
}

/** What the login needs of a connection (net/client/connection.ts). */
interface Requester {
  readonly address: string;
  request<Req, Res>(api: { key: number; name: string }, body: Req, version?: number): Promise<Res>;
  supports(api: { key: number }): boolean;
}

const utf8 = new TextEncoder();

export async function saslLogin(conn: Requester, sasl: ClientSasl): Promise<void> {
  if (!conn.supports(SaslHandshake) || !conn.supports(SaslAuthenticate)) {
    throw new AuthenticationError(`${conn.address} does not offer SASL (SaslHandshake v1 and SaslAuthenticate): is it a SASL listener?`);
  }
  const hs = await conn.request<{ mechanism: string }, { errorCode: number; mechanisms: string[] }>(SaslHandshake, { mechanism: sasl.mechanism });
  if (hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    throw new AuthenticationError(`${conn.address} does not offer SASL ${sasl.mechanism} (it offers ${hs.mechanisms.join(", ") || "none"})`, hs.errorCode);
  }
  if (hs.errorCode !== 0) throw new AuthenticationError(`SASL handshake with ${conn.address} failed: error ${hs.errorCode}${hs.errorCode === ErrorCode.ILLEGAL_SASL_STATE ? " (not a SASL listener?)" : ""}`, hs.errorCode);
  const step = async (token: Uint8Array): Promise<Uint8Array> => {
    const res = await conn.request<{ authBytes: Uint8Array }, { errorCode: number; errorMessage: string | null; authBytes: Uint8Array }>(SaslAuthenticate, { authBytes: token });
    if (res.errorCode !== 0) throw new AuthenticationError(`SASL ${sasl.mechanism} login to ${conn.address} as ${sasl.username} failed: ${res.errorMessage ?? `error ${res.errorCode}`}`, res.errorCode);
    return res.authBytes;
  };
  if (sasl.mechanism === "PLAIN") {
    await step(utf8.encode(`\0${sasl.username}\0${sasl.password}`));
    return;
  }
  const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password);
  const serverFirst = await step(scram.first());
  let final: Uint8Array;
  try {
    final = await scram.finalAsync(serverFirst);
  } catch (err) {
    throw new AuthenticationError(`SASL ${sasl.mechanism} with ${conn.address}: ${(err as Error).message}`);
  }
  const serverFinal = await step(final);
  try {
    scram.verify(serverFinal);
  } catch (err) {
    throw new AuthenticationError(`SASL ${sasl.mechanism} with ${conn.address}: ${(err as Error).message}`);
  }
}
