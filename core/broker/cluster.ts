// What the broker core needs of a cluster (issue #19), as a port: the live brokers, the controller,
// every topic's partitions with their leader, epoch, replicas and ISR, and topic creates/deletes
// that the cluster's store (etcd, net/cluster) commits before they take effect. A broker started
// without --cluster has none: it leads every partition itself (singleNodeView).
import type { PartitionState } from "./replication.ts";

export interface BrokerEndpoint {
  id: number;
  host: string;
  port: number;
}

export interface TopicAssignment {
  name: string;
  topicId: Uint8Array;
  /** One per partition, in partition order. */
  partitions: readonly PartitionState[];
  configs: Readonly<Record<string, string>>;
}

export interface ClusterPort {
  readonly nodeId: number;
  readonly clusterId: string;
  /** Brokers alive now (registered in the store), by id. */
  brokers(): BrokerEndpoint[];
  /** The controller's id, -1 while none is elected. */
  controllerId(): number;
  topics(): TopicAssignment[];
  topic(name: string): TopicAssignment | undefined;
  /**
   * Creates a topic in the store with `partitions` (null: the broker default) spread over the
   * live brokers, `replicationFactor` of them each (null: min(3, live brokers)); resolves once the
   * store has it (TOPIC_EXISTS if another create won). `validateOnly` checks and creates nothing.
   */
  createTopic(name: string, partitions: number | null, replicationFactor: number | null, configs: Record<string, string>, validateOnly: boolean): Promise<TopicAssignment | undefined>;
  deleteTopic(name: string): Promise<void>;
}

/** The one-broker cluster of a broker without --cluster: it leads every partition, epoch 0. */
export function singlePartitionState(topic: string, partition: number, nodeId: number): PartitionState {
  return { topic, partition, replicas: [nodeId], leader: nodeId, leaderEpoch: 0, isr: [nodeId], version: 0 };
}
