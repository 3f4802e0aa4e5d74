// `streamctl consume TOPIC…`: records to stdout, as values one per line (default), a --format
// template, or --json envelopes. Several topics, or every topic matching --topic-regex when it
// starts. Without --group every partition is read (or just --partition N) from --from (default
// beginning); with --group the group's committed offsets are the start (--from only for partitions
// with none, and a line on stderr says so when --from was given; --reset-group-start makes --from
// win) and processed offsets are committed periodically and on exit. --until-end stops at the end
// offsets seen at start; -n stops after N printed records. Filters (--grep, -i, --key, --header)
// apply before -n counts.
//
// Isolation (issue #20): read_committed by default — records of open transactions wait until they
// end (reading stops at the last stable offset, which is also --until-end's end), those of
// aborted ones are never printed; --isolation read_uncommitted prints everything up to the high
// watermark. Control batches (transaction markers) are never printed either way.
//
// A topic that does not exist is an error at once (exit 1): reading never creates a topic.
//
// stdout carries records only. stderr stays empty unless something fails, except for a group's
// `assigned:`/`revoked:` lines (as kcat prints them) and, on a terminal, the progress line, shown
// only when records go to a file (and cleared before they are written). A closed stdout (`consume | head -1`) ends the command
// quietly with exit 0 within a second, even while no record arrives; SIGINT/SIGTERM end it within
// a second, exit 130/143 (data-stop.ts).
import { Command, Option } from "commander";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { brokerOption, checkTopic, describeFailure, intFlag, isTty, makeClient, plural, Progress, timeoutOption } from "./data-common.ts";
import { OutputSink } from "./data-output.ts";
import { addFilterOptions, addOutputOptions, describeAssignment, type FilterFlags, type OutputFlags, recordFilter, recordPrinter, resolveTopics } from "./data-read.ts";
import { clientRetryReporter } from "./data-retry.ts";
import { Stopper } from "./data-stop.ts";
import { isPiped } from "./stdout-watch.ts";
import { offsetSpec, parsePosition, POSITION_HELP } from "./data-time.ts";
import { type Io, UsageError } from "./io.ts";

// Kept for callers that imported them from here.
export { recordFilter, recordPrinter } from "./data-read.ts";

interface ConsumeFlags extends FilterFlags, OutputFlags {
  broker?: string;
  timeout?: string;
  topicRegex?: string;
  group?: string;
  partition?: string;
  from?: string;
  resetGroupStart?: boolean;
  count?: string;
  untilEnd?: boolean;
  isolation: "read_committed" | "read_uncommitted";
}

export function consumeCommand(io: Io): Command {
  const cmd = new Command("consume")
    .description("print records of one or more topics to stdout")
    .argument("[topics...]", "topics to read (they must exist)")
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .option("--topic-regex <regex>", "also read every topic whose whole name matches, among those existing at start")
    .addOption(new Option("--group <group>", "consume as a member of this consumer group (committed offsets)").conflicts("partition"))
    .option("--partition <n>", "read only this partition (of a single topic)")
    .option("--from <position>", `where to start: ${POSITION_HELP}; default beginning (with --group: where the group has no committed offset)`)
    .option("--reset-group-start", "with --group: start at --from even where the group has committed offsets")
    .option("-n, --count <n>", "stop after printing N records")
    .option("--until-end", "stop when caught up with the end offsets seen at start")
    .addOption(
      new Option("--isolation <level>", "read_committed: only committed transactions' records (up to the last stable offset); read_uncommitted: also open and aborted ones")
        .choices(["read_committed", "read_uncommitted"])
        .default("read_committed"),
    );
  addFilterOptions(cmd);
  addOutputOptions(cmd);
  return cmd.action(async (topics: string[], flags: ConsumeFlags) => {
    if (topics.length === 0 && flags.topicRegex === undefined) throw new UsageError("consume: name a topic, or give --topic-regex");
    await consume(
      io,
      topics.map((t) => checkTopic("TOPIC", t)),
      flags,
    );
  });
}

