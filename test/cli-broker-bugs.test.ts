// Broker behaviour found wrong while building the data commands (issue #5), written as failing
// tests and kept as regression tests once fixed. Each names the Kafka behaviour it expects and
// checks it with kcat as an independent client as well as with ours.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, kcat, removeDir, startBroker, streamctl } from "./harness.ts";

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
  removeDir(broker.dataDir);
});

// Kafka: ListOffsets with a timestamp answers the first offset whose record timestamp is ≥ it
// (LogSegment.findOffsetByTimestamp scans the records of the batch the time index points at).
// The broker used to answer the base offset of the first *batch* whose maxTimestamp is ≥ it, so a
// time inside a batch started too early (fixed in 223ec3d).
test("ListOffsets by timestamp finds the record inside a batch, not the batch start", async () => {
  const lines = [0, 1, 2, 3].map((i) => JSON.stringify({ value: `v${i}`, timestamp: 1_800_000_000_000 + i * 1000 }));
  const produced = await streamctl(["produce", "by-time", "--json", "--broker", broker.kafka], { input: lines.join("\n") });
  expect(produced.code).toBe(0);
  const viaKcat = await kcat(broker.kafka, ["-C", "-t", "by-time", "-p", "0", "-o", "s@1800000002000", "-e", "-f", "%s\n"]);
  expect(viaKcat.stdout).toBe("v2\nv3\n");
  const ours = await streamctl(["consume", "by-time", "--from", "@1800000002000", "--until-end", "--broker", broker.kafka]);
  expect(ours.stdout).toBe("v2\nv3\n");
});
