// Our own producer (net/client, idempotent as by default) run as a child of the crash harness
// (issue #20): one Producer for the whole run, across every SIGKILL and restart of the broker, so
// its retries keep their producer id and sequences. It appends unique values `<name>-<seq>`, a
// steady trickle round-robin over the partitions, and prints one line per acknowledged record on
// stdout: `ack <partition> <offset> <value>` (the same lines as crash-kafkajs-producer.ts). Each
// acknowledgement names its batch's first offset and first record (ProducerOptions.onAcked), so
// the value at each offset is known exactly. SIGTERM: stop appending, flush (the broker is up by
// then), print `summary <acked> <failed>` on stderr, exit 0 only if nothing failed.
//
//   bun test/crash-streamctl-producer.ts <host:port> <topic> <partitions> <name>
import { Codec } from "../core/batch/header.ts";
import { KafkaClient } from "../net/client/client.ts";
import { Producer } from "../net/client/producer.ts";

const [broker, topic, partitionsArg, name] = process.argv.slice(2) as [string, string, string, string];
const partitions = Number(partitionsArg);
const [host, port] = broker.split(":") as [string, string];
const encoder = new TextEncoder();

const client = new KafkaClient({ bootstrap: [{ host, port: Number(port) }], clientId: name });
/** The values appended to each partition, in order: the k-th is the partition's record k. */
const appended: string[][] = Array.from({ length: partitions }, () => []);
let out = "";
const producer = new Producer(client, {
  codec: Codec.None,
  acks: -1,
  lingerMs: 2,
  autoCreate: false,
  // The broker is down for a second or two each cycle: keep retrying rather than fail.
  retriesMax: 1_000_000,
  onAcked: (_topic, partition, records, baseOffset, firstRecord) => {
    for (let i = 0; i < records; i++) out += `ack ${partition} ${baseOffset + i} ${appended[partition]![firstRecord + i]}\n`;
  },
});
await producer.prepare(topic);
if (!producer.idempotent) throw new Error("the broker did not make this producer idempotent");

let seq = 0;
const timer = setInterval(() => {
  for (let k = 0; k < 2; k++) {
    const value = `${name}-${seq}`;
    const partition = seq % partitions;
    appended[partition]!.push(value);
    producer.append(topic, partition, null, encoder.encode(value), null, Date.now());
    seq++;
  }
}, 5);
const writer = setInterval(() => {
  if (out !== "") {
    process.stdout.write(out);
    out = "";
  }
}, 20);

process.on("SIGTERM", async () => {
  clearInterval(timer);
  const summary = await producer.flush();
  clearInterval(writer);
  await new Promise<void>((resolve) => process.stdout.write(out, () => resolve()));
  process.stderr.write(`summary ${summary.acked} ${summary.failed} ${summary.errors.join("; ")}\n`);
  producer.close();
  await client.close();
  process.exit(summary.failed === 0 ? 0 : 1);
});
