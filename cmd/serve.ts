// `streamctl serve`, the composition root: opens the broker core (the data-dir lock, recovery),
// starts its two doors (the Kafka listener, the HTTP control plane), prints the one ready line,
// and on SIGINT/SIGTERM stops accepting, finishes in-flight requests, syncs and closes cleanly,
// exiting 0.
//
// Stop order: the core's shutdown signal (long polls and streams answer at once) → each door
// refuses new connections and lets in-flight requests finish → the core closes (sync,
// clean-shutdown marker, the lock).
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Io, UsageError } from "./io.ts";
import { formatHostPort, parseHostPort, type HostPort } from "./listen-address.ts";
import { Broker, type BrokerLog } from "../core/broker/broker.ts";
import { CoreError } from "../core/errors.ts";
import type { GroupCoordinatorConfig } from "../core/groups/coordinator.ts";
import { type FsyncPolicy, parseFsyncPolicy } from "../core/log/durability.ts";
import { CLEANER_CHECK_MS, CLEANER_IO_BYTES_PER_S_DEFAULT, REQUEST_BODY_TIMEOUT_MS_DEFAULT, REQUEST_BYTES_MAX } from "../core/limits.ts";
import { hostName, normaliseOrigin } from "../net/http/guard.ts";
import { startHttpServer } from "../net/http/server.ts";
import { Admission } from "../net/kafka/admission.ts";
import { FIRST_REQUEST_TIMEOUT_MS_DEFAULT, IDLE_TIMEOUT_MS_DEFAULT, MAX_CONNECTIONS_DEFAULT, MAX_CONNECTIONS_PER_IP_DEFAULT, REQUEST_MEMORY_BYTES_DEFAULT } from "../net/kafka/limits.ts";
import { type KafkaServer, startKafkaServer, type TlsServerConfig } from "../net/kafka/server.ts";
import { type SecurityProtocol, usesSasl } from "../net/kafka/session.ts";
import { isLoopback, type KafkaListenerSpec, type ListenerFlags, readyName, resolveListeners } from "./serve-listeners.ts";
import { ClusterNode } from "../net/cluster/node.ts";

export interface BrokerOptions {
  dataDir: string;
  /** The Kafka listeners, in the order given (cmd/serve-listeners.ts). */
  listeners: KafkaListenerSpec[];
  /** null: no HTTP control plane (`--http-listen none`). */
  http: HostPort | null;
  /** The certificate of TLS listeners and of --http-tls. */
  tls?: TlsServerConfig;
  /** Serve the HTTP door over TLS with `tls`'s certificate. */
  httpTls?: boolean;
  /** Whether any listener authenticates (authorization is on then). */
  authenticates?: boolean;
  superUsers?: string[];
  /** STREAMCTL_ADMIN_PASSWORD: makes the super user admin on a first start with a SASL listener. */
  adminPassword?: string;
  fsync: FsyncPolicy;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  httpToken?: string;
  /** More names Host may carry on a loopback control plane without a token (--http-host). */
  httpHosts?: readonly string[];
  /** Origins allowed cross-origin requests and CORS (--http-cors-origin). */
  corsOrigins?: readonly string[];
  maxConnections: number;
  idleTimeoutMs: number;
  /** Bytes of requests in flight across every Kafka connection (--max-request-memory). */
  maxRequestMemory?: number;
  maxConnectionsPerIp?: number;
  firstRequestTimeoutMs?: number;
  /** A Kafka frame begun and then silent, or an HTTP body not whole, this long ends its connection (--request-body-timeout-ms). */
  requestBodyTimeoutMs?: number;
  /** Group coordinator settings (session timeout bounds, initial rebalance delay). */
  groups?: Partial<GroupCoordinatorConfig>;
  /** Cluster mode: this broker's id and the etcd that holds the cluster's metadata. */
  cluster?: { nodeId: number; etcd: string; name: string; replicaLagMaxMs?: number };
  /** Detail lines too (recovery per partition); otherwise one summary line per subject. */
  verbose?: boolean;
  /** The log cleaner's bound on bytes read plus written per second (0: none). */
  cleanerIoBytesPerSecond?: number;
  /** How often the log cleaner looks for dirty logs (Kafka's log.cleaner.backoff.ms). */
  cleanerBackoffMs?: number;
}

