// What the broker core needs of a cluster (issue #19), as a port: the live brokers, the controller,
// every topic's partitions with their leader, epoch, replicas and ISR, and topic creates/deletes
// that the cluster's store (etcd, net/cluster) commits before they take effect. A broker started
// without --cluster has none: it leads every partition itself (singleNodeView).
import type { TransactionCoordinator } from "../transactions/coordinator.ts";
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
  /** The broker coordinating `groupId` now (the leader of its offsets partition), null while none. */
  groupCoordinator(groupId: string): BrokerEndpoint | null;
  /** Null when this broker coordinates `groupId` now, else the error name to answer with. */
  groupOwnership(groupId: string): "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS" | null;
  /** The broker coordinating `transactionalId` now (the leader of its __transaction_state partition), null while none. */
  transactionCoordinator(transactionalId: string): BrokerEndpoint | null;
  /** This broker's coordinator of `transactionalId` (its log partition led and loaded here), else the error name to answer with. */
  transactionOwnership(transactionalId: string): TransactionCoordinator | "NOT_COORDINATOR" | "COORDINATOR_LOAD_IN_PROGRESS";
  /** The coordinators of every __transaction_state partition this broker leads and has loaded. */
  transactionCoordinators(): TransactionCoordinator[];
  /** WriteTxnMarkers: writes a coordinator's marker to a partition this broker leads (the group offsets' partitions included); resolves once replicated. */
  writeTxnMarker(topic: string, partition: number, marker: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number }): Promise<void>;
}

/** The one-broker cluster of a broker without --cluster: it leads every partition, epoch 0. */
export function singlePartitionState(topic: string, partition: number, nodeId: number): PartitionState {
  return { topic, partition, replicas: [nodeId], leader: nodeId, leaderEpoch: 0, isr: [nodeId], version: 0 };
}
