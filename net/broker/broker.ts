// Starting and stopping a whole broker: the topic store (with recovery), the Kafka listener and
// the HTTP control plane. Stop order: refuse new connections and wake long polls → let in-flight
// requests finish → stop HTTP → close the store (sync, clean-shutdown marker).
import type { GroupCoordinatorConfig } from "../../core/groups/coordinator.ts";
import { DataDirLock } from "../../core/data-dir-lock.ts";
import { openStorage } from "../../core/storage.ts";
import type { FsyncPolicy } from "../../core/log/durability.ts";
import { REQUEST_BYTES_MAX } from "../../core/limits.ts";
import { startHttpServer } from "../http/server.ts";
import { HANDLERS } from "./handlers/index.ts";
import type { Handler } from "./handler.ts";
import { BrokerMetrics } from "./metrics.ts";
import { Idempotence } from "./idempotence.ts";
import { timedFileLayer } from "./timed-fs.ts";
import { startKafkaServer } from "./server.ts";
import type { BrokerLog, BrokerState } from "./state.ts";

export interface BrokerOptions {
  dataDir: string;
  kafka: { host: string; port: number };
  http: { host: string; port: number };
  fsync: FsyncPolicy;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  httpToken?: string;
  maxConnections: number;
  idleTimeoutMs: number;
  /** Address advertised in Metadata/FindCoordinator instead of the listener's. */
  advertise?: { host: string; port: number };
  /** Group coordinator settings (session timeout bounds, initial rebalance delay). */
  groups?: Partial<GroupCoordinatorConfig>;
}

export interface RunningBroker {
  kafka: { host: string; port: number };
  http: { host: string; port: number };
  state: BrokerState;
  stop(): Promise<void>;
}

const RETENTION_CHECK_MS = 30_000;

export async function startBroker(options: BrokerOptions, logLine: (line: string) => void): Promise<RunningBroker> {
  const log: BrokerLog = { info: logLine, warn: (l) => logLine(`warning: ${l}`), error: (l) => logLine(`error: ${l}`) };
  // First, before anything reads or writes the dir: a second broker on it would recover over
  // this one's live files.
  const lock = DataDirLock.acquire(options.dataDir);
  // What has been started so far, undone in reverse if a later step fails (a port in use must
  // not leave a half-started broker holding the dir).
  const undo: (() => void | Promise<void>)[] = [() => lock.release()];
  try {
    const metrics = new BrokerMetrics();
    const fs = timedFileLayer((ms) => metrics.fsyncDone(ms));
    const { store, groups } = await openStorage({ dataDir: options.dataDir, fsync: options.fsync, logger: log, fs, groups: { config: options.groups } });
    undo.push(() => store.close());
    undo.push(() => groups.close());
    const shutdown = new AbortController();
    const handlers = new Map<number, Handler>(HANDLERS.map((h) => [h.api.key, h]));
    const state: BrokerState = {
      nodeId: 0,
      clusterId: "streamctl",
      store,
      groups,
      options: {
        autoCreateTopics: options.autoCreateTopics,
        defaultPartitions: options.defaultPartitions,
        requestBytesMax: REQUEST_BYTES_MAX,
        maxConnections: options.maxConnections,
        idleTimeoutMs: options.idleTimeoutMs,
      },
      handlers,
      idempotence: new Idempotence(),
      metrics,
      log,
      listener: { host: options.kafka.host, port: options.kafka.port },
      shutdown: shutdown.signal,
    };
    const kafka = startKafkaServer(options.kafka.host, options.kafka.port, state);
    undo.push(() => kafka.stop(0));
    state.listener = options.advertise ?? { host: options.kafka.host, port: kafka.port };
    const http = startHttpServer({ host: options.http.host, port: options.http.port, token: options.httpToken, state });
    const retention = setInterval(() => {
      const r = store.enforceRetention();
      if (r.segmentsDeleted > 0) log.info(`retention deleted ${r.segmentsDeleted} segment(s), ${r.bytesDeleted} bytes`);
    }, RETENTION_CHECK_MS);
    return {
      kafka: { host: options.kafka.host, port: kafka.port },
      http: { host: options.http.host, port: http.port },
      state,
      async stop() {
        clearInterval(retention);
        shutdown.abort();
        groups.stopServing();
        await kafka.stop();
        await http.stop();
        await groups.close();
        await store.close();
        lock.release();
      },
    };
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (e) {
        log.error(`while undoing a failed start: ${(e as Error).message}`);
      }
    }
    throw err;
  }
}
