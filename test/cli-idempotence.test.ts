// `streamctl produce` is an idempotent producer by default (issue #20), as Kafka 3.x clients are:
// what the broker stored carries one producer id, epoch 0 and contiguous sequences; with
// --no-idempotence or --acks 1, plain batches. Read straight off the disk, whatever a client says.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BrokerProcess, removeDir, startBroker, streamctl } from "./harness.ts";

let broker: BrokerProcess;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

/** [producerId, epoch, baseSequence, recordCount] of every batch of a partition's first segment. */
function storedStamps(topic: string): [number, number, number, number][] {
  const dir = join(broker.dataDir, "topics", topic, "0");
  const log = readdirSync(dir).filter((f) => f.endsWith(".log")).sort()[0]!;
  const bytes = readFileSync(join(dir, log));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number, number, number][] = [];
  for (let pos = 0; pos + 61 <= bytes.length && view.getInt32(pos + 8) > 0; pos += 12 + view.getInt32(pos + 8)) {
    out.push([Number(view.getBigInt64(pos + 43)), view.getInt16(pos + 51), view.getInt32(pos + 53), view.getInt32(pos + 57)]);
  }
  return out;
}

const input = Array.from({ length: 3000 }, (_, i) => `record-${i}`).join("\n") + "\n";
const broker_ = () => ["--broker", broker.kafka];

test("by default: one producer id, epoch 0, sequences following each other across batches", async () => {
  const r = await streamctl(["produce", "idem-cli", "--partition", "0", "--batch-bytes", "4000", ...broker_()], { input });
  expect(r.code).toBe(0);
  const stamps = storedStamps("idem-cli");
  expect(stamps.length).toBeGreaterThan(5);
  const [producerId] = stamps[0]!;
  expect(producerId).toBeGreaterThanOrEqual(0);
  let next = 0;
  for (const [id, epoch, seq, count] of stamps) {
    expect([id, epoch, seq]).toEqual([producerId, 0, next]);
    next += count;
  }
  expect(next).toBe(3000);
  // A second run is another producer.
  expect((await streamctl(["produce", "idem-cli", "--partition", "0", ...broker_()], { input: "one more\n" })).code).toBe(0);
  const last = storedStamps("idem-cli").at(-1)!;
  expect(last[0]).not.toBe(producerId);
  expect(last.slice(1, 3)).toEqual([0, 0]);
});

test.each(["--no-idempotence", "--acks 1"])("%s: plain batches", async (flagText) => {
  const flags = flagText.split(" ");
  const topic = `plain${flags.join("").replaceAll("-", "")}`;
  const r = await streamctl(["produce", topic, "--partition", "0", ...flags, ...broker_()], { input });
  expect(r.code).toBe(0);
  for (const [id, epoch, seq] of storedStamps(topic)) expect([id, epoch, seq]).toEqual([-1, -1, -1]);
});
