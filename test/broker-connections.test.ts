// Connection limits of `streamctl serve`: the connection cap, the idle timeout (which a long poll
// does not trip), and a graceful stop that answers parked long polls. Issue #3.
import { afterEach, expect, test } from "bun:test";
import { encodeRecordBatch } from "../core/batch/record-batch.ts";
import {
  ApiVersions, Fetch, Metadata, Produce,
  defaultApiVersionsRequest, defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic,
  defaultMetadataRequest, defaultProduceRequest,
} from "../net/protocol/messages/index.ts";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";

let broker: BrokerProcess | undefined;
afterEach(async () => {
  if (broker && broker.proc.exitCode === null) await broker.stop();
  if (broker) removeDir(broker.dataDir);
  broker = undefined;
});

const apiVersions = (c: RawConnection) => c.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "t", clientSoftwareVersion: "1" });

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms))]);
}

function longPoll(c: RawConnection, topic: string, maxWaitMs: number) {
  return c.request(Fetch, 11, {
    ...defaultFetchRequest(),
    maxWaitMs,
    minBytes: 1,
    topics: [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
  }, maxWaitMs + 10_000);
}

async function createTopic(c: RawConnection, topic: string) {
  const md = await c.request(Metadata, 4, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: topic }], allowAutoTopicCreation: true });
  expect(md.topics[0]!.errorCode).toBe(0);
}

test("connections above --max-connections are refused; a freed slot is usable again", async () => {
  broker = await startBroker({ args: ["--max-connections", "2"] });
  const a = await RawConnection.open(broker.kafka);
  const b = await RawConnection.open(broker.kafka);
  await apiVersions(a);
  await apiVersions(b);
  // Refused: either the connect itself fails (reset during the handshake) or it is closed at once.
  const c = await RawConnection.open(broker.kafka).catch(() => null);
  if (c) await within(c.closed, 5000, "refusal of the third connection");
  a.close();
  await a.closed;
  // The broker notices the close asynchronously: retry until a new connection is accepted.
  let accepted = false;
  for (let i = 0; i < 50 && !accepted; i++) {
    const d = await RawConnection.open(broker.kafka).catch(() => null);
    accepted = d !== null && (await apiVersions(d).then(() => true, () => false));
    d?.close();
  }
  expect(accepted).toBe(true);
  b.close();
});

test("an idle connection is closed after --idle-timeout-ms, a long poll is not idle", async () => {
  broker = await startBroker({ args: ["--idle-timeout-ms", "1000"] });
  const idle = await RawConnection.open(broker.kafka);
  await apiVersions(idle);
  const polling = await RawConnection.open(broker.kafka);
  await createTopic(polling, "idle");
  const res = await longPoll(polling, "idle", 2500);
  expect(res.responses[0]!.partitions[0]!.errorCode).toBe(0);
  expect(polling.isClosed).toBe(false);
  await within(idle.closed, 10_000, "idle close");
  expect(idle.isClosed).toBe(true);
  polling.close();
});

test("SIGTERM answers a parked long poll at once and exits 0 after acknowledged writes", async () => {
  broker = await startBroker();
  const c = await RawConnection.open(broker.kafka);
  await createTopic(c, "stopping");
  const produced = await c.request(Produce, 7, {
    ...defaultProduceRequest(),
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: "stopping", partitionData: [{ index: 0, records: encodeRecordBatch({ records: [{ value: new TextEncoder().encode("kept") }] }) }] }],
  });
  expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
  const poll = longPoll(c, "stopping-empty", 60_000).catch((e) => e);
  await createTopic(await RawConnection.open(broker.kafka), "stopping-empty");
  const exit = broker.stop("SIGTERM");
  await within(Promise.race([poll, c.closed]), 10_000, "long poll answered or closed on stop");
  expect(await exit).toBe(0);
  expect(broker.stderr()).toContain("stopped cleanly");
  // Restart on the same data: the acknowledged record is there.
  const again = await startBroker({ dataDir: broker.dataDir });
  broker = again;
  const c2 = await RawConnection.open(again.kafka);
  const res = await longPoll(c2, "stopping", 0);
  expect(res.responses[0]!.partitions[0]!.highWatermark).toBe(1n);
  c2.close();
});
