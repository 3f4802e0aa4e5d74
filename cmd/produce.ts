// `streamctl produce TOPIC`: records from stdin (or --file), one per delimiter-separated piece, to
// a topic (created on first use unless the broker refuses). Exit 0 only when every record read was
// acknowledged; a summary line on stderr says how many were and were not ("sent" with --acks 0,
// which gets no acknowledgement). Each retry is reported on stderr as it happens, and a record not
// acknowledged within --delivery-timeout (default 30 s, retries included) fails (issue #22: a broker
// killed mid-produce was retried silently for 304 s).
//
// --transactional-id ID (issue #20): records are written in transactions of --txn-records N
// (default: the whole input in one), each committed before the next begins, so a read_committed
// reader sees a whole file (or whole groups of N) or nothing of it; another producer with the same
// id fences this one, and a transaction this one left open (killed) is aborted by the next. A
// transaction that cannot commit (a record failed) is aborted and the command exits 1 saying how
// many records were committed before it; SIGINT/SIGTERM abort the open transaction.
//
// SIGINT/SIGTERM stop reading, flush what was read, report, and exit 130/143; if the flush does
// not finish within a second (a dead broker), the summary says what is unconfirmed and the process
// exits all the same (data-stop.ts). Reading a terminal, produce says so once (how to end) and
// draws no progress line, which typing would run into.
//
// --json reads the envelope `consume --json` prints, keeping key, headers, timestamp and
// partition (an explicit --partition wins); --header and --key-separator do not apply to it. Into
// a topic that does not exist yet, the first records are read ahead (up to PEEK_RECORDS_MAX records,
// PEEK_BYTES_MAX bytes or PEEK_MS after the first bytes, or the end of the input) and the topic is created with the
// partitions they name (highest + 1), so `consume --json | produce --json` copies a topic partition
// for partition; a record naming a higher partition later grows the topic where the broker can
// (CreatePartitions; data-topics.ts).
import { Command, Option } from "commander";
import { codecFromName } from "../core/batch/codecs.ts";
import type { Codec } from "../core/batch/header.ts";
import type { KafkaClient } from "../net/client/client.ts";
import { BATCH_BYTES_DEFAULT, LINGER_MS_DEFAULT } from "../net/client/constants.ts";
import { KafkaClientError } from "../net/client/errors.ts";
import { type Acks, Producer, type ProducerHeader, type ProduceSummary } from "../net/client/producer.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { brokerOption, checkTopic, collect, describeFailure, formatBytes, formatCount, intFlag, keyValues, makeClient, plural, Progress, timeoutOption } from "./data-common.ts";
import { type EnvelopeRecord, parseEnvelope, unescape } from "./data-format.ts";
import { openInput, RecordSplitter } from "./data-input.ts";
import { clientRetryReporter, DELIVERY_TIMEOUT_MS_CLI, deliveryTimeoutOption, produceRetryReporter } from "./data-retry.ts";
import { Stopper } from "./data-stop.ts";
import { growTopic, topicForWriting } from "./data-topics.ts";
import { InterruptedError, type Io, RuntimeError, UsageError } from "./io.ts";

