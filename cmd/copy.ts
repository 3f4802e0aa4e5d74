// `streamctl copy SRC DST [--from POS] [--to POS] [--to-broker HOST:PORT] [--where COND]…`: copies
// the records of SRC into DST — in the same cluster, or into another one with --to-broker — keeping
// each record's key, value, headers, timestamp and partition (issue #22).
//
// Partitions: a DST that does not exist is created with SRC's partition count (where the broker
// creates topics on first use); records keep their partition when the counts match, and are
// partitioned by key otherwise, which a line on stderr says.
//
// Range: [--from, --to) of each partition, in the positions vocabulary (data-time.ts); --to
// defaults to the end each partition has at start, and --follow keeps copying what arrives after.
//
// Resumable, through a consumer group on the source cluster (default
// `streamctl-copy.SRC.DST[@TO-BROKER]`, or --group): the copier keeps its offsets there without
// joining it (Kafka's "simple" consumer: consumer.ts, `join: false`), so no rebalance delay. At
// each checkpoint (every CHECKPOINT_MS, and at the end) it waits until every record read so far is
// acknowledged by DST, and only then commits the offsets after them: a copy stopped anywhere (Ctrl-C,
// a crash, a dead broker) starts again after the last checkpoint, so no record is lost and at
// most the records since that checkpoint are copied twice. A group with committed offsets wins
// over --from (a line says so); --reset-group-start starts at --from all the same. `groups
// describe` on the group shows how far a copy got.
//
// --where COND (repeatable, all must hold): key=K, key~REGEX, value=V, value~REGEX,
// header:NAME=V, header:NAME~REGEX, partition=N; != and !~ negate; -i makes ~ ignore case.
import { Command } from "commander";
import { Codec } from "../core/batch/header.ts";
import { Consumer, type TopicRecordView } from "../net/client/consumer.ts";
import { Producer } from "../net/client/producer.ts";
import { readHeaders } from "../net/client/record-walker.ts";
import { brokerOption, checkTopic, collect, describeFailure, formatCount, intFlag, makeClient, plural, Progress, timeoutOption } from "./data-common.ts";
import { describeAssignment } from "./data-read.ts";
import { clientRetryReporter, DELIVERY_TIMEOUT_MS_CLI, deliveryTimeoutOption, produceRetryReporter } from "./data-retry.ts";
import { Stopper } from "./data-stop.ts";
import { offsetSpec, parsePosition, POSITION_HELP } from "./data-time.ts";
import { topicForWriting } from "./data-topics.ts";
import type { ClientFlags } from "./client-options.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";

interface CopyFlags extends ClientFlags {
  broker?: string;
  toBroker?: string;
  timeout?: string;
  deliveryTimeout?: string;
  from?: string;
  to?: string;
  follow?: boolean;
  where?: string[];
  ignoreCase?: boolean;
  group?: string;
  resetGroupStart?: boolean;
}

/** How often the copier waits for DST's acknowledgements and commits its source offsets. */
const CHECKPOINT_MS = 1_000;

export function copyCommand(io: Io): Command {
  return new Command("copy")
    .description(
      "copy the records of SRC into DST, here or in another cluster, keeping keys, headers, timestamps and partitions; resumable: the offsets copied so far are committed to a consumer group on SRC's cluster (--group), and the same command run again goes on from there",
    )
    .argument("<src>", "topic to copy (it must exist)")
    .argument("<dst>", "topic to copy into (created with SRC's partition count if missing)")
    .addOption(brokerOption())
    .option("--to-broker <host:port>", "bootstrap broker of the cluster DST is in (default: SRC's), reached with the same TLS, SASL and profile settings")
    .addOption(timeoutOption())
    .addOption(deliveryTimeoutOption())
    .option("--from <position>", `where to start where the group has no committed offset: ${POSITION_HELP}; default beginning`)
    .option("--to <position>", "where to stop, exclusive, in the same words (default: the end each partition has at start)")
    .option("--follow", "keep copying records as they arrive (instead of stopping at the end seen at start)")
    .option("--where <cond>", "copy only records where COND holds (repeatable, all must): key=K, key~RE, value=V, value~RE, header:NAME=V, header:NAME~RE, partition=N; != and !~ negate", collect)
    .option("-i, --ignore-case", "~ in --where ignores case")
    .option(
      "--group <group>",
      "consumer group on SRC's cluster that keeps the copy's offsets, so that a stopped copy resumes where it was (default streamctl-copy.SRC.DST, plus @TO-BROKER with --to-broker)",
    )
    .option("--reset-group-start", "start at --from even where the group has committed offsets")
    .action(async (src: string, dst: string, flags: CopyFlags) => {
      await copy(io, checkTopic("SRC", src), checkTopic("DST", dst), flags);
    });
}

