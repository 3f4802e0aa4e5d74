// The broker core's timing bounds, each with its reason.
export const BROKER_LIMITS = {
  /** How often retention.ms / retention.bytes are enforced: segments are large, a delete a little
   * late costs only disk, and each pass walks every partition's segment list. */
  retentionCheckMs: 30_000,
  /** How long a create-on-first-use waits for another client's create of the same name: a create
   * of thousands of partitions takes seconds, and the retriable LEADER_NOT_AVAILABLE the Kafka
   * door answers after it is what Kafka answers for a topic still being created (issue #7). */
  createInFlightWaitMs: 1000,
} as const;
