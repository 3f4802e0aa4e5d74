// `serve`'s Kafka listeners and their security, from flags to what the doors start with:
//
//   --listener PROTOCOL://HOST:PORT   repeatable; PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (Kafka's names)
//   --kafka-listen HOST:PORT          shorthand for one PLAINTEXT listener (listed first)
//   --advertise [PROTOCOL://]HOST:PORT  what Metadata tells clients of the listener of that protocol
//                                     (without PROTOCOL: of the only listener)
//   --tls-cert/--tls-key/--tls-ca     the TLS listeners' (and --http-tls') certificate
//   --tls-client-auth none|requested|required   client certificates on SSL listeners (SASL_SSL
//                                     listeners authenticate by SASL and ask for none, as Kafka's
//                                     ssl.client.auth without a listener prefix)
//   --sasl-mechanisms, --sasl-session-lifetime-ms, --super-users, --insecure-listener
//
// Secure by default (issue #18): a listener off loopback that authenticates nobody (not SASL, not
// SSL with --tls-client-auth required) is refused unless --insecure-listener says it is meant.
import { readFileSync } from "node:fs";
import { isSaslMechanism, SASL_MECHANISMS, type SaslMechanism } from "../core/broker/auth.ts";
import type { TlsClientAuth, TlsServerConfig } from "../net/kafka/server.ts";
import { type ListenerSecurity, SECURITY_PROTOCOLS, type SecurityProtocol, usesSasl, usesTls } from "../net/kafka/session.ts";
import { UsageError } from "./io.ts";
import { formatHostPort, type HostPort, parseHostPort } from "./listen-address.ts";

export interface KafkaListenerSpec {
  protocol: SecurityProtocol;
  address: HostPort;
  /** What Metadata advertises instead of the listener's own address. */
  advertise?: HostPort;
  security: ListenerSecurity;
}

export interface ListenerFlags {
  kafkaListen?: string;
  listener?: string[];
  advertise?: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth?: string;
  httpTls?: boolean;
  saslMechanisms?: string;
  saslSessionLifetimeMs?: string;
  superUsers?: string;
  insecureListener?: boolean;
}

export interface ResolvedListeners {
  listeners: KafkaListenerSpec[];
  /** Present when a listener or the HTTP door uses TLS. */
  tls?: TlsServerConfig;
  /** Whether any listener authenticates its clients (then authorization is on). */
  authenticates: boolean;
  superUsers: string[];
}

export const DEFAULT_KAFKA_LISTEN = "127.0.0.1:9092";

/** `SASL_SSL://host:port` → its parts (a usage error names the flag). */
export function parseListener(flag: string, value: string): { protocol: SecurityProtocol; address: HostPort } {
  const m = /^([A-Z_]+):\/\/(.+)$/.exec(value);
  if (!m) throw new UsageError(`${flag}: expected PROTOCOL://HOST:PORT (PROTOCOL one of ${SECURITY_PROTOCOLS.join(", ")}), got "${value}"`);
  const protocol = m[1] as SecurityProtocol;
  if (!SECURITY_PROTOCOLS.includes(protocol)) throw new UsageError(`${flag}: unknown protocol ${m[1]}: expected one of ${SECURITY_PROTOCOLS.join(", ")}`);
  return { protocol, address: parseHostPort(flag, m[2]!) };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** How the ready line names a listener: PLAINTEXT as HOST:PORT (the pre-listener form), others with their protocol. */
export function readyName(protocol: SecurityProtocol, address: HostPort): string {
  return protocol === "PLAINTEXT" ? formatHostPort(address) : `${protocol}://${formatHostPort(address)}`;
}

function readPem(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new UsageError(`${flag} ${path}: not a PEM file`);
  return text;
}

function tlsConfig(flags: ListenerFlags, needed: string | null): TlsServerConfig | undefined {
  const clientAuth = (flags.tlsClientAuth ?? "none") as TlsClientAuth;
  if (!["none", "requested", "required"].includes(clientAuth)) throw new UsageError(`--tls-client-auth: expected none, requested or required, got "${flags.tlsClientAuth}"`);
  if (needed === null) {
    if (flags.tlsCert || flags.tlsKey) throw new UsageError("--tls-cert/--tls-key: no SSL or SASL_SSL listener and no --http-tls would use them");
    return undefined;
  }
  if (!flags.tlsCert || !flags.tlsKey) throw new UsageError(`${needed} needs --tls-cert FILE and --tls-key FILE`);
  if (clientAuth !== "none" && !flags.tlsCa) throw new UsageError(`--tls-client-auth ${clientAuth} needs --tls-ca FILE (the CA that signs client certificates)`);
  return { cert: readPem("--tls-cert", flags.tlsCert)!, key: readPem("--tls-key", flags.tlsKey)!, ca: readPem("--tls-ca", flags.tlsCa), clientAuth };
}

function saslMechanisms(value: string | undefined): SaslMechanism[] {
  if (value === undefined) return [...SASL_MECHANISMS];
  const list = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const m of list) if (!isSaslMechanism(m)) throw new UsageError(`--sasl-mechanisms: unknown mechanism ${m}: expected ${SASL_MECHANISMS.join(", ")}`);
  if (list.length === 0) throw new UsageError("--sasl-mechanisms: at least one mechanism");
  return list as SaslMechanism[];
}

