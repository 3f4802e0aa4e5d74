// `streamctl produce TOPIC`: records from stdin (or --file), one per delimiter-separated piece, to
// a topic (created on first use unless the broker refuses). Exit 0 only when every record read was
// acknowledged; a summary line on stderr says how many were and were not. SIGINT stops reading,
// flushes what was read, reports, and exits by the same rule (0 if all of it was acknowledged); a
// second SIGINT stops waiting, reports, and exits 1.
//
// --json reads the envelope `consume --json` prints, keeping key, headers, timestamp and
// partition (an explicit --partition wins); --header and --key-separator do not apply to it.
import { Command, Option } from "commander";
import { codecFromName } from "../core/batch/codecs.ts";
import type { Codec } from "../core/batch/header.ts";
import { BATCH_BYTES_DEFAULT, LINGER_MS_DEFAULT } from "../net/client/constants.ts";
import { type Acks, Producer, type ProducerHeader, type ProduceSummary } from "../net/client/producer.ts";
import { brokerOption, checkTopic, collect, describeFailure, formatBytes, formatCount, intFlag, keyValues, makeClient, onInterrupt, Progress } from "./data-common.ts";
import { parseEnvelope, unescape } from "./data-format.ts";
import { openInput, RecordSplitter } from "./data-input.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";