export interface RunningBroker {
  /** The first listener's address (port 0 resolved). */
  kafka: HostPort;
  /** Every listener with its real port, in order. */
  listeners: Array<{ protocol: SecurityProtocol; address: HostPort }>;
  http: HostPort | null;
  broker: Broker;
  stop(): Promise<void>;
}

/** Opens the core and starts both doors; a failure part way undoes what was started. */
export async function startBroker(options: BrokerOptions, logLine: (line: string) => void): Promise<RunningBroker> {
  const log: BrokerLog = { info: logLine, warn: (l) => logLine(`warning: ${l}`), error: (l) => logLine(`error: ${l}`), debug: options.verbose ? logLine : () => {} };
  const broker = await Broker.open(
    {
      dataDir: options.dataDir,
      nodeId: options.cluster?.nodeId ?? 0,
      fsync: options.fsync,
      autoCreateTopics: options.autoCreateTopics,
      defaultPartitions: options.defaultPartitions,
      groups: options.groups,
      auth: { superUsers: options.superUsers, authorizationEnabled: options.authenticates ?? false },
      cleaner: { ioBytesPerSecond: options.cleanerIoBytesPerSecond, checkMs: options.cleanerBackoffMs },
      cluster: options.cluster !== undefined,
    },
    log,
  );
  const kafka: KafkaServer[] = [];
  let cluster: ClusterNode | undefined;
  try {
    await bootstrapUsers(broker, options, log);
    // One request memory and one count per client address for every listener.
    const admission = new Admission(log, options.maxRequestMemory, options.maxConnectionsPerIp);
    broker.metrics.requestMemory = () => ({ usedBytes: admission.memory.used, maxBytes: admission.memory.maxBytes, waiting: admission.memory.waiting });
    for (const l of options.listeners) {
      kafka.push(
        startKafkaServer({
          host: l.address.host,
          port: l.address.port,
          broker,
          requestBytesMax: REQUEST_BYTES_MAX,
          maxConnections: options.maxConnections,
          idleTimeoutMs: options.idleTimeoutMs,
          firstRequestTimeoutMs: options.firstRequestTimeoutMs,
          requestBodyTimeoutMs: options.requestBodyTimeoutMs,
          admission,
          advertise: l.advertise,
          security: l.security,
          // Client certificates are asked for on SSL listeners only: on SASL_SSL the login
          // authenticates (as Kafka, where ssl.client.auth applies to SASL_SSL only per listener).
          tls: options.tls && l.protocol === "SASL_SSL" ? { ...options.tls, clientAuth: "none" } : options.tls,
        }),
      );
    }
    const listeners = options.listeners.map((l, i) => ({ protocol: l.protocol, address: { host: l.address.host, port: kafka[i]!.port } }));
    if (options.cluster !== undefined) {
      // One listener in cluster mode (resolveServeOptions says so): its address goes to etcd.
      const first = options.listeners[0]!;
      const advertise = first.advertise ?? { host: first.address.host === "0.0.0.0" || first.address.host === "::" ? "127.0.0.1" : first.address.host, port: kafka[0]!.port };
      cluster = new ClusterNode(broker, { nodeId: options.cluster.nodeId, etcdEndpoints: options.cluster.etcd, clusterName: options.cluster.name, advertise, replicaLagMaxMs: options.cluster.replicaLagMaxMs });
      await cluster.start();
    }
    const httpAt = options.http;
    const http = httpAt === null ? null : startHttpServer({
            host: httpAt.host,
            port: httpAt.port,
            token: options.httpToken,
            broker,
            tls: options.httpTls ? options.tls : undefined,
            allowedHosts: options.httpHosts,
            corsOrigins: options.corsOrigins,
            privateDir: options.dataDir,
            // The same bounds as a Kafka listener's; one count per client address across both doors.
            connections: {
              max: options.maxConnections,
              perAddress: admission.addresses,
              headTimeoutMs: options.firstRequestTimeoutMs ?? FIRST_REQUEST_TIMEOUT_MS_DEFAULT,
              bodyTimeoutMs: options.requestBodyTimeoutMs ?? REQUEST_BODY_TIMEOUT_MS_DEFAULT,
              timedOut(kind, line) {
                broker.metrics.connectionTimedOut(kind);
                if (line !== null) admission.refusals.warn(kind, line);
              },
              refused(address, why) {
                broker.metrics.connectionsRefused++;
                admission.refusals.warn(why.startsWith("--max-connections ") ? "http-connections" : "http-connections-per-ip", `refused an HTTP connection from ${address}: ${why}`);
              },
            },
          });
    const clusterNode = cluster;
    return {
      kafka: listeners[0]!.address,
      listeners,
      http: httpAt === null || http === null ? null : { host: httpAt.host, port: http.port },
      broker,
      async stop() {
        // Leaving the cluster first: our partitions get new leaders while we finish requests.
        await clusterNode?.stop();
        broker.beginShutdown();
        await Promise.all(kafka.map((k) => k.stop()));
        await http?.stop();
        await broker.close();
      },
    };
  } catch (err) {
    await cluster?.stop().catch(() => {});
    broker.beginShutdown();
    await Promise.all(kafka.map((k) => k.stop(0)));
    await broker.close();
    throw err;
  }
}

