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
import { REQUEST_BYTES_MAX } from "../core/limits.ts";
import { startHttpServer } from "../net/http/server.ts";
import { IDLE_TIMEOUT_MS_DEFAULT, MAX_CONNECTIONS_DEFAULT } from "../net/kafka/limits.ts";
import { startKafkaServer } from "../net/kafka/server.ts";
import { ClusterNode } from "../net/cluster/node.ts";

export interface BrokerOptions {
  dataDir: string;
  kafka: HostPort;
  /** null: no HTTP control plane (`--http-listen none`). */
  http: HostPort | null;
  fsync: FsyncPolicy;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  httpToken?: string;
  maxConnections: number;
  idleTimeoutMs: number;
  /** Address advertised in Metadata/FindCoordinator instead of the listener's. */
  advertise?: HostPort;
  /** Group coordinator settings (session timeout bounds, initial rebalance delay). */
  groups?: Partial<GroupCoordinatorConfig>;
  /** Cluster mode: this broker's id and the etcd that holds the cluster's metadata. */
  cluster?: { nodeId: number; etcd: string; name: string; replicaLagMaxMs?: number };
  /** Detail lines too (recovery per partition); otherwise one summary line per subject. */
  verbose?: boolean;
}

export interface RunningBroker {
  kafka: HostPort;
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
    },
    log,
  );
  let kafka: ReturnType<typeof startKafkaServer> | undefined;
  let cluster: ClusterNode | undefined;
  try {
    kafka = startKafkaServer({
      host: options.kafka.host,
      port: options.kafka.port,
      broker,
      requestBytesMax: REQUEST_BYTES_MAX,
      maxConnections: options.maxConnections,
      idleTimeoutMs: options.idleTimeoutMs,
      advertise: options.advertise,
    });
    if (options.cluster !== undefined) {
      const advertise = options.advertise ?? { host: options.kafka.host === "0.0.0.0" || options.kafka.host === "::" ? "127.0.0.1" : options.kafka.host, port: kafka.port };
      cluster = new ClusterNode(broker, { nodeId: options.cluster.nodeId, etcdEndpoints: options.cluster.etcd, clusterName: options.cluster.name, advertise, replicaLagMaxMs: options.cluster.replicaLagMaxMs });
      await cluster.start();
    }
    const http = options.http === null ? null : startHttpServer({ host: options.http.host, port: options.http.port, token: options.httpToken, broker });
    const kafkaDoor = kafka;
    const clusterNode = cluster;
    return {
      kafka: { host: options.kafka.host, port: kafka.port },
      http: options.http === null || http === null ? null : { host: options.http.host, port: http.port },
      broker,
      async stop() {
        // Leaving the cluster first: our partitions get new leaders while we finish requests.
        await clusterNode?.stop();
        broker.beginShutdown();
        await kafkaDoor.stop();
        await http?.stop();
        await broker.close();
      },
    };
  } catch (err) {
    await cluster?.stop().catch(() => {});
    broker.beginShutdown();
    await kafka?.stop(0);
    await broker.close();
    throw err;
  }
}

export interface ServeFlags {
  dataDir?: string;
  kafkaListen?: string;
  httpListen?: string;
  config?: string;
  fsync?: string;
  autoCreate?: boolean;
  defaultPartitions?: string;
  httpToken?: string;
  maxConnections?: string;
  idleTimeoutMs?: string;
  advertise?: string;
  nodeId?: string;
  cluster?: string;
  clusterName?: string;
  replicaLagTimeMaxMs?: string;
  groupMinSessionTimeoutMs?: string;
  groupInitialRebalanceDelayMs?: string;
  verbose?: boolean;
}