async function consume(io: Io, names: string[], flags: ConsumeFlags): Promise<void> {
  const limit = intFlag("--count", flags.count, { min: 1 }) ?? Infinity;
  const partitionFlag = intFlag("--partition", flags.partition);
  const from = parsePosition("--from", flags.from ?? "beginning");
  if (flags.group === "") throw new UsageError("--group: must not be empty");
  if (flags.resetGroupStart && flags.group === undefined) throw new UsageError("--reset-group-start: applies to --group, which is not given");
  if (partitionFlag !== undefined && (names.length !== 1 || flags.topicRegex !== undefined)) throw new UsageError("--partition: applies to a single topic");
  const filter = recordFilter(flags);
  const what = `consume ${names.length > 0 ? names.join(", ") : `--topic-regex ${flags.topicRegex}`}`;
  const sink = new OutputSink(io.stdout);
  const print = recordPrinter(sink, flags);
  let progress: Progress | null = null;
  const client = makeClient(io, flags, flags.timeout, { onRetry: clientRetryReporter(io, () => progress?.clear()) });
  let printed = 0;
  let printedBytes = 0;
  const stopper = new Stopper(io);
  sink.watchReader(() => stopper.request("stdout closed"));
  // Progress (on a terminal stderr) only when records go to a file: on a terminal, or through a
  // pipe into a program that prints there, they would land on the end of it. Cleared before writes.
  progress = isTty(io.stdout) || isPiped(io.stdout) ? null : new Progress(io.stderr, "consumed", () => ({ records: printed, bytes: printedBytes }));
  if (progress !== null) sink.beforeWrite = () => progress?.clear();
  const onRecord = (r: TopicRecordView): boolean => {
    if (filter !== null && !filter(r)) return true;
    print(r);
    if (r.valueStart >= 0) printedBytes += r.valueEnd - r.valueStart;
    return ++printed < limit && !sink.closed;
  };
  const until = () => stopper.requested || sink.closed || printed >= limit;
  const afterPoll = async () => {
    sink.flush();
    await sink.ready();
  };
  const say = (line: string) => {
    progress?.clear();
    io.stderr.write(`streamctl: ${line}\n`);
  };
  try {
    const topics = await resolveTopics(client, names, flags.topicRegex).catch((err) => {
      throw describeFailure(err, what);
    });
    if (partitionFlag !== undefined && partitionFlag >= topics.get(names[0]!)!) {
      throw new UsageError(`--partition ${partitionFlag}: topic ${names[0]} has ${plural(topics.get(names[0]!)!, "partition")}`);
    }
    const group = flags.group;
    let closing = false;
    const consumer = new Consumer(client, {
      topics: [...topics.keys()],
      partitions: partitionFlag !== undefined ? new Map([[names[0]!, [partitionFlag]]]) : undefined,
      group: group !== undefined ? { id: group, ignoreCommitted: flags.resetGroupStart === true } : undefined,
      from: offsetSpec(from),
      stopAtEnd: flags.untilEnd === true,
      isolation: flags.isolation,
      onReset: group === undefined ? (t, partition, was, now) => say(`${t}/${partition}: offset ${was} is out of range, continuing at ${now}`) : undefined,
      onAssigned: (assigned, committed) => {
        say(`group ${group}: assigned: ${describeAssignment(assigned)}`);
        if (flags.from === undefined || committed.size === 0) return;
        const which = describeAssignment(new Map([...committed].map(([t, ps]) => [t, [...ps.keys()]])));
        if (flags.resetGroupStart) say(`group ${group}: --reset-group-start: starting ${which} at --from ${flags.from}, not at the committed offsets`);
        else say(`group ${group}: committed offsets win over --from ${flags.from} for ${which} (--reset-group-start to start at --from)`);
      },
      onRevoked: (revoked) => {
        if (!closing && revoked.size > 0) say(`group ${group}: revoked: ${describeAssignment(revoked)}`);
      },
      onCommitError: (err) => say(`group ${group}: commit failed: ${(err as Error).message}`),
    });
    // A stop while the group keeps the consumer waiting (a join): it stops waiting, then commits and leaves.
    stopper.onStop(() => consumer.interrupt());
    try {
      await consumer.run(onRecord, { afterPoll, until });
    } catch (err) {
      throw describeFailure(err, what);
    } finally {
      closing = true;
      await consumer.close();
    }
    await sink.end();
    stopper.throwIfSignalled();
  } finally {
    progress?.stop();
    sink.unwatch();
    stopper.dispose();
    await client.close();
  }
}