/** The advertised address of each listener, from --advertise values. */
function applyAdvertise(listeners: KafkaListenerSpec[], values: string[]): void {
  for (const value of values) {
    if (!value.includes("://")) {
      if (listeners.length !== 1) throw new UsageError(`--advertise ${value}: with ${listeners.length} listeners, say which: --advertise PROTOCOL://HOST:PORT`);
      listeners[0]!.advertise = parseHostPort("--advertise", value);
      continue;
    }
    const { protocol, address } = parseListener("--advertise", value);
    const matching = listeners.filter((l) => l.protocol === protocol);
    if (matching.length !== 1) throw new UsageError(`--advertise ${value}: ${matching.length === 0 ? "no" : "more than one"} ${protocol} listener`);
    if (matching[0]!.advertise) throw new UsageError(`--advertise: two addresses for the ${protocol} listener`);
    matching[0]!.advertise = address;
  }
}

export function resolveListeners(flags: ListenerFlags): ResolvedListeners {
  const given = [
    ...(flags.kafkaListen !== undefined ? [{ protocol: "PLAINTEXT" as const, address: parseHostPort("--kafka-listen", flags.kafkaListen) }] : []),
    ...(flags.listener ?? []).map((v) => parseListener("--listener", v)),
  ];
  if (given.length === 0) given.push({ protocol: "PLAINTEXT", address: parseHostPort("--kafka-listen", DEFAULT_KAFKA_LISTEN) });
  const seen = new Set<string>();
  for (const l of given) {
    const key = formatHostPort(l.address);
    if (l.address.port !== 0 && seen.has(key)) throw new UsageError(`--listener: two listeners on ${key}`);
    seen.add(key);
  }
  const lifetime = flags.saslSessionLifetimeMs === undefined ? 0 : Number(flags.saslSessionLifetimeMs);
  if (!/^\d+$/.test(flags.saslSessionLifetimeMs ?? "0") || !Number.isSafeInteger(lifetime)) throw new UsageError(`--sasl-session-lifetime-ms: expected a non-negative integer, got "${flags.saslSessionLifetimeMs}"`);
  const mechanisms = saslMechanisms(flags.saslMechanisms);
  const anySasl = given.some((l) => usesSasl(l.protocol));
  if (!anySasl && (flags.saslMechanisms !== undefined || flags.saslSessionLifetimeMs !== undefined)) throw new UsageError("--sasl-mechanisms/--sasl-session-lifetime-ms: no SASL_PLAINTEXT or SASL_SSL listener");
  const tlsUser = given.find((l) => usesTls(l.protocol));
  const tls = tlsConfig(flags, tlsUser ? `the ${tlsUser.protocol} listener` : flags.httpTls ? "--http-tls" : null);
  const clientAuthRequired = tls?.clientAuth === "required";
  const listeners: KafkaListenerSpec[] = given.map((l) => ({
    ...l,
    security: { protocol: l.protocol, saslMechanisms: usesSasl(l.protocol) ? mechanisms : [], sessionLifetimeMs: usesSasl(l.protocol) ? lifetime : 0 },
  }));
  applyAdvertise(listeners, flags.advertise ?? []);
  const authenticating = (l: KafkaListenerSpec) => usesSasl(l.protocol) || (l.protocol === "SSL" && clientAuthRequired);
  for (const l of listeners) {
    if (authenticating(l) || isLoopback(l.address.host) || flags.insecureListener) continue;
    throw new UsageError(
      `listener ${readyName(l.protocol, l.address)} is not on loopback and authenticates nobody: use SASL_SSL (or SSL with --tls-client-auth required), or add --insecure-listener to open it anyway`,
    );
  }
  const superUsers = (flags.superUsers ?? "").split(/[;,]/).map((s) => s.trim()).filter((s) => s !== "");
  for (const s of superUsers) if (!/^User:.+$/.test(s)) throw new UsageError(`--super-users: expected principals like User:alice, got "${s}"`);
  return { listeners, tls, authenticates: listeners.some(authenticating), superUsers };
}