/** First start with a SASL listener and no users: the super user admin from STREAMCTL_ADMIN_PASSWORD, or a refusal. */
async function bootstrapUsers(broker: Broker, options: BrokerOptions, log: BrokerLog): Promise<void> {
  if (!options.listeners.some((l) => usesSasl(l.protocol)) || broker.auth.userCount > 0) return;
  if (!options.adminPassword) {
    throw new UsageError("a SASL listener needs users and there are none yet: set STREAMCTL_ADMIN_PASSWORD to create the super user admin on this first start");
  }
  await broker.auth.bootstrapAdmin(options.adminPassword);
  log.info("created the super user admin from STREAMCTL_ADMIN_PASSWORD (first start with a SASL listener)");
}

export interface ServeFlags extends ListenerFlags {
  dataDir?: string;
  httpListen?: string;
  config?: string;
  fsync?: string;
  autoCreate?: boolean;
  defaultPartitions?: string;
  /** Only from a --config file (a file is not in `ps`); on the command line see httpTokenFile. */
  httpToken?: string;
  httpTokenFile?: string;
  httpHost?: string[];
  httpCorsOrigin?: string[];
  maxConnections?: string;
  idleTimeoutMs?: string;
  maxRequestMemory?: string;
  maxConnectionsPerIp?: string;
  firstRequestTimeoutMs?: string;
  requestBodyTimeoutMs?: string;
  nodeId?: string;
  cluster?: string;
  clusterName?: string;
  replicaLagTimeMaxMs?: string;
  groupMinSessionTimeoutMs?: string;
  groupInitialRebalanceDelayMs?: string;
  groupConsumerHeartbeatIntervalMs?: string;
  groupConsumerSessionTimeoutMs?: string;
  logCleanerIoMaxBytesPerSecond?: string;
  logCleanerBackoffMs?: string;
  verbose?: boolean;
}

/** Keys a --config JSON file may set; flags given on the command line win over it. */
const CONFIG_KEYS = new Set([
  "dataDir", "kafkaListen", "httpListen", "fsync", "autoCreate", "defaultPartitions", "httpToken", "httpTokenFile", "maxConnections", "idleTimeoutMs", "advertise",
  "maxRequestMemory", "maxConnectionsPerIp", "firstRequestTimeoutMs", "requestBodyTimeoutMs",
  "groupMinSessionTimeoutMs", "groupInitialRebalanceDelayMs", "listener", "tlsCert", "tlsKey", "tlsCa", "tlsClientAuth", "httpTls", "saslMechanisms",
  "saslSessionLifetimeMs", "superUsers", "insecureListener", "verbose", "nodeId", "cluster", "clusterName",
  "replicaLagTimeMaxMs", "groupConsumerHeartbeatIntervalMs", "groupConsumerSessionTimeoutMs", "httpHost", "httpCorsOrigin", "logCleanerIoMaxBytesPerSecond", "logCleanerBackoffMs",
]);
/** Keys whose value is a list (repeatable flags); a single string in the file is a list of one. */
const LIST_KEYS = new Set(["listener", "advertise", "httpHost", "httpCorsOrigin"]);

