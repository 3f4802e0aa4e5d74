// Everything a handler may reach: the topic store, the broker's options, the handler registry
// (ApiVersions is built from it), metrics, and the broker-wide shutdown signal.
import type { GroupCoordinator } from "../../core/groups/coordinator.ts";
import type { TopicStore } from "../../core/topics/topic-store.ts";
import type { Handler } from "./handler.ts";
import type { Idempotence } from "./idempotence.ts";
import type { BrokerMetrics } from "./metrics.ts";

export interface BrokerLog {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
  debug?(line: string): void;
}

export interface BrokerRuntimeOptions {
  autoCreateTopics: boolean;
  defaultPartitions: number;
  requestBytesMax: number;
  maxConnections: number;
  idleTimeoutMs: number;
}

export interface BrokerState {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly store: TopicStore;
  /** Every consumer group and its committed offsets (core/groups). */
  readonly groups: GroupCoordinator;
  readonly options: BrokerRuntimeOptions;
  readonly handlers: Map<number, Handler>;
  /** Producer ids and per-partition sequences of idempotent producers. */
  readonly idempotence: Idempotence;
  readonly metrics: BrokerMetrics;
  readonly log: BrokerLog;
  /** The Kafka listener's address, advertised in Metadata (0.0.0.0 → the connection's local address). */
  listener: { host: string; port: number };
  /** Aborted when the broker begins to stop: long polls answer at once. */
  readonly shutdown: AbortSignal;
}
