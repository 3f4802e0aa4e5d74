// Which partition a record goes to when the caller does not say: Kafka's default partitioner
// (clients/.../producer/internals/BuiltInPartitioner.java), so that a key lands on the same
// partition whether it came through HTTP, our CLI or a Java producer.
//   keyed:   toPositive(murmur2(key)) % partitions
//   keyless: one partition per request, round robin across requests (sticky, like KIP-480).

export { partitionForKey } from "../../core/batch/key-partition.ts";

const stickyNext = new Map<string, number>();

/** The partition for this request's keyless records. */
export function stickyPartition(topic: string, partitions: number): number {
  const next = stickyNext.get(topic) ?? Math.floor(Math.random() * partitions);
  stickyNext.set(topic, (next + 1) % partitions);
  return next % partitions;
}
