// What the reading commands (consume, tail, replay, copy) share: the filters (--grep with -i,
// --key, --header), the output (--format, --json, or values one per line), and the topics to read
// (names that must exist — a reading command never creates a topic, issue #22 — or --topic-regex).
import { Command, Option } from "commander";
import type { KafkaClient } from "../net/client/client.ts";
import type { TopicRecordView } from "../net/client/consumer.ts";
import { readHeaders, type RecordView } from "../net/client/record-walker.ts";
import { collect, keyValues } from "./data-common.ts";
import { jsonLine, Template } from "./data-format.ts";
import type { OutputSink } from "./data-output.ts";
import { RuntimeError, UsageError } from "./io.ts";

export interface FilterFlags {
  grep?: string;
  ignoreCase?: boolean;
  key?: string;
  header?: string[];
}

export interface OutputFlags {
  format?: string;
  json?: boolean;
}

export const FORMAT_HELP = "output template: %t topic %p partition %o offset %k key %s value %T timestamp %h headers %K %S key/value length (default %s\\n)";

/** --grep, -i, --key, --header. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option("--grep <regex>", "only records whose value matches this regular expression")
    .option("-i, --ignore-case", "--grep ignores case")
    .option("--key <key>", "only records with exactly this key")
    .option("--header <k=v>", "only records carrying this header (repeatable: all must match)", collect);
}

/** --format, --json. */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option("--format <template>", FORMAT_HELP)
    .addOption(new Option("--json", "one JSON object per record: topic, partition, offset, timestamp, key, value, headers").conflicts("format"));
}

/** A record predicate from --grep/-i/--key/--header, or null when nothing filters. */
export function recordFilter(flags: FilterFlags): ((r: RecordView) => boolean) | null {
  const checks: ((r: RecordView) => boolean)[] = [];
  const decoder = new TextDecoder();
  if (flags.ignoreCase && flags.grep === undefined) throw new UsageError("--ignore-case: applies to --grep, which is not given");
  if (flags.grep !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(flags.grep, flags.ignoreCase ? "i" : "");
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

/** The per-record printer for --json / --format / the default (the value and a newline). */
export function recordPrinter(sink: OutputSink, flags: OutputFlags): (r: TopicRecordView) => void {
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

/**
 * The topics to read: each named one must exist (Metadata without auto-creation: an unknown topic
 * is final, at once), plus every topic matching `regex` now (internal ones, like
 * __consumer_offsets, only when the pattern names them). Resolves topic → partition count.
 */
export async function resolveTopics(client: KafkaClient, names: readonly string[], regex: string | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const name of names) out.set(name, (await client.topic(name, { autoCreate: false })).partitions.length);
  if (regex !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${regex})$`);
    } catch (err) {
      throw new UsageError(`--topic-regex: ${(err as Error).message}`);
    }
    const all = await client.topicNames({ internal: regex.startsWith("_") });
    for (const name of all.filter((n) => re.test(n)).sort()) {
      if (!out.has(name)) out.set(name, (await client.topic(name, { autoCreate: false })).partitions.length);
    }
    if (out.size === 0) throw new RuntimeError(`--topic-regex ${regex}: no topic matches`);
  }
  return out;
}

/** "orders [0, 1], logs [2]": partitions per topic, as kcat prints an assignment. */
export function describeAssignment(assignment: ReadonlyMap<string, readonly number[]>): string {
  if (assignment.size === 0) return "nothing";
  return [...assignment].map(([t, ps]) => `${t} [${ps.join(", ")}]`).join(", ");
}

/**
 * A record view of its own (the views a consumer hands out live until its next poll): key, value
 * and headers copied into one small buffer, headers in the record grammar `readHeaders` reads
 * (zigzag varint lengths, -1 for a null value).
 */
export function copyRecord(r: TopicRecordView): TopicRecordView {
  const headers = r.headerCount > 0 ? readHeaders(r) : [];
  const keyLen = r.keyStart < 0 ? 0 : r.keyEnd - r.keyStart;
  const valueLen = r.valueStart < 0 ? 0 : r.valueEnd - r.valueStart;
  const headerKeys = headers.map((h) => encoder.encode(h.key));
  let size = keyLen + valueLen;
  for (let i = 0; i < headers.length; i++) size += 10 + headerKeys[i]!.length + (headers[i]!.value?.length ?? 0);
  const buf = new Uint8Array(size);
  let pos = 0;
  const put = (b: Uint8Array) => {
    buf.set(b, pos);
    pos += b.length;
  };
  const varint = (n: number) => {
    let z = ((n << 1) ^ (n >> 31)) >>> 0;
    while (z >= 0x80) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
  };
  const keyStart = r.keyStart < 0 ? -1 : pos;
  if (r.keyStart >= 0) put(r.buf.subarray(r.keyStart, r.keyEnd));
  const keyEnd = r.keyStart < 0 ? -1 : pos;
  const valueStart = r.valueStart < 0 ? -1 : pos;
  if (r.valueStart >= 0) put(r.buf.subarray(r.valueStart, r.valueEnd));
  const valueEnd = r.valueStart < 0 ? -1 : pos;
  const headersStart = pos;
  for (let i = 0; i < headers.length; i++) {
    varint(headerKeys[i]!.length);
    put(headerKeys[i]!);
    const v = headers[i]!.value;
    varint(v === null ? -1 : v.length);
    if (v !== null) put(v);
  }
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    buf: buf.subarray(0, pos),
    keyStart,
    keyEnd,
    valueStart,
    valueEnd,
    headerCount: headers.length,
    headersStart,
  };
}

const encoder = new TextEncoder();
