// `streamctl replay TOPIC --from OFFSET|@TIME [--to OFFSET|@TIME] [--partition N] [--to-topic T2]`:
// the half-open range [from, to) of every partition (or just N) — values to stdout one per line,
// or republished into T2 keeping key, value, headers and timestamp (and the partition number when
// T2 has it; otherwise T2's partitioner decides). Without --to the range ends at the end offsets
// seen at start. A time bound means the first offset whose timestamp is at or after it (ListOffsets),
// per partition.
import { Command } from "commander";
import { Codec } from "../core/batch/header.ts";
import { Producer } from "../net/client/producer.ts";
import { readHeaders } from "../net/client/record-walker.ts";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { brokerOption, checkTopic, describeFailure, formatCount, intFlag, makeClient, onInterrupt } from "./data-common.ts";
import { OutputSink } from "./data-output.ts";
import { offsetSpec, parsePosition } from "./data-time.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";

interface ReplayFlags {
  broker?: string;
  from?: string;
  to?: string;
  partition?: string;
  toTopic?: string;
}

export function replayCommand(io: Io): Command {
  return new Command("replay")
    .description("print (or republish with --to-topic) the records of TOPIC in [--from, --to)")
    .argument("<topic>", "topic to read")
    .addOption(brokerOption())
    .requiredOption("--from <position>", "first offset, or @TIME (ISO-8601, epoch ms, relative like @-2h), inclusive")
    .option("--to <position>", "end offset or @TIME, exclusive (default: the end at start)")
    .option("--partition <n>", "only this partition")
    .option("--to-topic <topic>", "republish into this topic instead of printing")
    .action(async (topic: string, flags: ReplayFlags) => {
      await replay(io, checkTopic("TOPIC", topic), flags);
    });
}

async function replay(io: Io, topic: string, flags: ReplayFlags): Promise<void> {
  const from = parsePosition("--from", flags.from!, { allowEnds: false });
  const to = flags.to === undefined ? null : parsePosition("--to", flags.to, { allowEnds: false });
  const partitionFlag = intFlag("--partition", flags.partition);
  const target = flags.toTopic === undefined ? null : checkTopic("--to-topic", flags.toTopic);
  if (target === topic) throw new UsageError("--to-topic: replaying a topic into itself would never end");
  const sink = new OutputSink(io.stdout);
  const client = makeClient(io, flags);
  const producer = target === null ? null : new Producer(client, { codec: Codec.Zstd, acks: -1 });
  let interrupted = false;
  const removeInterrupt = onInterrupt(io, () => void (interrupted = true));
  let read = 0;
  try {
    try {
      const info = await client.topic(topic, { autoCreate: false });
      if (partitionFlag !== undefined && partitionFlag >= info.partitions.length) {
        throw new UsageError(`--partition ${partitionFlag}: topic ${topic} has ${info.partitions.length} partition(s)`);
      }
      const targetPartitions = target === null ? 0 : await producer!.prepare(target);
      // [from, to) of each partition, and never past the end it has now.
      const consumer = new Consumer(client, {
        topics: [topic],
        partitions: partitionFlag !== undefined ? new Map([[topic, [partitionFlag]]]) : undefined,
        from: offsetSpec(from),
        stopAt: to === null ? undefined : offsetSpec(to),
        stopAtEnd: true,
      });
      const visit = (r: TopicRecordView): boolean => {
        read++;
        if (producer === null) {
          if (r.valueStart >= 0) sink.bytes(r.buf, r.valueStart, r.valueEnd);
          sink.byte(10);
          return !sink.closed;
        }
        const headers = r.headerCount > 0 ? readHeaders(r) : null;
        const key = r.keyStart < 0 ? null : r.buf.subarray(r.keyStart, r.keyEnd);
        const value = r.valueStart < 0 ? null : r.buf.subarray(r.valueStart, r.valueEnd);
        producer.append(target!, r.partition < targetPartitions ? r.partition : -1, key, value, headers, r.timestamp);
        return true;
      };
      const afterPoll = async () => {
        sink.flush();
        await sink.ready();
        if (producer?.needsDrain) await producer.drained();
      };
      try {
        await consumer.run(visit, { afterPoll, until: () => interrupted || sink.closed });
      } finally {
        await consumer.close();
      }
    } catch (err) {
      throw describeFailure(err, `replay ${topic}`);
    }
    if (producer !== null) {
      const summary = await producer.flush();
      const head = `replayed ${formatCount(summary.acked)} of ${formatCount(read)} records from ${topic} into ${target}`;
      if (summary.failed > 0) throw new RuntimeError(`${head}, ${formatCount(summary.failed)} failed: ${summary.errors.join("; ")}`);
      io.stderr.write(`streamctl: ${head}\n`);
    }
    await sink.end();
  } finally {
    removeInterrupt();
    producer?.close();
    await client.close();
  }
}
