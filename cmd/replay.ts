// `streamctl replay TOPIC --from POSITION [--to POSITION] [--partition N] [--to-topic T2]`: the
// half-open range [from, to) of every partition (or just N) — printed (values one per line, or
// --format/--json, through the filters) or republished into T2 keeping key, value, headers and
// timestamp. Without --to the range ends at the end offsets seen at start. Positions are the common
// vocabulary (data-time.ts); a time means the first offset whose timestamp is at or after it
// (ListOffsets), per partition.
//
// Partitions in T2: a T2 that does not exist is created with TOPIC's partition count (where the
// broker creates topics on first use), and each record keeps its partition when the counts match;
// when they differ, records are partitioned by key (keyless ones spread), and a line on stderr says
// so (issue #22: a 3-partition topic was merged silently into one).
//
// TOPIC must exist (exit 1 at once otherwise). SIGINT/SIGTERM end it within a second (exit 130/143).
import { Command } from "commander";
import { Codec } from "../core/batch/header.ts";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { Producer } from "../net/client/producer.ts";
import { readHeaders } from "../net/client/record-walker.ts";
import { brokerOption, checkTopic, describeFailure, intFlag, makeClient, plural, timeoutOption } from "./data-common.ts";
import { OutputSink } from "./data-output.ts";
import { addFilterOptions, addOutputOptions, type FilterFlags, type OutputFlags, recordFilter, recordPrinter } from "./data-read.ts";
import { clientRetryReporter, DELIVERY_TIMEOUT_MS_CLI, deliveryTimeoutOption, produceRetryReporter } from "./data-retry.ts";
import { Stopper } from "./data-stop.ts";
import { offsetSpec, parsePosition, POSITION_HELP } from "./data-time.ts";
import { topicForWriting } from "./data-topics.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";

interface ReplayFlags extends FilterFlags, OutputFlags {
  broker?: string;
  timeout?: string;
  deliveryTimeout?: string;
  from?: string;
  to?: string;
  partition?: string;
  toTopic?: string;
}

export function replayCommand(io: Io): Command {
  const cmd = new Command("replay")
    .description("print (or republish with --to-topic) the records of TOPIC in [--from, --to)")
    .argument("<topic>", "topic to read (it must exist)")
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .requiredOption("--from <position>", `first record, inclusive: ${POSITION_HELP}`)
    .option("--to <position>", "end, exclusive, in the same words as --from (default: the end at start)")
    .option("--partition <n>", "only this partition")
    .option("--to-topic <topic>", "republish into this topic instead of printing (created with TOPIC's partition count if missing; partitions kept when the counts match, else chosen by key)")
    .addOption(deliveryTimeoutOption());
  addFilterOptions(cmd);
  addOutputOptions(cmd);
  return cmd.action(async (topic: string, flags: ReplayFlags) => {
    await replay(io, checkTopic("TOPIC", topic), flags);
  });
}

async function replay(io: Io, topic: string, flags: ReplayFlags): Promise<void> {
  const from = parsePosition("--from", flags.from!);
  const to = flags.to === undefined ? null : parsePosition("--to", flags.to);
  const partitionFlag = intFlag("--partition", flags.partition);
  const target = flags.toTopic === undefined ? null : checkTopic("--to-topic", flags.toTopic);
  if (target === topic) throw new UsageError("--to-topic: replaying a topic into itself would never end");
  if (target !== null && (flags.json || flags.format !== undefined)) throw new UsageError("--to-topic: records are republished, not printed; drop --json/--format");
  const filter = recordFilter(flags);
  const sink = new OutputSink(io.stdout);
  const print = recordPrinter(sink, flags);
  const deliveryTimeoutMs = intFlag("--delivery-timeout", flags.deliveryTimeout, { min: 1 }) ?? DELIVERY_TIMEOUT_MS_CLI;
  const client = makeClient(io, flags, flags.timeout, { onRetry: clientRetryReporter(io) });
  const producer = target === null ? null : new Producer(client, { codec: Codec.Zstd, acks: -1, deliveryTimeoutMs, retriesMax: Infinity, onRetry: produceRetryReporter(io) });
  const stopper = new Stopper(io);
  sink.watchReader(() => stopper.request("stdout closed"));
  let read = 0;
  try {
    try {
      const info = await client.topic(topic, { autoCreate: false });
      const sourcePartitions = info.partitions.length;
      if (partitionFlag !== undefined && partitionFlag >= sourcePartitions) {
        throw new UsageError(`--partition ${partitionFlag}: topic ${topic} has ${plural(sourcePartitions, "partition")}`);
      }
      let keep = true;
      if (target !== null) {
        const t = await topicForWriting(client, target, sourcePartitions);
        await producer!.prepare(target);
        keep = t.partitions === sourcePartitions;
        if (!keep) io.stderr.write(`streamctl: ${topic} has ${plural(sourcePartitions, "partition")}, ${target} ${t.partitions}: records go to ${target}'s partitions by key, not by number\n`);
      }
      // [from, to) of each partition, and never past the end it has now.
      const consumer = new Consumer(client, {
        topics: [topic],
        partitions: partitionFlag !== undefined ? new Map([[topic, [partitionFlag]]]) : undefined,
        from: offsetSpec(from),
        stopAt: to === null ? undefined : offsetSpec(to),
        stopAtEnd: true,
      });
      const visit = (r: TopicRecordView): boolean => {
        if (filter !== null && !filter(r)) return true;
        read++;
        if (producer === null) {
          print(r);
          return !sink.closed;
        }
        const headers = r.headerCount > 0 ? readHeaders(r) : null;
        const key = r.keyStart < 0 ? null : r.buf.subarray(r.keyStart, r.keyEnd);
        const value = r.valueStart < 0 ? null : r.buf.subarray(r.valueStart, r.valueEnd);
        producer.append(target!, keep ? r.partition : -1, key, value, headers, r.timestamp);
        return true;
      };
      const afterPoll = async () => {
        sink.flush();
        await sink.ready();
        if (producer?.needsDrain) await producer.drained();
      };
      try {
        await consumer.run(visit, { afterPoll, until: () => stopper.requested || sink.closed });
      } finally {
        await consumer.close();
      }
    } catch (err) {
      throw describeFailure(err, `replay ${topic}`);
    }
    if (producer !== null) {
      const summary = await producer.flush();
      const head = `replayed ${formatOf(summary.acked, read)} from ${topic} into ${target}`;
      if (summary.failed > 0) throw new RuntimeError(`${head}, ${summary.failed} failed: ${summary.errors.join("; ")}`);
      io.stderr.write(`streamctl: ${head}\n`);
    }
    await sink.end();
    stopper.throwIfSignalled();
  } finally {
    sink.unwatch();
    stopper.dispose();
    producer?.close();
    await client.close();
  }
}

/** "3 of 3 records", "1 of 1 record". */
function formatOf(done: number, total: number): string {
  return `${done.toLocaleString("en-US")} of ${plural(total, "record")}`;
}
