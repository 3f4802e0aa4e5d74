// The Kafka door: a listener that accepts connections (up to a cap), hands bytes to Connection,
// closes connections idle too long, and on stop() refuses new connections, lets in-flight
// requests finish, then closes what is left. It reaches storage only through the broker core.
//
// A listener speaks one security protocol (net/kafka/session.ts). With TLS (SSL, SASL_SSL) Bun's
// own TLS sits under the socket; client certificates (tls.clientAuth):
//
// | clientAuth | asks for a cert | no cert        | a cert the CA does not verify | a verified cert      |
// |------------|-----------------|----------------|-------------------------------|----------------------|
// | none       | no              | ANONYMOUS      | (not asked)                   | (not asked)          |
// | requested  | yes             | ANONYMOUS      | connection closed             | principal User:<CN>  |
// | required   | yes             | closed         | closed                        | principal User:<CN>  |
//
// On SASL_SSL the SASL login's principal replaces the certificate's.
import type { Socket, TCPSocketListener } from "bun";
import type { Broker } from "../../core/broker/broker.ts";
import { listenOrExplain } from "../listen.ts";
import { Admission } from "./admission.ts";
import { Connection } from "./connection.ts";
import { ANONYMOUS, type Principal, userPrincipal } from "../../core/broker/auth.ts";
import type { Handler, KafkaDoor, KafkaDoorOptions } from "./handler.ts";
import { HANDLERS } from "./handlers/index.ts";
import { checkKafkaDoorLimits } from "./limits.ts";
import { type ListenerSecurity, PLAINTEXT_LISTENER, usesTls } from "./session.ts";

export type TlsClientAuth = "none" | "requested" | "required";

/** The certificate a TLS listener presents, PEM text, and how it treats client certificates. */
export interface TlsServerConfig {
  cert: string;
  key: string;
  /** CAs that verify client certificates (needed for requested/required). */
  ca?: string;
  clientAuth: TlsClientAuth;
}

export interface KafkaServerOptions extends KafkaDoorOptions {
  host: string;
  port: number;
  broker: Broker;
  /** Address advertised in Metadata/FindCoordinator instead of the listener's. */
  advertise?: { host: string; port: number };
  /** The protocol and SASL settings (default PLAINTEXT). */
  security?: ListenerSecurity;
  /** Required for SSL and SASL_SSL. */
  tls?: TlsServerConfig;
  /** Request memory and connections per address, shared by every listener of the broker (default:
   * this listener's own, with the default limits). */
  admission?: Admission;
}

export interface KafkaServer {
  host: string;
  port: number;
  /** Stop accepting, wait for in-flight requests (up to graceMs), close every connection. */
  stop(graceMs?: number): Promise<void>;
}

type ConnSocket = Socket<Connection> & { pause(): void; resume(): void };

/** The door's state for one listener: every handler, the options, the advertised address. */
export function kafkaDoor(broker: Broker, options: KafkaDoorOptions, advertised: { host: string; port: number }, security: ListenerSecurity = PLAINTEXT_LISTENER, admission?: Admission): KafkaDoor {
  return { broker, options, handlers: new Map<number, Handler>(HANDLERS.map((h) => [h.api.key, h])), advertised, security, admission };
}

/** Bun's TLS options for a listener. */
function bunTls(tls: TlsServerConfig) {
  const asks = tls.clientAuth !== "none";
  return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: asks, rejectUnauthorized: tls.clientAuth === "required" };
}

/** The principal a finished TLS handshake gives (the table above), or null: close the connection. */
function tlsPrincipal(socket: Socket<Connection>, clientAuth: TlsClientAuth): Principal | null {
  if (clientAuth === "none") return ANONYMOUS;
  const s = socket as unknown as { authorized: boolean; getPeerCertificate(): { subject?: { CN?: string | string[] } } | null | undefined };
  const cert = s.getPeerCertificate();
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return clientAuth === "requested" ? ANONYMOUS : null;
  if (!s.authorized) return null;
  const cn = cert.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name ? userPrincipal(name) : null;
}