/** Keys a --config JSON file may set; flags given on the command line win over it. */
const CONFIG_KEYS = new Set(["verbose", "dataDir", "kafkaListen", "httpListen", "fsync", "autoCreate", "defaultPartitions", "httpToken", "maxConnections", "idleTimeoutMs", "advertise", "groupMinSessionTimeoutMs", "groupInitialRebalanceDelayMs", "nodeId", "cluster", "clusterName", "replicaLagTimeMaxMs"]);

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
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!CONFIG_KEYS.has(k)) throw new UsageError(`--config ${path}: unknown key "${k}"`);
    out[k] = typeof v === "boolean" ? v : String(v);
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
  const kafka: HostPort = parseHostPort("--kafka-listen", merged.kafkaListen ?? "127.0.0.1:9092");
  const http: HostPort | null = merged.httpListen === "none" ? null : parseHostPort("--http-listen", merged.httpListen ?? "127.0.0.1:8092");
  let fsync: FsyncPolicy;
  try {
    fsync = parseFsyncPolicy(merged.fsync ?? "always");
  } catch (err) {
    throw new UsageError(`--fsync: ${(err as Error).message}`);
  }
  const loopback = http === null || http.host === "127.0.0.1" || http.host === "localhost" || http.host === "::1";
  if (http !== null && !loopback && !merged.httpToken) {
    throw new UsageError(`--http-listen ${formatHostPort(http)} is not loopback: it requires --http-token`);
  }
  return {
    dataDir: merged.dataDir ?? defaultDataDir(env),
    kafka,
    http,
    fsync,
    autoCreateTopics: merged.autoCreate !== false,
    defaultPartitions: positiveInt("--default-partitions", merged.defaultPartitions, 1),
    httpToken: merged.httpToken,
    maxConnections: positiveInt("--max-connections", merged.maxConnections, MAX_CONNECTIONS_DEFAULT),
    idleTimeoutMs: positiveInt("--idle-timeout-ms", merged.idleTimeoutMs, IDLE_TIMEOUT_MS_DEFAULT),
    advertise: merged.advertise === undefined ? undefined : parseHostPort("--advertise", merged.advertise),
    cluster: resolveCluster(merged),
    verbose: merged.verbose === true,
    groups: {
      minSessionTimeoutMs: positiveInt("--group-min-session-timeout-ms", merged.groupMinSessionTimeoutMs, 6000),
      initialRebalanceDelayMs: nonNegativeInt("--group-initial-rebalance-delay-ms", merged.groupInitialRebalanceDelayMs, 3000),
    },
  };
}

function resolveCluster(merged: ServeFlags): BrokerOptions["cluster"] {
  if (merged.cluster === undefined) {
    if (merged.nodeId !== undefined || merged.clusterName !== undefined) throw new UsageError("--node-id and --cluster-name need --cluster ETCD_URL");
    return undefined;
  }
  if (merged.nodeId === undefined) throw new UsageError("--cluster needs --node-id N: each broker of a cluster has its own id");
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

function nonNegativeInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: expected a non-negative integer, got "${value}"`);
  return Number(value);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function serveCommand(io: Io): Command {
  return new Command("serve")
    .description("run the broker: Kafka protocol on --kafka-listen, HTTP control plane on --http-listen")
    .option("--data-dir <dir>", "where topics live (default $STREAMCTL_DATA_DIR, else $XDG_DATA_HOME/streamctl)")
    .option("--kafka-listen <host:port>", "Kafka protocol listener, port 0 picks a free one (default 127.0.0.1:9092)")
    .option("--http-listen <host:port>", "HTTP control plane listener, or none (default 127.0.0.1:8092)")
    .option("--config <file>", "JSON file with any of these settings in camelCase; flags win")
    .option("--fsync <policy>", "always | interval=MS | never: when an acknowledged write is on disk (default always)")
    .option("--no-auto-create", "do not create topics on first use (Metadata or Produce for an unknown topic)")
    .option("--default-partitions <n>", "partitions of an auto-created topic (default 1)")
    .option("--http-token <token>", "Bearer token every HTTP request must carry (required off loopback)")
    .addOption(new Option("--max-connections <n>", `Kafka connections accepted at once (default ${MAX_CONNECTIONS_DEFAULT})`))
    .addOption(new Option("--idle-timeout-ms <ms>", `close Kafka connections idle this long (default ${IDLE_TIMEOUT_MS_DEFAULT})`))
    .addOption(new Option("--group-min-session-timeout-ms <ms>", "shortest consumer session timeout accepted (Kafka's group.min.session.timeout.ms, default 6000)"))
    .addOption(new Option("--group-initial-rebalance-delay-ms <ms>", "a new group waits this long for more members before its first rebalance (default 3000)"))
    .option("--node-id <n>", "this broker's id in its cluster (with --cluster; 0 and up)")
    .option("--cluster <urls>", "join the cluster whose metadata lives in this etcd (http://HOST:PORT[,…])")
    .option("--cluster-name <name>", "the cluster's name, a key prefix in etcd (default streamctl)")
    .addOption(new Option("--replica-lag-time-max-ms <ms>", "a follower not caught up this long leaves the ISR (Kafka's replica.lag.time.max.ms, default 10000)"))
    .option("--verbose", "say more: recovery per partition after an unclean stop (default: one summary line)")
    .option("--advertise <host:port>", "the Kafka address Metadata tells clients to use (behind NAT or a proxy); default: the listener")
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
      log(`ready kafka=${formatHostPort(broker.kafka)} http=${broker.http === null ? "none" : formatHostPort(broker.http)} data=${options.dataDir}`);
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
