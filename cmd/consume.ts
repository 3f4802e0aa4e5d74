// `streamctl consume TOPIC`: records to stdout, as values one per line (default), a --format
// template, or --json envelopes. Without --group every partition is read (or just --partition N)
// from --from (default beginning); with --group the group's committed offsets are the start
// (--from only for partitions with none) and processed offsets are committed periodically and on
// exit. --until-end stops at the end offsets seen at start; -n stops after N printed records.
// Filters (--grep on the value, --key, --header) apply before -n counts.
//
// stdout carries records only. Nothing goes to stderr unless something fails (or, on a terminal,
// the progress line), so `consume | head -1` ends with exit 0 and an empty stderr.
import { Command, Option } from "commander";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { readHeaders, type RecordView } from "../net/client/record-walker.ts";
import { brokerOption, checkTopic, collect, describeFailure, intFlag, keyValues, makeClient, onInterrupt, Progress } from "./data-common.ts";
import { jsonLine, Template } from "./data-format.ts";
import { OutputSink } from "./data-output.ts";
import { offsetSpec, parsePosition } from "./data-time.ts";
import { type Io, UsageError } from "./io.ts";

interface ConsumeFlags {
  broker?: string;
  group?: string;
  partition?: string;
  from?: string;
  count?: string;
  grep?: string;
  key?: string;
  header?: string[];
  untilEnd?: boolean;
  format?: string;
  json?: boolean;
}

export function consumeCommand(io: Io): Command {
  return new Command("consume")
    .description("print records of TOPIC to stdout")
    .argument("<topic>", "topic to read")
    .addOption(brokerOption())
    .addOption(new Option("--group <group>", "consume as a member of this consumer group (committed offsets)").conflicts("partition"))
    .option("--partition <n>", "read only this partition")
    .option("--from <position>", "beginning | end | OFFSET | @TIME (ISO-8601, epoch ms, or relative like @-2h); default beginning")
    .option("-n, --count <n>", "stop after printing N records")
    .option("--grep <regex>", "only records whose value matches this regular expression")
    .option("--key <key>", "only records with exactly this key")
    .option("--header <k=v>", "only records carrying this header (repeatable: all must match)", collect)
    .option("--until-end", "stop when caught up with the end offsets seen at start")
    .option("--format <template>", "output template: %t topic %p partition %o offset %k key %s value %T timestamp %h headers (default %s\\n)")
    .addOption(new Option("--json", "one JSON object per record: topic, partition, offset, timestamp, key, value, headers").conflicts("format"))
    .action(async (topic: string, flags: ConsumeFlags) => {
      await consume(io, checkTopic("TOPIC", topic), flags);
    });
}

/** A record predicate from --grep/--key/--header, or null when nothing filters. */
export function recordFilter(flags: { grep?: string; key?: string; header?: string[] }): ((r: RecordView) => boolean) | null {
  const checks: ((r: RecordView) => boolean)[] = [];
  const decoder = new TextDecoder();
  if (flags.grep !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(flags.grep);
    } catch (err) {
      throw new UsageError(`--grep: ${(err as Error).message}`);
    }
    checks.push((r) => r.valueStart >= 0 && re.test(decoder.decode(r.buf.subarray(r.valueStart, r.valueEnd))));
  }
  if (flags.key !== undefined) {
    const want = Buffer.from(flags.key);
    checks.push((r) => r.keyStart >= 0 && r.keyEnd - r.keyStart === want.length && want.equals(r.buf.subarray(r.keyStart, r.keyEnd)));
  }
  const headers = keyValues("--header", flags.header);
  if (headers.length > 0) {
    const wanted = headers.map((h) => ({ key: h.key, value: Buffer.from(h.value) }));
    checks.push((r) => {
      if (r.headerCount === 0) return false;
      const have = readHeaders(r);
      return wanted.every((w) => have.some((h) => h.key === w.key && h.value !== null && w.value.equals(h.value)));
    });
  }
  if (checks.length === 0) return null;
  return (r) => checks.every((c) => c(r));
}

/** The per-record printer for --json / --format / the default. */
export function recordPrinter(sink: OutputSink, flags: { json?: boolean; format?: string }): (r: TopicRecordView) => void {
  if (flags.json) return (r) => sink.text(jsonLine(r.topic, r.partition, r));
  const template = Template.compile(flags.format ?? "%s\\n");
  if (template.isValueLine) {
    return (r) => {
      if (r.valueStart >= 0) sink.bytes(r.buf, r.valueStart, r.valueEnd);
      sink.byte(10);
    };
  }
  return (r) => template.render(sink, r.topic, r.partition, r);
}

async function consume(io: Io, topic: string, flags: ConsumeFlags): Promise<void> {
  const limit = intFlag("--count", flags.count, { min: 1 }) ?? Infinity;
  const partitionFlag = intFlag("--partition", flags.partition);
  const from = parsePosition("--from", flags.from ?? "beginning");
  const filter = recordFilter(flags);
  const sink = new OutputSink(io.stdout);
  const print = recordPrinter(sink, flags);
  const client = makeClient(io, flags);
  let printed = 0;
  let printedBytes = 0;
  let interrupted = false;
  const removeInterrupt = onInterrupt(io, () => void (interrupted = true));
  const progress = new Progress(io.stderr, "consumed", () => ({ records: printed, bytes: printedBytes }));
  const onRecord = (r: TopicRecordView): boolean => {
    if (filter !== null && !filter(r)) return true;
    print(r);
    if (r.valueStart >= 0) printedBytes += r.valueEnd - r.valueStart;
    return ++printed < limit && !sink.closed;
  };
  const until = () => interrupted || sink.closed || printed >= limit;
  const afterPoll = async () => {
    sink.flush();
    await sink.ready();
  };
  try {
    const info = await client.topic(topic, { autoCreate: true }).catch((err) => {
      throw describeFailure(err, `consume ${topic}`);
    });
    if (partitionFlag !== undefined && partitionFlag >= info.partitions.length) {
      throw new UsageError(`--partition ${partitionFlag}: topic ${topic} has ${info.partitions.length} partition(s)`);
    }
    if (flags.group === "") throw new UsageError("--group: must not be empty");
    // With a group, committed offsets are the start and --from only covers partitions with none;
    // an offset out of range is reported only outside a group (as it always was).
    const consumer = new Consumer(client, {
      topics: [topic],
      partitions: partitionFlag !== undefined ? new Map([[topic, [partitionFlag]]]) : undefined,
      group: flags.group !== undefined ? { id: flags.group } : undefined,
      from: offsetSpec(from),
      stopAtEnd: flags.untilEnd === true,
      onReset:
        flags.group === undefined
          ? (t, partition, was, now) => void io.stderr.write(`streamctl: ${t}/${partition}: offset ${was} is out of range, continuing at ${now}\n`)
          : undefined,
    });
    try {
      await consumer.run(onRecord, { afterPoll, until });
    } catch (err) {
      throw describeFailure(err, `consume ${topic}`);
    } finally {
      await consumer.close();
    }
    await sink.end();
  } finally {
    progress.stop();
    removeInterrupt();
    await client.close();
  }
}
