// Exactly-once consume-transform-produce with our client (issue #20), run as a child of
// test/eos.test.ts, which SIGKILLs it and the broker at seeded moments. It reads the input topic
// read_committed from its group's committed offsets, and for every `perTxn` records runs one
// transaction: the results `out:<value>` to the same partition of the output topic, and the group's
// offsets after those records (sendOffsets), committed together. The producer is made first, with
// the one transactional id every incarnation shares, so its InitProducerId fences the previous
// incarnation and aborts what it left open before the offsets are read (as Kafka Streams does).
// Prints `committed <n>` after each commit. With --until-end it stops at the input's end and
// exits 0; any failure (a fenced producer, a broker gone too long) exits 1.
//
//   bun test/eos-transformer.ts <host:port> <input> <output> <group> <transactional id> <perTxn> [--until-end]
import { Codec } from "../core/batch/header.ts";
import { KafkaClient } from "../net/client/client.ts";
import { Consumer, type ConsumerRecord } from "../net/client/consumer.ts";
import { Producer } from "../net/client/producer.ts";

const [broker, input, output, group, transactionalId, perTxnArg, untilEnd] = process.argv.slice(2) as [string, string, string, string, string, string, string | undefined];
const perTxn = Number(perTxnArg);
const [host, port] = broker.split(":") as [string, string];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const client = new KafkaClient({ bootstrap: [{ host, port: Number(port) }], clientId: transactionalId });
const producer = new Producer(client, { codec: Codec.None, acks: -1, lingerMs: 0, autoCreate: false, transactionalId, retriesMax: 1_000_000, deliveryTimeoutMs: 60_000 });
let committedTxns = 0;
try {
  await producer.prepare(output);
  const consumer = new Consumer(client, {
    topics: [input],
    group: { id: group, join: false, autoCommit: false },
    isolation: "read_committed",
    stopAtEnd: untilEnd === "--until-end",
    maxWaitMs: 100,
  });
  let pending: ConsumerRecord[] = [];
  const commit = async () => {
    if (pending.length === 0) return;
    await producer.beginTransaction();
    const offsets = new Map<string, Map<number, number>>([[input, new Map()]]);
    for (const r of pending) {
      producer.append(output, r.partition, null, encoder.encode(`out:${decoder.decode(r.value!)}`), null, Date.now());
      offsets.get(input)!.set(r.partition, r.offset + 1);
    }
    await producer.sendOffsets({ groupId: group, offsets });
    await producer.commitTransaction();
    pending = [];
    process.stdout.write(`committed ${++committedTxns}\n`);
  };
  for await (const r of consumer) {
    pending.push(r);
    if (pending.length >= perTxn) await commit();
  }
  await commit();
  await consumer.close();
  producer.close();
  await client.close();
  process.exit(0);
} catch (err) {
  process.stderr.write(`eos-transformer: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