interface ProduceFlags {
  broker?: string;
  file?: string;
  delimiter: string;
  keySeparator?: string;
  header?: string[];
  partition?: string;
  compression: string;
  acks: string;
  lingerMs?: string;
  batchBytes?: string;
  json?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function produceCommand(io: Io): Command {
  return new Command("produce")
    .description("write records from stdin (or --file) to TOPIC, one per line")
    .argument("<topic>", "topic to write to (created on first use unless the broker says otherwise)")
    .addOption(brokerOption())
    .option("--file <path>", "read records from this file instead of stdin")
    .option("--delimiter <sep>", "record delimiter (escapes \\n \\t \\0 \\xHH)", "\\n")
    .option("--key-separator <sep>", "the key is what comes before the first SEP on a line")
    .option("--header <k=v>", "add this header to every record (repeatable)", collect)
    .option("--partition <n>", "write every record to this partition")
    .addOption(new Option("--compression <codec>", "batch compression").choices(["zstd", "gzip", "lz4", "snappy", "none"]).default("zstd"))
    .addOption(new Option("--acks <acks>", "acknowledgement the broker gives: all replicas, the leader, or none").choices(["all", "1", "0", "-1"]).default("all"))
    .option("--linger-ms <ms>", `how long a partly full batch waits for more records (default ${LINGER_MS_DEFAULT})`)
    .option("--batch-bytes <n>", `largest batch, uncompressed bytes (default ${BATCH_BYTES_DEFAULT})`)
    .option("--json", "input lines are consume --json envelopes (key, value, headers, timestamp, partition)")
    .action(async (topic: string, flags: ProduceFlags) => {
      await produce(io, checkTopic("TOPIC", topic), flags);
    });
}

interface Settings {
  codec: Codec;
  acks: Acks;
  lingerMs: number;
  batchBytes: number;
  partition: number;
  delimiter: Uint8Array;
  keySeparator: Uint8Array | null;
  headers: ProducerHeader[] | null;
}

function settings(flags: ProduceFlags): Settings {
  const headers = keyValues("--header", flags.header).map((h) => ({ key: h.key, value: encoder.encode(h.value) }));
  const batchBytes = intFlag("--batch-bytes", flags.batchBytes, { min: 1 }) ?? BATCH_BYTES_DEFAULT;
  const keySep = flags.keySeparator === undefined ? null : encoder.encode(unescape("--key-separator", flags.keySeparator));
  if (keySep !== null && keySep.length === 0) throw new UsageError("--key-separator: must not be empty");
  if (flags.json && (keySep !== null || headers.length > 0)) throw new UsageError("--json: records carry their own key and headers; drop --key-separator/--header");
  return {
    codec: codecFromName(flags.compression),
    acks: flags.acks === "all" || flags.acks === "-1" ? -1 : flags.acks === "1" ? 1 : 0,
    lingerMs: intFlag("--linger-ms", flags.lingerMs) ?? LINGER_MS_DEFAULT,
    batchBytes,
    partition: intFlag("--partition", flags.partition) ?? -1,
    delimiter: encoder.encode(unescape("--delimiter", flags.delimiter)),
    keySeparator: keySep,
    headers: headers.length > 0 ? headers : null,
  };
}

async function produce(io: Io, topic: string, flags: ProduceFlags): Promise<void> {
  const s = settings(flags);
  const input = openInput(io.stdin, flags.file);
  const client = makeClient(io, flags);
  const producer = new Producer(client, { codec: s.codec, acks: s.acks, lingerMs: s.lingerMs, batchBytes: s.batchBytes });
  let read = 0;
  let inputBytes = 0;
  let badLines = 0;
  let firstBad: string | null = null;
  let interrupted = false;
  const progress = new Progress(io.stderr, "produced", () => ({ records: producer.stats.acked, bytes: producer.stats.ackedBytes, inputBytes, totalBytes: input.totalBytes }));
  const removeInterrupt = onInterrupt(io, () => {
    if (interrupted) {
      // A second interrupt: stop waiting for acknowledgements.
      const st = producer.stats;
      io.stderr.write(`streamctl: aborted: ${formatCount(st.acked)} records acknowledged, ${formatCount(read - st.acked)} not (failed or unconfirmed)\n`);
      process.exit(1);
    }
    interrupted = true;
    input.stop();
  });
  const started = performance.now();
  try {
    let partitions: number;
    try {
      partitions = await producer.prepare(topic);
    } catch (err) {
      throw describeFailure(err, `produce to ${topic}`);
    }
    if (s.partition >= partitions) throw new UsageError(`--partition ${s.partition}: topic ${topic} has ${partitions} partition(s)`);
    const splitter = new RecordSplitter(s.delimiter);
    // Records read in one chunk share its arrival time (one clock read per chunk, not per line).
    const clock = { now: Date.now() };
    const onRecord = flags.json
      ? (buf: Uint8Array, start: number, end: number) => {
          read++;
          if (end === start) return; // blank lines between envelopes
          try {
            const e = parseEnvelope(decoder.decode(buf.subarray(start, end)));
            const partition = s.partition >= 0 ? s.partition : (e.partition ?? -1);
            if (partition >= partitions) throw new Error(`partition ${partition} does not exist (topic ${topic} has ${partitions})`);
            producer.append(topic, partition, e.key, e.value, e.headers.length > 0 ? e.headers : null, e.timestamp ?? Date.now());
          } catch (err) {
            badLines++;
            firstBad ??= `line ${read}: ${(err as Error).message}`;
          }
        }
      : recordAppender(producer, topic, s, clock, () => read++);
    for await (const chunk of input.chunks) {
      clock.now = Date.now();
      inputBytes += chunk.length;
      splitter.push(chunk, onRecord);
      if (producer.needsDrain) await producer.drained();
    }
    splitter.end(onRecord);
    const summary = await producer.flush();
    progress.stop();
    report(io, topic, summary, badLines, firstBad, interrupted, (performance.now() - started) / 1000);
  } finally {
    progress.stop();
    removeInterrupt();
    producer.close();
    await client.close();
  }
}

/** The plain-lines path: key separator, fixed headers, one timestamp per input chunk read. */
function recordAppender(producer: Producer, topic: string, s: Settings, clock: { now: number }, count: () => void) {
  const sep = s.keySeparator;
  const sepByte = sep !== null && sep.length === 1 ? sep[0]! : -1;
  return (buf: Uint8Array, start: number, end: number) => {
    count();
    const now = clock.now;
    if (sep === null) {
      producer.append(topic, s.partition, null, buf.subarray(start, end), s.headers, now);
      return;
    }
    const at = sepByte >= 0 ? buf.indexOf(sepByte, start) : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).indexOf(sep, start);
    if (at < 0 || at + sep.length > end) producer.append(topic, s.partition, null, buf.subarray(start, end), s.headers, now);
    else producer.append(topic, s.partition, buf.subarray(start, at), buf.subarray(at + sep.length, end), s.headers, now);
  };
}

function report(io: Io, topic: string, summary: ProduceSummary, badLines: number, firstBad: string | null, interrupted: boolean, secs: number): void {
  const failed = summary.failed + badLines;
  const rate = secs > 0 ? `, ${formatBytes(Math.round(summary.ackedBytes / secs))}/s` : "";
  const head = `${interrupted ? "interrupted: " : ""}${formatCount(summary.acked)} records acknowledged (${formatBytes(summary.ackedBytes)} in ${secs.toFixed(1)} s${rate}) to ${topic}`;
  if (failed === 0) {
    io.stderr.write(`streamctl: ${head}, 0 failed\n`);
    return;
  }
  const why = [...(firstBad ? [firstBad] : []), ...summary.errors].join("; ");
  throw new RuntimeError(`${head}, ${formatCount(failed)} failed: ${why}`);
}
