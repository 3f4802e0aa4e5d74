// What produce, consume, tail and replay share: the --broker flag (env STREAMCTL_BROKER, default
// 127.0.0.1:9092), topic-name checks at the edge (a bad name is a usage error, exit 2, before any
// connection), integer flags, the client, and a progress line on stderr that appears only when
// stderr is a terminal (never any colour, so NO_COLOR holds trivially).
import { Option } from "commander";
import type { Writable } from "node:stream";
import { topicNameProblem } from "../core/topics/names.ts";
import { type ClientRetry, KafkaClient } from "../net/client/client.ts";
import { REQUEST_TIMEOUT_MS_DEFAULT } from "../net/client/constants.ts";
import { AuthenticationError, KafkaClientError } from "../net/client/errors.ts";
import { UnsupportedApiError } from "../net/client/versions.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { type ClientFlags, DEFAULT_BROKER, resolveClient } from "./client-options.ts";
import { VERSION } from "./version.ts";

export { DEFAULT_BROKER };

export function brokerOption(): Option {
  return new Option("--broker <host:port>", `Kafka bootstrap broker (env STREAMCTL_BROKER, default ${DEFAULT_BROKER})`);
}

/** `--timeout MS`: the connect and request timeout of every data command (issue #22). */
export function timeoutOption(): Option {
  return new Option("--timeout <ms>", `how long a broker may take to accept a connection or to answer a request before the command fails naming it (default ${REQUEST_TIMEOUT_MS_DEFAULT})`);
}

/** The client for a command's --broker and security flags (cmd/client-options.ts; a bare string
 * is just --broker), with --timeout as its connect and request timeout and `onRetry` told of
 * each retry. */
export function makeClient(io: Io, flags: ClientFlags | string | undefined, timeout?: string, opts: { onRetry?: (r: ClientRetry) => void } = {}): KafkaClient {
  const { bootstrap, security } = resolveClient(io, typeof flags === "object" ? flags : { broker: flags });
  const timeoutMs = intFlag("--timeout", timeout, { min: 1 }) ?? REQUEST_TIMEOUT_MS_DEFAULT;
  return new KafkaClient({ bootstrap, clientId: "streamctl", clientVersion: VERSION, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, onRetry: opts.onRetry, security });
}

/** "1 record", "2 records", "1,000 records". */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : nouns}`;
}

export function checkTopic(flag: string, name: string): string {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new UsageError(`${flag === "TOPIC" ? "" : `${flag}: `}invalid topic name: ${problem}`);
  return name;
}

export function intFlag(flag: string, value: string | undefined, opts: { min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${flag}: expected an integer, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < (opts.min ?? 0)) throw new UsageError(`${flag}: expected an integer ≥ ${opts.min ?? 0}, got "${value}"`);
  return n;
}

/** Parses repeatable K=V flags. */
export function keyValues(flag: string, values: string[] | undefined): { key: string; value: string }[] {
  return (values ?? []).map((kv) => {
    const at = kv.indexOf("=");
    if (at <= 0) throw new UsageError(`${flag}: expected K=V, got "${kv}"`);
    return { key: kv.slice(0, at), value: kv.slice(at + 1) };
  });
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Turns client failures into the CLI's one-line runtime errors. */
export function describeFailure(err: unknown, what: string): Error {
  if (err instanceof UsageError || err instanceof RuntimeError) return err;
  if (err instanceof KafkaClientError && err.code === ErrorCode.INVALID_TOPIC_EXCEPTION) return new UsageError(`${what}: ${err.message}`);
  if (err instanceof UnsupportedApiError || err instanceof AuthenticationError) return new RuntimeError(`${what}: ${err.message}`);
  const message = err instanceof Error ? err.message : String(err);
  return new RuntimeError(`${what}: ${message.split("\n")[0]}`);
}

export function isTty(stream: Writable): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${m}:${String(sec).padStart(2, "0")}`;
}

/** A self-overwriting progress line on a terminal stderr; silent otherwise. */
export class Progress {
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly started = performance.now();
  private shown = false;

  constructor(
    private readonly stderr: Writable,
    private readonly verb: string,
    private readonly sample: () => { records: number; bytes: number; inputBytes?: number; totalBytes?: number | null },
  ) {
    if (isTty(stderr)) {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref?.();
    }
  }

  private draw(): void {
    const s = this.sample();
    const secs = (performance.now() - this.started) / 1000;
    const rate = secs > 0 ? s.bytes / secs : 0;
    let line = `${this.verb} ${plural(s.records, "record")}, ${formatBytes(s.bytes)}, ${formatBytes(Math.round(rate))}/s, ${formatCount(Math.round(s.records / Math.max(secs, 0.001)))} rec/s`;
    if (s.totalBytes && s.inputBytes !== undefined && s.inputBytes > 0) {
      const inputRate = s.inputBytes / secs;
      const pct = Math.min(100, (100 * s.inputBytes) / s.totalBytes);
      line += `, ${pct.toFixed(0)}%, ETA ${formatDuration((s.totalBytes - s.inputBytes) / inputRate)}`;
    }
    this.stderr.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  /** Takes the line off the screen, before records go to a stdout that may share the terminal
   * (the next tick draws it again). */
  clear(): void {
    if (this.shown) this.stderr.write("\r\x1b[2K");
    this.shown = false;
  }

  /** Removes the line so the summary starts on a clean row. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.shown) this.stderr.write("\r\x1b[2K");
  }
}

/** Installs a SIGINT handler for the duration of a command (only for the real process). */
export function onInterrupt(io: Io, handler: () => void): () => void {
  if (io.stdin !== process.stdin) return () => {};
  const h = () => handler();
  process.on("SIGINT", h);
  process.on("SIGTERM", h);
  return () => {
    process.off("SIGINT", h);
    process.off("SIGTERM", h);
  };
}