export function defaultDataDir(env: Record<string, string | undefined>): string {
  if (env.STREAMCTL_DATA_DIR) return env.STREAMCTL_DATA_DIR;
  const xdg = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(xdg, "streamctl");
}

function readConfigFile(path: string): ServeFlags {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--config ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config ${path}: expected a JSON object`);
  }
  const out: Record<string, string | boolean | string[]> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!CONFIG_KEYS.has(k)) throw new UsageError(`--config ${path}: unknown key "${k}"`);
    if (LIST_KEYS.has(k)) out[k] = (Array.isArray(v) ? v : [v]).map(String);
    else out[k] = typeof v === "boolean" ? v : String(v);
  }
  return out as ServeFlags;
}

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`${flag}: expected a positive integer, got "${value}"`);
  return Number(value);
}

export function resolveServeOptions(flags: ServeFlags, env: Record<string, string | undefined>): BrokerOptions {
  const merged: ServeFlags = { ...(flags.config ? readConfigFile(flags.config) : {}), ...definedOnly(flags) };
  const kafka = resolveListeners(merged);
  const http: HostPort | null = merged.httpListen === "none" ? null : parseHostPort("--http-listen", merged.httpListen ?? "127.0.0.1:8092");
  let fsync: FsyncPolicy;
  try {
    fsync = parseFsyncPolicy(merged.fsync ?? "always");
  } catch (err) {
    throw new UsageError(`--fsync: ${(err as Error).message}`);
  }
  const httpToken = resolveHttpToken(merged, env);
  // Secure by default, as for Kafka listeners: off loopback, the control plane must authenticate —
  // with the operator's token (every request needs credentials), or with users (a listener that
  // authenticates turns authorization on: HTTP Basic is checked and ACLs decide, an anonymous
  // request gets what User:ANONYMOUS may do) — unless --insecure-listener says it is meant.
  if (http !== null && !isLoopback(http.host) && !httpToken && !kafka.authenticates && merged.insecureListener !== true) {
    throw new UsageError(
      `--http-listen ${formatHostPort(http)} is not on loopback and authenticates nobody: give it a token (--http-token-file FILE or STREAMCTL_HTTP_TOKEN) or users (a SASL listener: HTTP Basic and ACLs), or add --insecure-listener to open it anyway`,
    );
  }
  const httpHosts = (merged.httpHost ?? []).map((h) => {
    if (hostName(h) === null) throw new UsageError(`--http-host: expected a host name like broker.internal (optionally :PORT), got "${h}"`);
    return h.trim().toLowerCase();
  });
  const corsOrigins = (merged.httpCorsOrigin ?? []).map((o) => {
    try {
      return normaliseOrigin(o);
    } catch (err) {
      throw new UsageError(`--http-cors-origin: ${(err as Error).message}`);
    }
  });
  return {
    dataDir: merged.dataDir ?? defaultDataDir(env),
    httpHosts,
    corsOrigins,
    listeners: kafka.listeners,
    tls: kafka.tls,
    httpTls: merged.httpTls === true,
    authenticates: kafka.authenticates,
    superUsers: kafka.superUsers,
    adminPassword: env.STREAMCTL_ADMIN_PASSWORD || undefined,
    http,
    fsync,
    autoCreateTopics: merged.autoCreate !== false,
    defaultPartitions: positiveInt("--default-partitions", merged.defaultPartitions, 1),
    httpToken,
    maxConnections: positiveInt("--max-connections", merged.maxConnections, MAX_CONNECTIONS_DEFAULT),
    idleTimeoutMs: positiveInt("--idle-timeout-ms", merged.idleTimeoutMs, IDLE_TIMEOUT_MS_DEFAULT),
    maxRequestMemory: byteSize("--max-request-memory", merged.maxRequestMemory, REQUEST_MEMORY_BYTES_DEFAULT),
    maxConnectionsPerIp: positiveInt("--max-connections-per-ip", merged.maxConnectionsPerIp, MAX_CONNECTIONS_PER_IP_DEFAULT),
    firstRequestTimeoutMs: positiveInt("--first-request-timeout-ms", merged.firstRequestTimeoutMs, FIRST_REQUEST_TIMEOUT_MS_DEFAULT),
    requestBodyTimeoutMs: positiveInt("--request-body-timeout-ms", merged.requestBodyTimeoutMs, REQUEST_BODY_TIMEOUT_MS_DEFAULT),
    cluster: resolveCluster(merged, kafka.listeners),
    verbose: merged.verbose === true,
    cleanerBackoffMs: positiveInt("--log-cleaner-backoff-ms", merged.logCleanerBackoffMs, CLEANER_CHECK_MS),
    cleanerIoBytesPerSecond: nonNegativeInt("--log-cleaner-io-max-bytes-per-second", merged.logCleanerIoMaxBytesPerSecond, CLEANER_IO_BYTES_PER_S_DEFAULT),
    groups: {
      minSessionTimeoutMs: positiveInt("--group-min-session-timeout-ms", merged.groupMinSessionTimeoutMs, 6000),
      initialRebalanceDelayMs: nonNegativeInt("--group-initial-rebalance-delay-ms", merged.groupInitialRebalanceDelayMs, 3000),
      consumerHeartbeatIntervalMs: positiveInt("--group-consumer-heartbeat-interval-ms", merged.groupConsumerHeartbeatIntervalMs, 1000),
      consumerSessionTimeoutMs: positiveInt("--group-consumer-session-timeout-ms", merged.groupConsumerSessionTimeoutMs, 45_000),
    },
  };
}

/** The control plane's token: from a file or the environment, never from the command line (where `ps` shows it). */
function resolveHttpToken(flags: ServeFlags, env: Record<string, string | undefined>): string | undefined {
  if (flags.httpTokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.httpTokenFile, "utf8");
    } catch (err) {
      throw new UsageError(`--http-token-file ${flags.httpTokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const token = text.replace(/\r?\n$/, "");
    if (token === "") throw new UsageError(`--http-token-file ${flags.httpTokenFile}: the file is empty`);
    return token;
  }
  return flags.httpToken ?? (env.STREAMCTL_HTTP_TOKEN || undefined);
}