type Predicate = (r: TopicRecordView) => boolean;

/** Parses one --where condition (see the top). */
export function whereCondition(text: string, ignoreCase: boolean): Predicate {
  const m = /^(key|value|partition|header:([^=!~]+))(=|!=|~|!~)(.*)$/s.exec(text);
  if (m === null) throw new UsageError(`--where: cannot read "${text}" (try key=K, value~REGEX, header:NAME=V, partition=N)`);
  const [, field, headerName, op, operand] = m as unknown as [string, string, string | undefined, string, string];
  const negate = op.startsWith("!");
  let test: (bytes: Uint8Array | null) => boolean;
  if (op.endsWith("~")) {
    let re: RegExp;
    try {
      re = new RegExp(operand, ignoreCase ? "i" : "");
    } catch (err) {
      throw new UsageError(`--where ${text}: ${(err as Error).message}`);
    }
    const decoder = new TextDecoder();
    test = (b) => b !== null && re.test(decoder.decode(b));
  } else {
    const want = Buffer.from(operand);
    test = (b) => b !== null && b.length === want.length && want.equals(b);
  }
  let pick: Predicate;
  if (field === "partition") {
    if (op.endsWith("~") || !/^\d+$/.test(operand)) throw new UsageError(`--where ${text}: partition takes = or != and a number`);
    const n = Number(operand);
    pick = (r) => r.partition === n;
  } else if (field === "key") pick = (r) => test(r.keyStart < 0 ? null : r.buf.subarray(r.keyStart, r.keyEnd));
  else if (field === "value") pick = (r) => test(r.valueStart < 0 ? null : r.buf.subarray(r.valueStart, r.valueEnd));
  else pick = (r) => r.headerCount > 0 && readHeaders(r).some((h) => h.key === headerName && test(h.value));
  return negate ? (r) => !pick(r) : pick;
}

function whereFilter(flags: CopyFlags): Predicate | null {
  if (flags.ignoreCase && (flags.where ?? []).length === 0) throw new UsageError("--ignore-case: applies to --where, which is not given");
  const all = (flags.where ?? []).map((w) => whereCondition(w, flags.ignoreCase === true));
  if (all.length === 0) return null;
  return (r) => all.every((p) => p(r));
}