interface ProduceFlags {
  broker?: string;
  timeout?: string;
  deliveryTimeout?: string;
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
  /** false with --no-idempotence. */
  idempotence: boolean;
  transactionalId?: string;
  txnRecords?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Read-ahead bounds for --json into a topic that does not exist yet (see the top). */
const PEEK_RECORDS_MAX = 100_000;
const PEEK_BYTES_MAX = 16 * 1024 * 1024;
const PEEK_MS = 2_000;

export function produceCommand(io: Io): Command {
  return new Command("produce")
    .description("write records from stdin (or --file) to TOPIC, one per line")
    .argument("<topic>", "topic to write to (created on first use unless the broker says otherwise)")
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addOption(deliveryTimeoutOption())
    .option("--file <path>", "read records from this file instead of stdin")
    .option("--delimiter <sep>", "record delimiter (escapes \\n \\t \\0 \\xHH)", "\\n")
    .option("--key-separator <sep>", "the key is what comes before the first SEP on a line")
    .option("--header <k=v>", "add this header to every record (repeatable)", collect)
    .option("--partition <n>", "write every record to this partition")
    .addOption(new Option("--compression <codec>", "batch compression").choices(["zstd", "gzip", "lz4", "snappy", "none"]).default("zstd"))
    .addOption(new Option("--acks <acks>", "acknowledgement the broker gives: all replicas, the leader, or none (records are then only sent)").choices(["all", "1", "0", "-1"]).default("all"))
    .option("--linger-ms <ms>", `how long a partly full batch waits for more records (default ${LINGER_MS_DEFAULT})`)
    .option("--batch-bytes <n>", `largest batch, uncompressed bytes (default ${BATCH_BYTES_DEFAULT})`)
    .option("--json", "input lines are consume --json envelopes (key, value, headers, timestamp, partition); a topic it creates gets the partitions they name")
    .option("--no-idempotence", "plain batches, no producer id or sequences (idempotence is on with --acks all when the broker supports it: retries never duplicate or reorder)")
    .option("--transactional-id <id>", "write in transactions with this transactional id: a read_committed reader sees each whole or nothing (needs --acks all)")
    .option("--txn-records <n>", "with --transactional-id: commit every N records (default: the whole input in one transaction)")
    .action(async (topic: string, flags: ProduceFlags) => {
      await produce(io, checkTopic("TOPIC", topic), flags);
    });
}

interface Settings {
  codec: Codec;
  acks: Acks;
  lingerMs: number;
  batchBytes: number;
  deliveryTimeoutMs: number;
  partition: number;
  delimiter: Uint8Array;
  keySeparator: Uint8Array | null;
  headers: ProducerHeader[] | null;
  /** --transactional-id, and records per transaction (Infinity: the whole input). */
  transactionalId: string | null;
  txnRecords: number;
}

function settings(flags: ProduceFlags): Settings {
  const headers = keyValues("--header", flags.header).map((h) => ({ key: h.key, value: encoder.encode(h.value) }));
  const batchBytes = intFlag("--batch-bytes", flags.batchBytes, { min: 1 }) ?? BATCH_BYTES_DEFAULT;
  const keySep = flags.keySeparator === undefined ? null : encoder.encode(unescape("--key-separator", flags.keySeparator));
  if (keySep !== null && keySep.length === 0) throw new UsageError("--key-separator: must not be empty");
  if (flags.json && (keySep !== null || headers.length > 0)) throw new UsageError("--json: records carry their own key and headers; drop --key-separator/--header");
  const transactionalId = flags.transactionalId ?? null;
  if (transactionalId === "") throw new UsageError("--transactional-id: must not be empty");
  if (transactionalId === null && flags.txnRecords !== undefined) throw new UsageError("--txn-records: applies to --transactional-id, which is not given");
  if (transactionalId !== null && !(flags.acks === "all" || flags.acks === "-1")) throw new UsageError(`--transactional-id: needs --acks all (not ${flags.acks})`);
  if (transactionalId !== null && !flags.idempotence) throw new UsageError("--transactional-id: a transactional producer is idempotent; drop --no-idempotence");
  return {
    codec: codecFromName(flags.compression),
    acks: flags.acks === "all" || flags.acks === "-1" ? -1 : flags.acks === "1" ? 1 : 0,
    lingerMs: intFlag("--linger-ms", flags.lingerMs) ?? LINGER_MS_DEFAULT,
    batchBytes,
    deliveryTimeoutMs: intFlag("--delivery-timeout", flags.deliveryTimeout, { min: 1 }) ?? DELIVERY_TIMEOUT_MS_CLI,
    partition: intFlag("--partition", flags.partition) ?? -1,
    delimiter: encoder.encode(unescape("--delimiter", flags.delimiter)),
    keySeparator: keySep,
    headers: headers.length > 0 ? headers : null,
    transactionalId,
    txnRecords: intFlag("--txn-records", flags.txnRecords, { min: 1 }) ?? Infinity,
  };
}

/** Lines that did not become records (unreadable envelopes, partitions that do not exist). */
class BadLines {
  count = 0;
  first: string | null = null;