function resolveCluster(merged: ServeFlags, listeners: readonly KafkaListenerSpec[]): BrokerOptions["cluster"] {
  if (merged.cluster === undefined) {
    if (merged.nodeId !== undefined || merged.clusterName !== undefined) throw new UsageError("--node-id and --cluster-name need --cluster ETCD_URL");
    return undefined;
  }
  if (merged.nodeId === undefined) throw new UsageError("--cluster needs --node-id N: each broker of a cluster has its own id");
  // etcd holds one address per broker (what Metadata tells every client), so one listener for now.
  if (listeners.length > 1) throw new UsageError("--cluster takes one Kafka listener for now: etcd keeps one address per broker");
  // Followers fetch from leaders with net/client, without TLS or credentials of their own yet.
  if (listeners[0]!.protocol !== "PLAINTEXT") throw new UsageError(`--cluster needs a PLAINTEXT listener for now: brokers replicate without TLS or SASL (got ${listeners[0]!.protocol})`);
  const nodeId = nonNegativeInt("--node-id", merged.nodeId, 0);
  if (nodeId > 1023) throw new UsageError(`--node-id: 0 to 1023, got ${nodeId}`);
  const urls = merged.cluster.split(",").map((u) => u.trim());
  for (const u of urls) {
    if (!/^https?:\/\/[^/\s]+(:\d+)?\/?$/.test(u)) throw new UsageError(`--cluster: expected etcd URLs like http://127.0.0.1:2379, got "${u}"`);
  }
  const name = merged.clusterName ?? "streamctl";
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(name)) throw new UsageError(`--cluster-name: letters, digits, '.', '_' and '-' only, got "${name}"`);
  const replicaLagMaxMs = merged.replicaLagTimeMaxMs === undefined ? undefined : positiveInt("--replica-lag-time-max-ms", merged.replicaLagTimeMaxMs, 10_000);
  return { nodeId, etcd: urls.join(","), name, replicaLagMaxMs };
}

