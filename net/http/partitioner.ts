// Which partition a record goes to when the caller does not say: Kafka's default partitioner
// (clients/.../producer/internals/BuiltInPartitioner.java), so that a key lands on the same
// partition whether it came through HTTP, our CLI or a Java producer.
//   keyed:   toPositive(murmur2(key)) % partitions
//   keyless: one partition per request, round robin across requests (sticky, like KIP-480).

/** Kafka's Utils.murmur2 (seed 0x9747b28c), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

const stickyNext = new Map<string, number>();

/** The partition for this request's keyless records. */
export function stickyPartition(topic: string, partitions: number): number {
  const next = stickyNext.get(topic) ?? Math.floor(Math.random() * partitions);
  stickyNext.set(topic, (next + 1) % partitions);
  return next % partitions;
}