export function startKafkaServer(opts: KafkaServerOptions): KafkaServer {
  checkKafkaDoorLimits();
  const { host, port, broker } = opts;
  const security = opts.security ?? PLAINTEXT_LISTENER;
  const tls = usesTls(security.protocol) ? opts.tls : undefined;
  if (usesTls(security.protocol) && tls === undefined) throw new Error(`a ${security.protocol} listener needs a certificate and key`);
  const admission = opts.admission ?? new Admission(broker.log);
  const door = kafkaDoor(
    broker,
    { requestBytesMax: opts.requestBytesMax, maxConnections: opts.maxConnections, idleTimeoutMs: opts.idleTimeoutMs, firstRequestTimeoutMs: opts.firstRequestTimeoutMs, requestBodyTimeoutMs: opts.requestBodyTimeoutMs },
    opts.advertise ?? { host, port },
    security,
    admission,
  );
  const connections = new Set<Connection>();
  const idleSeconds = Math.max(1, Math.ceil(door.options.idleTimeoutMs / 1000));
  const listener: TCPSocketListener<Connection> = listenOrExplain("kafka", host, port, () => Bun.listen<Connection>({
    hostname: host,
    port,
    ...(tls ? { tls: bunTls(tls) } : {}),
    socket: {
      open(socket) {
        const s = socket as ConnSocket;
        const address = socket.remoteAddress;
        const full = connections.size >= door.options.maxConnections;
        if (full || stopping || !admission.addresses.tryOpen(address)) {
          broker.metrics.connectionsRefused++;
          socket.terminate();
          if (!stopping) {
            const why = full ? `--max-connections ${door.options.maxConnections} are open` : `${address} already has --max-connections-per-ip ${admission.addresses.maxPerAddress} open`;
            admission.refusals.warn(full ? "connections" : "connections-per-ip", `refused a Kafka connection from ${address}: ${why}`);
          }
          return;
        }
        (s as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        const conn = new Connection(s, door);
        conn.address = address;
        socket.data = conn;
        connections.add(conn);
        broker.metrics.connectionsOpen++;
        broker.metrics.connectionsTotal++;
        socket.timeout(idleSeconds);
        if (tls) conn.startLoginDeadline();
      },
      handshake(socket) {
        const conn = socket.data;
        if (!conn || tls === undefined) return;
        const principal = tlsPrincipal(socket, tls.clientAuth);
        if (principal === null) {
          broker.log.debug?.(`closing TLS connection from ${socket.remoteAddress}: client certificate missing or not verified`);
          conn.closeNow();
          return;
        }
        conn.session.principal = principal;
        conn.tlsHandshakeDone();
      },
      data(socket, chunk) {
        socket.timeout(idleSeconds);
        socket.data?.onData(chunk);
      },
      drain(socket) {
        socket.data?.onDrain();
      },
      timeout(socket) {
        // Idle: nothing read for idleTimeoutMs. A long-polling fetch is not idle.
        const conn = socket.data;
        if (conn && !conn.idle) socket.timeout(idleSeconds);
        else conn?.closeNow();
      },
      close(socket) {
        const conn = socket.data;
        if (conn && connections.delete(conn)) {
          admission.addresses.close(conn.address);
          conn.onClose();
          broker.metrics.connectionsOpen--;
        }
      },
      error(socket) {
        socket.data?.closeNow();
      },
    },
  }));
  let stopping = false;
  if (opts.advertise === undefined) door.advertised = { host, port: listener.port };
  return {
    host,
    port: listener.port,
    async stop(graceMs = 5000) {
      stopping = true;
      listener.stop(false);
      // In-flight requests finish (parked long polls were already woken by the shutdown signal),
      // their answers are handed to the sockets, then every connection is closed.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
      await Promise.race([Promise.all([...connections].map((c) => c.whenIdle())), grace]);
      clearTimeout(timer);
      for (const c of connections) c.closeNow();
      listener.stop(true);
    },
  };
}
