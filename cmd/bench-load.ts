// The load behind `streamctl bench`: producers and a consumer on our own Kafka client
// (net/client), speaking only standard Kafka APIs so they run against any Kafka-protocol broker.
//
// Ack latency: each bench producer reports every batch the broker accepted, with its record count,
// as it reads the Produce answer (ProducerOptions.onAcked); the bench pops that many intended send
// times from the partition's FIFO and records `now − intended`. A producer's batches of one
// partition are answered in the order they were sent (producer.ts), so the FIFO order is the
// record order. (The bench used to wrap the client's connections for this; the wrapper's Promise
// and closures per request were a good part of the client's garbage at linger 0.)
//
// Fixed-rate mode (`rate > 0`): record i is *intended* at start + i/rate, and every latency is
// measured from that intended time, not from when the event loop got round to appending it. A
// stalled broker therefore shows as latency for every record that should have gone out meanwhile
// (coordinated omission corrected at the source, as in wrk2 and HdrHistogram's docs). Without a
// rate, records go as fast as the producer's buffer allows and latency counts from the append.
//
// Records: `recordBytes` of value, no key; the first 8 bytes hold the intended send time (ms since
// the epoch, float64, microsecond precision) so the e2e consumer can measure produce→consume.
import { codecFromName } from "../core/batch/codecs.ts";
import * as be from "../core/bytes.ts";
import { type BrokerAddress, EARLIEST, KafkaClient, LATEST } from "../net/client/client.ts";
import type { ClientSecurity } from "../net/client/security.ts";
import { Consumer } from "../net/client/consumer.ts";
import { type Acks, Producer } from "../net/client/producer.ts";
import type { RecordView } from "../net/client/record-walker.ts";
import { CreateTopics, Metadata } from "../net/protocol/messages/index.ts";
import { Histogram } from "./bench-histogram.ts";
import { RateTicker } from "./bench-pace.ts";
import { VERSION } from "./version.ts";

export interface LoadOptions {
  bootstrap: BrokerAddress[];
  /** TLS and SASL (cmd/client-options.ts). */
  security?: ClientSecurity;
  topic: string;
  records: number;
  recordBytes: number;
  /** Records per second across all producers; 0 = as fast as possible. */
  rate: number;
  producers: number;
  acks: Acks;
  compression: string;
  lingerMs: number;
  batchBytes: number;
  /** Idempotent producers (ProducerOptions.idempotence; default true). */
  idempotence?: boolean;
  /** Connect and request timeout of every client (--timeout; the client's default when absent). */
  timeoutMs?: number;
}

/** Epoch milliseconds with sub-millisecond precision (one clock for producer and consumer). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** A FIFO of float64 intended send times that grows by doubling. */
class TimeQueue {
  private buf = new Float64Array(1024);
  private head = 0;
  private tail = 0;
  push(t: number): void {
    if (this.tail === this.buf.length) {
      const live = this.tail - this.head;
      const next = live * 2 > this.buf.length ? new Float64Array(this.buf.length * 2) : this.buf;
      next.set(this.buf.subarray(this.head, this.tail));
      this.buf = next;
      this.head = 0;
      this.tail = live;
    }
    this.buf[this.tail++] = t;
  }
  shift(): number {
    return this.head < this.tail ? this.buf[this.head++]! : NaN;
  }
}

/** One bench producer's intended send times, per partition, and its ack latencies. */
class AckTracker {
  private readonly queues: TimeQueue[] = [];
  readonly acks = new Histogram();

  queue(partition: number): TimeQueue {
    return (this.queues[partition] ??= new TimeQueue());
  }

  /** ProducerOptions.onAcked. */
  readonly onAcked = (_topic: string, partition: number, records: number): void => {
    const now = nowMs();
    const q = this.queue(partition);
    for (let i = 0; i < records; i++) this.acks.record((now - q.shift()) * 1000);
  };
}

export function makeBenchClient(bootstrap: BrokerAddress[], timeoutMs?: number, security?: ClientSecurity): KafkaClient {
  return new KafkaClient({ bootstrap, clientId: "streamctl-bench", clientVersion: VERSION, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, security });
}

/**
 * Makes sure `topic` exists with `partitions` partitions (CreateTopics to the controller when it
 * does not); resolves to the partition count it has, which may differ if it already existed.
 */