  add(line: number, why: string): void {
    this.count++;
    this.first ??= `line ${line}: ${why}`;
  }
}

async function produce(io: Io, topic: string, flags: ProduceFlags): Promise<void> {
  const s = settings(flags);
  const input = openInput(io.stdin, flags.file);
  const fromTerminal = flags.file === undefined && (io.stdin as { isTTY?: boolean }).isTTY === true;
  const client = makeClient(io, flags, flags.timeout, { onRetry: clientRetryReporter(io) });
  const retries = produceRetryReporter(io);
  const producer = new Producer(client, {
    codec: s.codec,
    acks: s.acks,
    lingerMs: s.lingerMs,
    batchBytes: s.batchBytes,
    deliveryTimeoutMs: s.deliveryTimeoutMs,
    retriesMax: Infinity,
    onRetry: retries,
    idempotence: flags.idempotence,
    ...(s.transactionalId !== null ? { transactionalId: s.transactionalId } : {}),
  });
  const txn = s.transactionalId === null ? null : new Transactions(producer, s.txnRecords);
  const verb = s.acks === 0 ? "sent" : "acknowledged";
  let read = 0;
  let inputBytes = 0;
  const bad = new BadLines();
  const stopper = new Stopper(io, () => {
    // The flush did not finish within the grace: say what is confirmed, and go.
    const st = producer.stats;
    progress?.stop();
    io.stderr.write(`streamctl: aborted: ${plural(st.acked, "record")} ${verb}, ${formatCount(Math.max(0, read - bad.count - st.acked))} not (failed or unconfirmed)\n`);
  });
  stopper.onStop(() => input.stop());
  if (fromTerminal) io.stderr.write("streamctl: reading records from the terminal, one per line, each sent as you type it: Ctrl-D ends, Ctrl-C stops\n");
  const progress = fromTerminal ? null : new Progress(io.stderr, "produced", () => ({ records: producer.stats.acked, bytes: producer.stats.ackedBytes, inputBytes, totalBytes: input.totalBytes }));
  const started = performance.now();
  try {
    const chunks = input.chunks[Symbol.asyncIterator]();
    const splitter = new RecordSplitter(s.delimiter);
    let partitions: number;
    let created = false;
    // --json into a topic that does not exist: read ahead to learn how many partitions it needs.
    let peeked: { line: number; e: EnvelopeRecord }[] = [];
    let pendingChunk: Promise<IteratorResult<Uint8Array>> | null = null;
    try {
      if (flags.json && s.partition < 0 && !(await topicExists(client, topic))) {
        const peek = await readAhead(chunks, splitter, () => ++read, bad, (n) => (inputBytes += n));
        peeked = peek.records;
        pendingChunk = peek.pending;
        const highest = peeked.reduce((m, r) => Math.max(m, r.e.partition ?? -1), -1);
        created = (await topicForWriting(client, topic, highest >= 0 ? highest + 1 : null)).created;
      } else await topicForWriting(client, topic, null);
      partitions = await producer.prepare(topic);
    } catch (err) {
      throw describeFailure(err, `produce to ${topic}`);
    }
    if (s.partition >= partitions) throw new UsageError(`--partition ${s.partition}: topic ${topic} has ${plural(partitions, "partition")}`);
    // Records naming a partition the topic does not have yet (a topic this command created: grown
    // before they are appended).
    let beyond: { line: number; e: EnvelopeRecord }[] = [];
    const appendEnvelope = (line: number, e: EnvelopeRecord) => {
      const partition = s.partition >= 0 ? s.partition : (e.partition ?? -1);
      if (partition >= partitions) {
        if (created) beyond.push({ line, e });
        else bad.add(line, `partition ${partition} does not exist (topic ${topic} has ${partitions})`);
        return;
      }
      producer.append(topic, partition, e.key, e.value, e.headers.length > 0 ? e.headers : null, e.timestamp ?? Date.now());
    };
    const growForBeyond = async () => {
      if (beyond.length === 0) return;
      const waiting = beyond;
      beyond = [];
      const want = waiting.reduce((m, r) => Math.max(m, r.e.partition! + 1), partitions);
      let grown = false;
      try {
        grown = await growTopic(client, topic, want);
      } catch (err) {
        io.stderr.write(`streamctl: produce to ${topic}: ${(err as Error).message}\n`);
      }
      if (grown) {
        partitions = await producer.refreshPartitions(topic);
        io.stderr.write(`streamctl: ${topic} now has ${plural(partitions, "partition")}, as the input names\n`);
      }
      for (const r of waiting) {
        if (r.e.partition! < partitions && txn !== null) txn.push(() => appendEnvelope(r.line, r.e));
        else if (r.e.partition! < partitions) appendEnvelope(r.line, r.e);
        else bad.add(r.line, `partition ${r.e.partition} does not exist (topic ${topic} has ${partitions}, and the broker cannot add partitions)`);
      }
    };
    for (const r of peeked) {
      if (txn === null) appendEnvelope(r.line, r.e);
      else txn.push(() => appendEnvelope(r.line, r.e));
    }
    peeked = [];
    if (txn !== null) await txn.appendQueued(() => stopper.requested);
    await growForBeyond();
    // Records read in one chunk share its arrival time (one clock read per chunk, not per line).
    const clock = { now: Date.now() };
    const onRecord = flags.json
      ? (buf: Uint8Array, start: number, end: number) => {
          const line = ++read;
          if (end === start) return; // blank lines between envelopes
          try {
            appendEnvelope(line, parseEnvelope(decoder.decode(buf.subarray(start, end))));
          } catch (err) {
            bad.add(line, (err as Error).message);
          }
        }
      : recordAppender(producer, topic, s, clock, () => read++);
    // Transactions: records are queued as read and appended in groups of --txn-records, each
    // group committed before the next is appended.
    const onPiece = txn === null ? onRecord : txn.queueFor(onRecord);
    const appendQueued = txn === null ? async () => {} : () => txn.appendQueued(() => stopper.requested);
    for (;;) {
      const next = await (pendingChunk ?? chunks.next());
      pendingChunk = null;
      if (next.done) break;
      clock.now = Date.now();
      inputBytes += next.value.length;
      splitter.push(next.value, onPiece);
      await appendQueued();
      await growForBeyond();
      await appendQueued();
      if (producer.needsDrain) await producer.drained();
    }
    splitter.end(onPiece);
    await appendQueued();
    await growForBeyond();
    await appendQueued();
    if (txn !== null && (stopper.requested || txn.failure !== null)) await txn.abort();
    else if (txn !== null) await txn.commit();
    const summary = await producer.flush();
    progress?.stop();
    const line = report(topic, summary, verb, bad, stopper.requested, (performance.now() - started) / 1000, txn);
    const sig = stopper.reason;
    if (sig === "SIGINT" || sig === "SIGTERM") throw new InterruptedError(sig, line.text);
    if (line.failed) throw new RuntimeError(line.text);
    io.stderr.write(`streamctl: ${line.text}\n`);
  } finally {
    progress?.stop();
    stopper.dispose();
    producer.close();
    await client.close();
  }
}

async function topicExists(client: KafkaClient, topic: string): Promise<boolean> {
  try {
    await client.topic(topic, { autoCreate: false });
    return true;
  } catch (err) {
    if (err instanceof KafkaClientError && err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return false;
    throw err;
  }
}

/**
 * Reads envelopes until the input ends or a read-ahead bound is reached. Resolves to what it read
 * and, when it stopped on time, the read still under way (the main loop goes on from it).
 */
async function readAhead(
  chunks: AsyncIterator<Uint8Array>,
  splitter: RecordSplitter,
  nextLine: () => number,
  bad: BadLines,
  addBytes: (n: number) => void,
): Promise<{ records: { line: number; e: EnvelopeRecord }[]; pending: Promise<IteratorResult<Uint8Array>> | null }> {
  const records: { line: number; e: EnvelopeRecord }[] = [];
  let bytes = 0;
  const onRecord = (buf: Uint8Array, start: number, end: number) => {
    const line = nextLine();
    if (end === start) return;
    try {
      records.push({ line, e: parseEnvelope(decoder.decode(buf.subarray(start, end))) });
    } catch (err) {
      bad.add(line, (err as Error).message);
    }
  };
  // The clock starts with the first bytes: an upstream that takes its time to start (a consume
  // still connecting) does not cut the read-ahead short.
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timeUp: Promise<"time"> | null = null;
  try {
    for (;;) {
      const pending = chunks.next();
      const next = timeUp === null ? await pending : await Promise.race([pending, timeUp]);
      timeUp ??= new Promise<"time">((resolve) => (timer = setTimeout(() => resolve("time"), PEEK_MS)));
      if (next === "time") return { records, pending };
      if (next.done) {
        splitter.end(onRecord);
        return { records, pending: Promise.resolve(next) };
      }
      bytes += next.value.length;
      addBytes(next.value.length);
      splitter.push(next.value, onRecord);
      if (records.length >= PEEK_RECORDS_MAX || bytes >= PEEK_BYTES_MAX) return { records, pending: null };
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
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

function report(topic: string, summary: ProduceSummary, verb: string, bad: BadLines, interrupted: boolean, secs: number, txn: Transactions | null): { text: string; failed: boolean } {
  const rate = secs > 0 ? `, ${formatBytes(Math.round(summary.ackedBytes / secs))}/s` : "";
  if (txn !== null) {
    // Only committed records count: an aborted transaction's acknowledged records are invisible.
    const head = `${interrupted ? "interrupted: " : ""}${plural(txn.committedRecords, "record")} committed in ${plural(txn.committed, "transaction")} (${formatBytes(summary.ackedBytes)} in ${secs.toFixed(1)} s${rate}) to ${topic}`;
    const lost = txn.abortedRecords + bad.count;
    if (txn.failure === null && lost === 0) return { text: `${head}, 0 failed`, failed: false };
    const why = [...(bad.first ? [bad.first] : []), ...(txn.failure !== null ? [txn.failure] : [])].join("; ");
    return { text: `${head}, ${formatCount(lost)} not committed${why ? `: ${why}` : ""}`, failed: true };
  }
  const failed = summary.failed + bad.count;
  const head = `${interrupted ? "interrupted: " : ""}${plural(summary.acked, "record")} ${verb} (${formatBytes(summary.ackedBytes)} in ${secs.toFixed(1)} s${rate}) to ${topic}`;
  if (failed === 0) return { text: `${head}, 0 failed`, failed: false };
  const why = [...(bad.first ? [bad.first] : []), ...summary.errors].join("; ");
  return { text: `${head}, ${formatCount(failed)} failed: ${why}`, failed: true };
}

/**
 * --transactional-id: records (copied as read) wait in a queue, and are appended in groups of
 * `perTxn`, each group's transaction committed before the next begins. After a failure (a
 * transaction that had to abort, a fenced producer) nothing more is appended: the rest of the
 * input is counted as not committed.
 */
class Transactions {
  private pending: Array<() => void> = [];
  private inTxn = 0;
  committed = 0;
  committedRecords = 0;
  abortedRecords = 0;
  failure: string | null = null;

  constructor(
    private readonly producer: Producer,
    private readonly perTxn: number,
  ) {}

  /** Queues an append (the record's bytes are copied by the caller if they are a view). */
  push(append: () => void): void {
    if (this.failure !== null) this.abortedRecords++;
    else this.pending.push(append);
  }

  /** A splitter callback that queues a copy of each piece for `append`. */
  queueFor(append: (buf: Uint8Array, start: number, end: number) => void) {
    return (buf: Uint8Array, start: number, end: number): void => {
      const copy = buf.slice(start, end);
      this.push(() => append(copy, 0, copy.length));
    };
  }

  async appendQueued(stopped: () => boolean): Promise<void> {
    const queued = this.pending;
    this.pending = [];
    for (let i = 0; i < queued.length; i++) {
      if (this.failure !== null || stopped()) {
        this.abortedRecords += queued.length - i;
        return;
      }
      if (!this.producer.inTransaction) await this.begin();
      if (this.failure !== null) continue;
      queued[i]!();
      if (++this.inTxn >= this.perTxn) await this.commit();
      else if (this.producer.needsDrain) await this.producer.drained();
    }
  }

  private async begin(): Promise<void> {
    try {
      await this.producer.beginTransaction();
    } catch (err) {
      this.failure = `transaction not begun: ${(err as Error).message}`;
    }
  }

  /** Commits the open transaction (if any records are in it). */
  async commit(): Promise<void> {
    if (!this.producer.inTransaction) return;
    const n = this.inTxn;
    this.inTxn = 0;
    try {
      await this.producer.commitTransaction();
      this.committed++;
      this.committedRecords += n;
    } catch (err) {
      this.abortedRecords += n;
      this.failure = (err as Error).message;
    }
  }

  /** Aborts the open transaction (interrupted, or after a failure). */
  async abort(): Promise<void> {
    this.abortedRecords += this.inTxn;
    this.inTxn = 0;
    if (!this.producer.inTransaction) return;
    try {
      await this.producer.abortTransaction();
    } catch (err) {
      this.failure ??= `abort: ${(err as Error).message}`;
    }
  }
}
