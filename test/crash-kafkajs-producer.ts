// A kafkajs producer run as a child of the crash harness (issue #7): sends unique values
// `<name>-<seq>` one at a time with acks=-1, round-robin over the partitions, and prints one
// line per acknowledgement on stdout: `ack <partition> <offset> <value>`. A send that fails (the
// broker was killed under it) is retried with the same value until acknowledged, so a value may
// land twice (counted as a duplicate, never as a loss). SIGTERM: finish the send in flight, exit 0.
//
//   bun test/crash-kafkajs-producer.ts <host:port> <topic> <partitions> <name>
import { Kafka, logLevel, type Producer } from "kafkajs";

const [broker, topic, partitionsArg, name] = process.argv.slice(2) as [string, string, string, string];
const partitions = Number(partitionsArg);
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});

const kafka = new Kafka({
  clientId: name,
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 10_000,
  retry: { retries: 0 },
});

let producer: Producer | null = null;
async function connected(): Promise<Producer> {
  if (producer) return producer;
  const p = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await p.connect();
  producer = p;
  return p;
}

async function drop(): Promise<void> {
  const p = producer;
  producer = null;
  await p?.disconnect().catch(() => {});
}

let seq = 0;
while (!stopping) {
  const value = `${name}-${seq}`;
  const partition = seq % partitions;
  for (;;) {
    try {
      const p = await connected();
      const [meta] = await p.send({ topic, acks: -1, timeout: 10_000, messages: [{ value, partition }] });
      process.stdout.write(`ack ${meta!.partition} ${meta!.baseOffset} ${value}\n`);
      break;
    } catch {
      // The broker died under us: reconnect and send the same value again (at-least-once).
      await drop();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  seq++;
}
await drop();
process.exit(0);
