// `streamctl tail TOPIC [-n N] [-f]`: the last N records of the topic (default 10) as values, one
// per line — across partitions, ordered by timestamp (then partition, offset) — and with -f every
// record that arrives afterwards, until interrupted or stdout closes.
//
// Finding them: per partition, [max(start, end - N), end) holds that partition's last N; the last
// N of the union of those are the topic's last N.
import { Command } from "commander";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { brokerOption, checkTopic, describeFailure, intFlag, makeClient, onInterrupt } from "./data-common.ts";
import { OutputSink } from "./data-output.ts";
import type { Io } from "./io.ts";

interface TailFlags {
  broker?: string;
  lines?: string;
  follow?: boolean;
}

interface Kept {
  partition: number;
  offset: number;
  timestamp: number;
  value: Uint8Array | null;
}

export function tailCommand(io: Io): Command {
  return new Command("tail")
    .description("print the last records of TOPIC; -f keeps following")
    .argument("<topic>", "topic to read")
    .addOption(brokerOption())
    .option("-n, --lines <n>", "how many records (default 10)")
    .option("-f, --follow", "keep printing records as they arrive")
    .action(async (topic: string, flags: TailFlags) => {
      await tail(io, checkTopic("TOPIC", topic), flags);
    });
}

/** The last `n` records of `all`, in timestamp order (partition, offset break ties). */
export function lastN(all: Kept[], n: number): Kept[] {
  const sorted = [...all].sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
  return n === 0 ? [] : sorted.slice(-n);
}

async function tail(io: Io, topic: string, flags: TailFlags): Promise<void> {
  const n = intFlag("--lines", flags.lines) ?? 10;
  const sink = new OutputSink(io.stdout);
  const client = makeClient(io, flags);
  let interrupted = false;
  const removeInterrupt = onInterrupt(io, () => void (interrupted = true));
  const until = () => interrupted || sink.closed;
  try {
    try {
      await client.topic(topic, { autoCreate: true });
      // Each partition's last N up to its end now; the follow goes on from those ends.
      const last = new Consumer(client, { topics: [topic], from: { kind: "last", count: n }, stopAtEnd: true });
      const kept: Kept[] = [];
      try {
        await last.run((r) => void kept.push({ partition: r.partition, offset: r.offset, timestamp: r.timestamp, value: r.valueStart < 0 ? null : r.buf.slice(r.valueStart, r.valueEnd) }), { until });
      } finally {
        await last.close();
      }
      for (const k of lastN(kept, n)) {
        if (k.value !== null) sink.bytes(k.value);
        sink.byte(10);
      }
      sink.flush();
      if (flags.follow) {
        const follow = new Consumer(client, { topics: [topic], from: { kind: "exact", offsets: last.positions() } });
        const print = (r: TopicRecordView): boolean => {
          if (r.valueStart >= 0) sink.bytes(r.buf, r.valueStart, r.valueEnd);
          sink.byte(10);
          return !sink.closed;
        };
        const afterPoll = async () => {
          sink.flush();
          await sink.ready();
        };
        try {
          await follow.run(print, { afterPoll, until });
        } finally {
          await follow.close();
        }
      }
    } catch (err) {
      throw describeFailure(err, `tail ${topic}`);
    }
    await sink.end();
  } finally {
    removeInterrupt();
    await client.close();
  }
}