async function copy(io: Io, src: string, dst: string, flags: CopyFlags): Promise<void> {
  const sameCluster = flags.toBroker === undefined;
  if (sameCluster && src === dst) throw new UsageError("copy: SRC and DST are the same topic of the same cluster");
  if (flags.follow && flags.to !== undefined) throw new UsageError("--follow: copies with no end; drop --to");
  const from = parsePosition("--from", flags.from ?? "beginning");
  const to = flags.to === undefined ? null : parsePosition("--to", flags.to);
  const filter = whereFilter(flags);
  const groupId = flags.group ?? `streamctl-copy.${src}.${dst}${sameCluster ? "" : `@${flags.toBroker}`}`;
  if (groupId === "") throw new UsageError("--group: must not be empty");
  const deliveryTimeoutMs = intFlag("--delivery-timeout", flags.deliveryTimeout, { min: 1 }) ?? DELIVERY_TIMEOUT_MS_CLI;
  const source = makeClient(io, flags, flags.timeout, { onRetry: clientRetryReporter(io) });
  // The other cluster is reached with the same TLS, SASL and profile settings (one set of flags).
  const target = sameCluster ? source : makeClient(io, { ...flags, broker: flags.toBroker }, flags.timeout, { onRetry: clientRetryReporter(io) });
  const producer = new Producer(target, { codec: Codec.Zstd, acks: -1, deliveryTimeoutMs, retriesMax: Infinity, onRetry: produceRetryReporter(io) });
  const stopper = new Stopper(io, () => io.stderr.write(`streamctl: aborted: copied up to the last checkpoint, committed to group ${groupId}; run the same command to resume\n`));
  let read = 0;
  let copied = 0;
  const progress = new Progress(io.stderr, "copied", () => ({ records: producer.stats.acked, bytes: producer.stats.ackedBytes }));
  const say = (line: string) => {
    progress.clear();
    io.stderr.write(`streamctl: ${line}\n`);
  };
  const what = `copy ${src} to ${dst}`;
  try {
    let consumer: Consumer;
    try {
      const info = await source.topic(src, { autoCreate: false });
      const srcPartitions = info.partitions.length;
      const t = await topicForWriting(target, dst, srcPartitions);
      await producer.prepare(dst);
      const keep = t.partitions === srcPartitions;
      if (!keep) say(`${src} has ${plural(srcPartitions, "partition")}, ${dst} ${t.partitions}: records go to ${dst}'s partitions by key, not by number`);
      consumer = new Consumer(source, {
        topics: [src],
        group: { id: groupId, join: false, autoCommit: false, ignoreCommitted: flags.resetGroupStart === true },
        from: offsetSpec(from),
        stopAt: to === null ? undefined : offsetSpec(to),
        stopAtEnd: !flags.follow,
        onAssigned: (_assigned, committed) => {
          if (committed.size === 0) return;
          const which = describeAssignment(new Map([...committed].map(([topic, ps]) => [topic, [...ps.keys()]])));
          if (flags.resetGroupStart) say(`group ${groupId}: --reset-group-start: starting ${which} at --from, not where the last copy stopped`);
          else say(`resuming where group ${groupId} stopped: ${which}${flags.from !== undefined ? ` (its offsets win over --from ${flags.from}; --reset-group-start to start there)` : ""}`);
        },
      });
      const visit = (r: TopicRecordView): boolean => {
        read++;
        if (filter !== null && !filter(r)) return true;
        copied++;
        const headers = r.headerCount > 0 ? readHeaders(r) : null;
        const key = r.keyStart < 0 ? null : r.buf.subarray(r.keyStart, r.keyEnd);
        const value = r.valueStart < 0 ? null : r.buf.subarray(r.valueStart, r.valueEnd);
        producer.append(dst, keep ? r.partition : -1, key, value, headers, r.timestamp);
        return true;
      };
      let lastCheckpoint = performance.now();
      const checkpoint = async () => {
        lastCheckpoint = performance.now();
        const summary = await producer.flush();
        if (summary.failed > 0) throw new RuntimeError(`${what}: ${formatCount(summary.failed)} failed: ${summary.errors.join("; ")}; the group's offsets stay at the last checkpoint`);
        await consumer.commit();
      };
      const afterPoll = async () => {
        if (producer.needsDrain) await producer.drained();
        if (performance.now() - lastCheckpoint >= CHECKPOINT_MS) await checkpoint();
      };
      try {
        await consumer.run(visit, { afterPoll, until: () => stopper.requested });
        await checkpoint();
      } finally {
        await consumer.close();
      }
    } catch (err) {
      throw describeFailure(err, what);
    }
    progress.stop();
    const skipped = read - copied;
    const line = `${stopper.requested ? "interrupted: " : ""}copied ${plural(copied, "record")} from ${src} to ${dst}${skipped > 0 ? ` (${formatCount(skipped)} left out by --where)` : ""}; offsets committed to group ${groupId}`;
    stopper.throwIfSignalled(line);
    io.stderr.write(`streamctl: ${line}\n`);
  } finally {
    progress.stop();
    stopper.dispose();
    producer.close();
    await source.close();
    if (target !== source) await target.close();
  }
}
