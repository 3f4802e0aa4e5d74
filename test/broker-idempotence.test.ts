// Idempotent producers: InitProducerId, and retried batches answered with their first offsets
// instead of being appended twice, also across restarts of the broker, clean or kill -9 (issue
// #20: the producer state is recovered with the log). kcat with enable.idempotence=true and
// kafkajs idempotent: true must work unmodified (Java clients ≥ 3.0 enable idempotence by default).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import {
  InitProducerId, Metadata, Produce, ListOffsets,
  defaultInitProducerIdRequest, defaultMetadataRequest, defaultProduceRequest, defaultListOffsetsRequest,
} from "../net/protocol/messages/index.ts";
import { type BrokerProcess, kcat, removeDir, startBroker, tempDir } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

test("kcat with enable.idempotence=true: every record once, in order", async () => {
  const input = Array.from({ length: 5000 }, (_, i) => `idem-${i}`).join("\n") + "\n";
  const produced = await kcat(broker.kafka, ["-P", "-t", "idem-kcat", "-p", "0", "-X", "enable.idempotence=true", "-z", "lz4"], { input });
  expect(produced.code).toBe(0);
  const out = await kcat(broker.kafka, ["-C", "-t", "idem-kcat", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"]);
  expect(out.stdout).toBe(input);
});

test("kafkajs idempotent producer", async () => {
  const kafka = new Kafka({ clientId: "idem", brokers: [broker.kafka], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "idem-kjs", numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let b = 0; b < 5; b++) {
    const [meta] = await producer.send({ topic: "idem-kjs", messages: Array.from({ length: 20 }, (_, i) => ({ value: `kjs-${b}-${i}` })) });
    expect(meta!.errorCode).toBe(0);
    expect(meta!.baseOffset).toBe(String(b * 20));
  }
  await producer.disconnect();
});

test("a retried batch gets its first answer; a gap and an old epoch are refused", async () => {
  const c = await RawConnection.open(broker.kafka);
  await c.request(Metadata, 4, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: "idem-raw" }], allowAutoTopicCreation: true });
  const init = await c.request(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  expect(init.errorCode).toBe(0);
  expect(init.producerId).toBeGreaterThanOrEqual(0n);
  const producerId = Number(init.producerId);
  const batch = (baseSequence: number, producerEpoch = init.producerEpoch) =>
    encodeRecordBatch({ producerId, producerEpoch, baseSequence, records: [{ value: new TextEncoder().encode(`seq-${baseSequence}`) }, { value: null }] });
  const send = async (records: Uint8Array) => {
    const res = await c.request(Produce, 7, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: "idem-raw", partitionData: [{ index: 0, records }] }] });
    return res.responses[0]!.partitionResponses[0]!;
  };
  const first = await send(batch(0));
  expect([first.errorCode, first.baseOffset]).toEqual([0, 0n]);
  const second = await send(batch(2));
  expect([second.errorCode, second.baseOffset]).toEqual([0, 2n]);
  const retry = await send(batch(0));
  expect([retry.errorCode, retry.baseOffset]).toEqual([0, 0n]);
  expect((await send(batch(7))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const bumped = await c.request(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: null, transactionTimeoutMs: 60000, producerId: init.producerId, producerEpoch: init.producerEpoch });
  expect([bumped.producerId, bumped.producerEpoch]).toEqual([init.producerId, init.producerEpoch + 1]);
  expect((await send(batch(0, bumped.producerEpoch))).errorCode).toBe(0);
  expect((await send(batch(4, init.producerEpoch))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  const end = await c.request(ListOffsets, 2, { ...defaultListOffsetsRequest(), replicaId: -1, topics: [{ name: "idem-raw", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] });
  expect(end.topics[0]!.partitions[0]!.offset).toBe(6n); // 3 batches of 2 appended; the retry and the refusals added nothing
  const txn = await c.request(InitProducerId, 1, { ...defaultInitProducerIdRequest(), transactionalId: "tx", transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  expect([txn.errorCode, txn.producerEpoch]).toEqual([0, 0]);
  const again = await c.request(InitProducerId, 1, { ...defaultInitProducerIdRequest(), transactionalId: "tx", transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  expect([again.errorCode, again.producerId, again.producerEpoch]).toEqual([0, txn.producerId, 1]); // the id's producer, fencing the first
  c.close();
});

/** An idempotent producer speaking raw frames: batches of 2 records from a given sequence. */
class RawIdempotentProducer {
  constructor(
    private conn: RawConnection,
    readonly topic: string,
    readonly producerId: bigint,
    readonly epoch: number,
  ) {}

  static async init(conn: RawConnection, topic: string): Promise<RawIdempotentProducer> {
    await conn.request(Metadata, 4, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: topic }], allowAutoTopicCreation: true });
    const init = await conn.request(InitProducerId, 4, { ...defaultInitProducerIdRequest(), transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    expect(init.errorCode).toBe(0);
    return new RawIdempotentProducer(conn, topic, init.producerId, init.producerEpoch);
  }

  reconnect(conn: RawConnection): void {
    this.conn = conn;
  }

  /** Sends the batch of sequences [seq, seq+1]; resolves to [errorCode, baseOffset]. */
  async send(seq: number): Promise<[number, bigint]> {
    const records = encodeRecordBatch({
      producerId: Number(this.producerId),
      producerEpoch: this.epoch,
      baseSequence: seq,
      records: [{ value: new TextEncoder().encode(`v${seq}`) }, { value: new TextEncoder().encode(`v${seq + 1}`) }],
    });
    const res = await this.conn.request(Produce, 7, { ...defaultProduceRequest(), acks: -1, timeoutMs: 5000, topicData: [{ name: this.topic, partitionData: [{ index: 0, records }] }] });
    const p = res.responses[0]!.partitionResponses[0]!;
    return [p.errorCode, p.baseOffset];
  }
}

test("retries across a clean stop and a kill -9: answered with their first offsets, stored once; a gap is OUT_OF_ORDER_SEQUENCE_NUMBER (issue #20)", async () => {
  const dataDir = tempDir("streamctl-idem-restart-");
  let b = await startBroker({ dataDir });
  try {
    let conn = await RawConnection.open(b.kafka);
    const p = await RawIdempotentProducer.init(conn, "idem-restart");
    const ids = [p.producerId];
    let next = 0;
    for (const stop of ["SIGTERM", "kill -9", "kill -9"] as const) {
      // Three batches acknowledged (acks=all: on disk), then the broker goes away before the
      // producer hears... as far as it knows: it retries its last two after the restart.
      const first = next;
      for (let i = 0; i < 3; i++, next += 2) expect(await p.send(next)).toEqual([0, BigInt(next)]);
      conn.close();
      if (stop === "SIGTERM") expect(await b.stop()).toBe(0);
      else await b.kill9();
      b = await startBroker({ dataDir });
      conn = await RawConnection.open(b.kafka);
      p.reconnect(conn);
      expect(await p.send(next - 2)).toEqual([0, BigInt(next - 2)]);
      expect(await p.send(first)).toEqual([0, BigInt(first)]);
      expect((await p.send(next + 2))[0]).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      const other = await RawIdempotentProducer.init(conn, "idem-restart");
      expect(ids).not.toContain(other.producerId); // ids never repeat across restarts
      ids.push(other.producerId);
    }
    expect(await p.send(next)).toEqual([0, BigInt(next)]);
    conn.close();
    const out = await kcat(b.kafka, ["-C", "-t", "idem-restart", "-p", "0", "-o", "beginning", "-e", "-f", "%o %s\n"]);
    const want = Array.from({ length: next + 2 }, (_, o) => `${o} v${o}\n`).join("");
    expect(out.stdout).toBe(want);
  } finally {
    await b.kill9();
    removeDir(dataDir);
  }
});