export async function ensureTopic(client: KafkaClient, topic: string, partitions: number): Promise<number> {
  const conn = await client.anyConnection();
  const meta = await conn.request(Metadata, { topics: [{ topicId: new Uint8Array(16), name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  const t = meta.topics.find((x) => x.name === topic);
  if (t && t.errorCode === 0) return t.partitions.length;
  const controller = meta.controllerId >= 0 ? await client.nodeConnection(meta.controllerId).catch(() => conn) : conn;
  const res = await controller.request(CreateTopics, {
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const code = res.topics[0]?.errorCode ?? 0;
  if (code !== 0 && code !== 36 /* TOPIC_ALREADY_EXISTS */) throw new Error(`create topic ${topic}: Kafka error ${code}${res.topics[0]?.errorMessage ? ` (${res.topics[0].errorMessage})` : ""}`);
  return (await client.topic(topic, { autoCreate: false, refresh: true })).partitions.length;
}

export interface ProduceResult {
  acked: number;
  failed: number;
  errors: string[];
  seconds: number;
  valueBytes: number;
  latency: Histogram;
}

/**
 * Sends `opts.records` records to `partitions` partitions from `opts.producers` producers (each its
 * own client and connection, records dealt round robin), at `opts.rate` or flat out. Producer j
 * writes to partitions j, j+P, …; with fewer partitions than producers they share.
 */
export async function produceLoad(opts: LoadOptions, partitions: number, stop: () => boolean = () => false): Promise<ProduceResult> {
  const codec = codecFromName(opts.compression);
  const P = opts.producers;
  const clients = Array.from({ length: P }, () => makeBenchClient(opts.bootstrap, opts.timeoutMs, opts.security));
  const trackers = Array.from({ length: P }, () => new AckTracker());
  const producers = clients.map(
    (c, j) => new Producer(c, { codec, acks: opts.acks, lingerMs: opts.lingerMs, batchBytes: opts.batchBytes, autoCreate: false, onAcked: trackers[j]!.onAcked, idempotence: opts.idempotence }),
  );
  const owned = Array.from({ length: P }, (_, j) => {
    const list: number[] = [];
    for (let p = j % partitions; p < partitions; p += P) list.push(p);
    return list.length > 0 ? list : [j % partitions];
  });
  const value = new Uint8Array(Math.max(8, opts.recordBytes));
  for (let i = 8; i < value.length; i++) value[i] = 97 + ((i * 7) % 26);
  const cursor = new Array<number>(P).fill(0);
  let ticker: RateTicker | null = null;
  try {
    await Promise.all(producers.map((p) => p.prepare(opts.topic)));
    if (opts.rate > 0) ticker = await RateTicker.start(opts.rate, opts.records);
    const started = ticker?.startMs ?? nowMs();
    let sent = 0;
    const send = (intended: number, wallMs: number) => {
      const j = sent % P;
      const list = owned[j]!;
      const partition = list[cursor[j]!++ % list.length]!;
      be.setFloat64LE(value, 0, intended);
      trackers[j]!.queue(partition).push(intended);
      producers[j]!.append(opts.topic, partition, null, value, null, wallMs);
      sent++;
    };
    while (sent < opts.records && !stop()) {
      const now = nowMs();
      const wall = Date.now();
      if (ticker !== null) {
        const due = ticker.dueBy(now);
        while (sent < due) send(ticker.intendedMs(sent), wall);
        if (sent < opts.records) await ticker.next();
      } else {
        const chunkEnd = Math.min(opts.records, sent + 4096);
        while (sent < chunkEnd) send(now, wall);
        for (const p of producers) if (p.needsDrain) await p.drained();
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    const summaries = await Promise.all(producers.map((p) => p.flush()));
    const seconds = (nowMs() - started) / 1000;
    const latency = new Histogram();
    for (const t of trackers) latency.merge(t.acks);
    const acked = summaries.reduce((n, s) => n + s.acked, 0);
    return {
      acked,
      failed: summaries.reduce((n, s) => n + s.failed, 0),
      errors: [...new Set(summaries.flatMap((s) => s.errors))],
      seconds,
      valueBytes: acked * opts.recordBytes,
      latency,
    };
  } finally {
    ticker?.close();
    for (const p of producers) p.close();
    await Promise.all(clients.map((c) => c.close()));
  }
}

export interface ConsumeResult {
  records: number;
  valueBytes: number;
  seconds: number;
  /** produce→consume, from the intended send time in each value (e2e only). */
  latency: Histogram;
}

/** Next offsets of every partition of `topic` at EARLIEST or LATEST. */
export async function offsetsAt(client: KafkaClient, topic: string, partitions: number, at: typeof EARLIEST | typeof LATEST): Promise<Map<number, number>> {
  return client.listOffsets(topic, new Map(Array.from({ length: partitions }, (_, p) => [p, at])));
}

/**
 * Reads `records` records from `positions` (decoding every record, as a consumer does), or until
 * `deadline()` says stop. With `stamped`, records whose value carries a send time feed `latency`.
 */
export async function consumeLoad(
  client: KafkaClient,
  topic: string,
  positions: Map<number, number>,
  records: number,
  opts: { stamped: boolean; maxWaitMs: number; onStart?: () => void; deadline?: () => boolean },
): Promise<ConsumeResult> {
  const consumer = new Consumer(client, { topics: [topic], from: { kind: "exact", offsets: new Map([[topic, positions]]) }, maxWaitMs: opts.maxWaitMs });
  const latency = new Histogram();
  let count = 0;
  let valueBytes = 0;
  let now = 0;
  const started = nowMs();
  // One visitor for every batch (it reads `now` as set for each response).
  const visit = (r: RecordView): boolean => {
    count++;
    const n = r.valueEnd - r.valueStart;
    valueBytes += n > 0 ? n : 0;
    if (opts.stamped && n >= 8) {
      const sentAt = be.float64LE(r.buf, r.valueStart);
      if (sentAt > started - 60_000 && sentAt <= now + 1) latency.record((now - sentAt) * 1000);
    }
    return count < records;
  };
  opts.onStart?.();
  try {
    while (count < records && !(opts.deadline?.() ?? false)) {
      const chunks = await consumer.poll();
      if (chunks === null) break;
      now = opts.stamped ? nowMs() : 0;
      for (let c = 0; c < chunks.length && count < records; c++) consumer.walk(chunks[c]!, visit);
    }
  } finally {
    await consumer.close();
  }
  return { records: count, valueBytes, seconds: (nowMs() - started) / 1000, latency };
}
