// `streamctl tail TOPIC [-n N] [-f]`: the last N records of the topic (default 10) — across
// partitions, ordered by timestamp (then partition, offset) — and with -f every record that
// arrives afterwards, until interrupted or stdout closes. --format/--json print as consume does;
// filters (--grep, -i, --key, --header) choose which records count, so `tail -n 5 --grep ERROR`
// is the last five errors.
//
// Finding them: per partition, [max(start, end - W), end) holds that partition's last W records;
// the last N matching ones of the union of those are the topic's last N. Without a filter W = N;
// with one, W grows (×4) until every partition has N matches in its window or the window reached
// its start. The follow goes on from the ends seen at start.
//
// The topic must exist (exit 1 at once otherwise); SIGINT/SIGTERM end it within a second (exit
// 130/143), a closed stdout quietly (exit 0), even while no record arrives.
import { Command } from "commander";
import type { KafkaClient } from "../net/client/client.ts";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { EARLIEST_OFFSET, LATEST_OFFSET, resolveOffsets } from "../net/client/offset-spec.ts";
import type { RecordView } from "../net/client/record-walker.ts";
import { brokerOption, checkTopic, describeFailure, intFlag, makeClient, timeoutOption } from "./data-common.ts";
import { OutputSink } from "./data-output.ts";
import { addFilterOptions, addOutputOptions, copyRecord, type FilterFlags, type OutputFlags, recordFilter, recordPrinter } from "./data-read.ts";
import { clientRetryReporter } from "./data-retry.ts";
import { Stopper } from "./data-stop.ts";
import type { Io } from "./io.ts";

interface TailFlags extends FilterFlags, OutputFlags {
  broker?: string;
  timeout?: string;
  lines?: string;
  follow?: boolean;
}

interface Ordered {
  partition: number;
  offset: number;
  timestamp: number;
}

/** Without a filter the window is N; with one it starts here and grows ×4. */
const FILTERED_WINDOW_MIN = 1000;

export function tailCommand(io: Io): Command {
  const cmd = new Command("tail")
    .description("print the last records of TOPIC; -f keeps following")
    .argument("<topic>", "topic to read (it must exist)")
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .option("-n, --lines <n>", "how many records (default 10); with filters, the last N that match")
    .option("-f, --follow", "keep printing records as they arrive");
  addFilterOptions(cmd);
  addOutputOptions(cmd);
  return cmd.action(async (topic: string, flags: TailFlags) => {
    await tail(io, checkTopic("TOPIC", topic), flags);
  });
}

/** The last `n` records of `all`, in timestamp order (partition, offset break ties). */
export function lastN<T extends Ordered>(all: T[], n: number): T[] {
  const sorted = [...all].sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
  return n === 0 ? [] : sorted.slice(-n);
}

async function tail(io: Io, topic: string, flags: TailFlags): Promise<void> {
  const n = intFlag("--lines", flags.lines) ?? 10;
  const filter = recordFilter(flags);
  const sink = new OutputSink(io.stdout);
  const print = recordPrinter(sink, flags);
  const client = makeClient(io, flags, flags.timeout, { onRetry: clientRetryReporter(io) });
  const stopper = new Stopper(io);
  sink.watchReader(() => stopper.request("stdout closed"));
  const until = () => stopper.requested || sink.closed;
  try {
    try {
      const info = await client.topic(topic, { autoCreate: false });
      const partitions = info.partitions.map((p) => p.partition);
      const ends = await resolveOffsets(client, topic, partitions, LATEST_OFFSET);
      const last = await lastRecords(client, topic, partitions, ends, n, filter, until);
      for (const r of lastN(last, n)) print(r);
      sink.flush();
      if (flags.follow && !until()) {
        const follow = new Consumer(client, { topics: [topic], from: { kind: "exact", offsets: new Map([[topic, ends]]) } });
        const visit = (r: TopicRecordView): boolean => {
          if (filter === null || filter(r)) print(r);
          return !sink.closed;
        };
        const afterPoll = async () => {
          sink.flush();
          await sink.ready();
        };
        try {
          await follow.run(visit, { afterPoll, until });
        } finally {
          await follow.close();
        }
      }
    } catch (err) {
      throw describeFailure(err, `tail ${topic}`);
    }
    await sink.end();
    stopper.throwIfSignalled();
  } finally {
    sink.unwatch();
    stopper.dispose();
    await client.close();
  }
}

/** Up to `n` matching records of each partition, the last ones before `ends` (see the top). */
async function lastRecords(
  client: KafkaClient,
  topic: string,
  partitions: number[],
  ends: Map<number, number>,
  n: number,
  filter: ((r: RecordView) => boolean) | null,
  until: () => boolean,
): Promise<TopicRecordView[]> {
  if (n === 0) return [];
  const starts = await resolveOffsets(client, topic, partitions, EARLIEST_OFFSET);
  for (let window = filter === null ? n : Math.max(n, FILTERED_WINDOW_MIN); ; window *= 4) {
    const from = new Map(partitions.map((p) => [p, Math.max(starts.get(p)!, ends.get(p)! - window)]));
    const kept = new Map<number, TopicRecordView[]>(partitions.map((p) => [p, []]));
    const reader = new Consumer(client, {
      topics: [topic],
      from: { kind: "exact", offsets: new Map([[topic, from]]) },
      stopAt: { kind: "exact", offsets: new Map([[topic, ends]]) },
    });
    try {
      await reader.run(
        (r) => {
          if (filter !== null && !filter(r)) return;
          const list = kept.get(r.partition)!;
          list.push(copyRecord(r));
          if (list.length >= 2 * n) list.splice(0, list.length - n);
        },
        { until },
      );
    } finally {
      await reader.close();
    }
    const done = partitions.every((p) => kept.get(p)!.length >= n || from.get(p)! <= starts.get(p)!);
    if (done || until()) return [...kept.values()].flatMap((list) => list.slice(-n));
  }
}