/** A byte count: digits, optionally with a binary unit (KiB, MiB, GiB; K, M, G mean the same). */
function byteSize(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+)\s*(|b|k|kib|m|mib|g|gib)$/i.exec(value.trim());
  const unit = m ? ({ "": 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]! : 0;
  const n = m ? Number(m[1]) * unit : 0;
  if (!Number.isSafeInteger(n) || n < MIN_REQUEST_MEMORY) throw new UsageError(`${flag}: expected a size of at least 1MiB like 268435456 or 256MiB, got "${value}"`);
  return n;
}

/** Below this, a client's first requests would not fit. */
const MIN_REQUEST_MEMORY = 1024 * 1024;

function nonNegativeInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: expected a non-negative integer, got "${value}"`);
  return Number(value);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function serveCommand(io: Io): Command {
  return new Command("serve")
    .description("run the broker: Kafka protocol on --kafka-listen, HTTP control plane on --http-listen")
    .option("--data-dir <dir>", "where topics live (default $STREAMCTL_DATA_DIR, else $XDG_DATA_HOME/streamctl)")
    .option("--kafka-listen <host:port>", "a PLAINTEXT Kafka listener, port 0 picks a free one (default 127.0.0.1:9092 when no --listener)")
    .option("--listener <protocol://host:port>", "a Kafka listener, repeatable: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", collect)
    .option("--http-listen <host:port>", "HTTP control plane listener, or none (default 127.0.0.1:8092)")
    .option("--config <file>", "JSON file with any of these settings in camelCase; flags win")
    .option("--fsync <policy>", "always | interval=MS | never: when an acknowledged write is on disk (default always)")
    .option("--no-auto-create", "do not create topics on first use (Metadata or Produce for an unknown topic)")
    .option("--default-partitions <n>", "partitions of an auto-created topic (default 1)")
    .option("--http-token-file <file>", "file holding the operator's Bearer token, a super user; with one, every HTTP request needs it or HTTP Basic (or env STREAMCTL_HTTP_TOKEN). Off loopback the control plane needs the token, or users (a SASL listener: HTTP Basic and ACLs), or --insecure-listener")
    .addOption(new Option("--http-token <token>").hideHelp().argParser(() => {
      throw new UsageError("--http-token would show the token in `ps`: use --http-token-file FILE or STREAMCTL_HTTP_TOKEN");
    }))
    .option("--tls-cert <file>", "PEM certificate (chain) of SSL/SASL_SSL listeners and --http-tls")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--tls-ca <file>", "PEM CA certificates that verify client certificates")
    .option("--tls-client-auth <mode>", "none | requested | required: client certificates on TLS listeners (principal User:<CN>; default none)")
    .option("--http-tls", "serve the HTTP control plane over TLS with --tls-cert/--tls-key")
    .option("--http-host <name>", "another name the Host header may carry on a loopback control plane without a token (default: localhost, 127.x, [::1] only), repeatable", collect)
    .option("--http-cors-origin <origin>", "an origin (https://app.example:8443) allowed cross-origin requests and CORS on the control plane, repeatable (default: none)", collect)
    .option("--sasl-mechanisms <list>", "SASL mechanisms offered, comma-separated (default PLAIN,SCRAM-SHA-256,SCRAM-SHA-512)")
    .option("--sasl-session-lifetime-ms <ms>", "a SASL login lasts this long, then the client must log in again (KIP-368; default 0: no expiry)")
    .option("--super-users <list>", "principals allowed everything, like User:alice;User:bob")
    .option("--insecure-listener", "allow listeners off loopback that authenticate nobody (PLAINTEXT, SSL without required client certs; an HTTP control plane without a token or users)")
    .addOption(new Option("--max-connections <n>", `connections accepted at once on each listener, Kafka and HTTP (default ${MAX_CONNECTIONS_DEFAULT})`))
    .addOption(new Option("--idle-timeout-ms <ms>", `close Kafka connections idle this long (default ${IDLE_TIMEOUT_MS_DEFAULT}; HTTP ones: 10 s between requests)`))
    .addOption(new Option("--max-connections-per-ip <n>", `connections one client address may hold at once across every listener, HTTP included; more are closed at once (HTTP: answered 503) (default ${MAX_CONNECTIONS_PER_IP_DEFAULT})`))
    .addOption(new Option("--first-request-timeout-ms <ms>", `close a Kafka connection that has not sent a whole request by then; on HTTP, a request head not whole this long after its first byte (or the first one after connecting) is answered 408 and the connection closed (default ${FIRST_REQUEST_TIMEOUT_MS_DEFAULT})`))
    .addOption(new Option("--request-body-timeout-ms <ms>", `close a Kafka connection whose request has begun (its length read, its memory counted) and then sent no byte for this long, giving its memory back; on HTTP, a request body not whole this long after its head is answered 408 and the connection closed (default ${REQUEST_BODY_TIMEOUT_MS_DEFAULT})`))
    .addOption(new Option("--max-request-memory <bytes>", `memory for Kafka requests in flight, all connections together (like Kafka's queued.max.request.bytes): a connection whose next request does not fit waits unread; a request larger than all of it is refused (default 256MiB)`))
    .addOption(new Option("--group-min-session-timeout-ms <ms>", "shortest consumer session timeout accepted (Kafka's group.min.session.timeout.ms, default 6000)"))
    .addOption(new Option("--group-initial-rebalance-delay-ms <ms>", "a new classic group waits this long for more members before its first rebalance (default 3000)"))
    .addOption(new Option("--group-consumer-heartbeat-interval-ms <ms>", "heartbeat interval of consumer-protocol groups (KIP-848, default 1000; Kafka's is 5000)"))
    .addOption(new Option("--group-consumer-session-timeout-ms <ms>", "session timeout of consumer-protocol groups (KIP-848, default 45000)"))
    .option("--node-id <n>", "this broker's id in its cluster (with --cluster; 0 and up)")
    .option("--cluster <urls>", "join the cluster whose metadata lives in this etcd (http://HOST:PORT[,…])")
    .option("--cluster-name <name>", "the cluster's name, a key prefix in etcd (default streamctl)")
    .addOption(new Option("--replica-lag-time-max-ms <ms>", "a follower not caught up this long leaves the ISR (Kafka's replica.lag.time.max.ms, default 10000)"))
    .addOption(new Option("--log-cleaner-io-max-bytes-per-second <n>", `the log cleaner's bound on bytes read plus written per second, 0 for none (Kafka's log.cleaner.io.max.bytes.per.second; default ${CLEANER_IO_BYTES_PER_S_DEFAULT})`))
    .addOption(new Option("--log-cleaner-backoff-ms <ms>", `how often the log cleaner looks for compacted partitions to clean (Kafka's log.cleaner.backoff.ms; default ${CLEANER_CHECK_MS})`))
    .option("--verbose", "say more: recovery per partition after an unclean stop (default: one summary line)")
    .option("--advertise <[protocol://]host:port>", "the address Metadata tells clients of a listener (behind NAT or a proxy), repeatable: PROTOCOL:// picks the listener; default: the listener's own", collect)
    .action(async (flags: ServeFlags) => {
      const options = resolveServeOptions(flags, io.env);
      // The broker outlives whoever reads its log: once stderr's reader is gone (`serve 2>&1 |
      // head`), lines are dropped instead of an EPIPE error ending the process.
      let logLost = false;
      io.stderr.on("error", () => void (logLost = true));
      const log = (line: string) => {
        if (!logLost) io.stderr.write(`streamctl: ${line}\n`);
      };
      // Listening before anything can see the ready line: a SIGTERM sent the moment it appears
      // (or during startup) must stop the broker cleanly, not kill it with the default action.
      const stopSignal = waitForStopSignal();
      const broker = await startBroker(options, log).catch((err: unknown) => {
        // Another broker on this dir is a mistake in how serve was called, like a bad flag.
        if (err instanceof CoreError && err.code === "DATA_DIR_LOCKED") throw new UsageError(err.message);
        throw err;
      });
      const kafka = broker.listeners.map((l) => `kafka=${readyName(l.protocol, l.address)}`).join(" ");
      log(`ready ${kafka} http=${broker.http === null ? "none" : formatHostPort(broker.http)} data=${options.dataDir}`);
      await stopSignal;
      log("stopping: finishing in-flight requests");
      await broker.stop();
      log("stopped cleanly");
    });
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(sig);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
