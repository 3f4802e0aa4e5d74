// Test harness for integration tests: starts the compiled `streamctl` binary as a child process
// on port 0 with a fresh data dir, waits for its one ready line (an event, not a sleep), and
// runs real peers (kcat) as children. Everything listens on 127.0.0.1 only.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const REPO_ROOT = resolve(import.meta.dir, "..");
export const STREAMCTL_BIN = process.env.STREAMCTL_BIN ?? join(REPO_ROOT, "bin", "streamctl");

/** The ready line: one kafka= per listener (PLAINTEXT as HOST:PORT, others PROTOCOL://HOST:PORT). */
const READY = /^streamctl: ready ((?:kafka=\S+ )+)http=(\S+) data=(.+)$/m;

export function tempDir(prefix = "streamctl-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface BrokerProcess {
  kafka: string; // HOST:PORT of the first listener
  /** Every Kafka listener in the ready line's order, e.g. {protocol: "SASL_SSL", address: "127.0.0.1:40123"}. */
  listeners: Array<{ protocol: string; address: string }>;
  http: string; // HOST:PORT
  dataDir: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the broker wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (or the given signal) and wait for exit; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL: an unclean stop, for recovery tests. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Give up waiting for the ready line after this many ms (the process is killed). */
  readyTimeoutMs?: number;
  /** Leave out the default `--kafka-listen 127.0.0.1:0` (the args bring their own --listener). */
  noDefaultListener?: boolean;
  /** Another streamctl binary (bench/abuse.ts measures an older one too). */
  bin?: string;
}

export async function startBroker(opts: StartOptions = {}): Promise<BrokerProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const proc = Bun.spawn(
    [opts.bin ?? STREAMCTL_BIN, "serve", "--data-dir", dataDir, ...(opts.noDefaultListener ? [] : ["--kafka-listen", "127.0.0.1:0"]), "--http-listen", "127.0.0.1:0", ...(opts.args ?? [])],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", ...opts.env } },
  );
  let err = "";
  const decoder = new TextDecoder();
  let onChunk: (() => void) | undefined;
  const pump = (async () => {
    for await (const chunk of proc.stderr) {
      err += decoder.decode(chunk, { stream: true });
      onChunk?.();
    }
  })();
  void pump;
  const ready = await new Promise<RegExpMatchArray>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`broker not ready after ${opts.readyTimeoutMs ?? 15000} ms; stderr:\n${err}`));
    }, opts.readyTimeoutMs ?? 15000);
    onChunk = () => {
      const m = err.match(READY);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    };
    proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before ready; stderr:\n${err}`));
    });
  });
  const listeners = ready[1]!.trim().split(" ").map((entry) => {
    const value = entry.slice("kafka=".length);
    const m = /^([A-Z_]+):\/\/(.+)$/.exec(value);
    return m ? { protocol: m[1]!, address: m[2]! } : { protocol: "PLAINTEXT", address: value };
  });
  return {
    kafka: listeners[0]!.address,
    listeners,
    http: ready[2]!,
    dataDir,
    proc,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      proc.kill(signal);
      return await proc.exited;
    },
    async kill9() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Runs a command to completion with optional stdin; never through a shell. */
export async function runProcess(
  argv: string[],
  opts: { input?: string | Uint8Array; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const proc = Bun.spawn(argv, {
    stdin: opts.input === undefined ? "ignore" : new Blob([opts.input]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 60000);
  const [stdoutBytes, stderr, code] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout: new TextDecoder().decode(stdoutBytes), stderr, stdoutBytes };
}

/** kcat against a broker, quiet unless it fails. */
export function kcat(broker: string, args: string[], opts: { input?: string | Uint8Array; timeoutMs?: number } = {}) {
  return runProcess(["kcat", "-b", broker, "-q", ...args], opts);
}

/** streamctl (the compiled binary) as a child. */
export function streamctl(args: string[], opts: { input?: string | Uint8Array; env?: Record<string, string>; timeoutMs?: number } = {}) {
  return runProcess([STREAMCTL_BIN, ...args], { ...opts, env: { NO_COLOR: "1", ...opts.env } });
}

/**
 * [codec, record count] of every batch in a partition's first segment, read straight off the disk:
 * what the broker stored, whatever a client says. A live active segment ends in the runway's
 * zeros (core/log/partition-log.ts): no batch has length 0, so the walk stops there.
 */
export function storedBatches(dataDir: string, topic: string, partition = 0): [number, number][] {
  const dir = join(dataDir, "topics", topic, String(partition));
  const log = readdirSync(dir).filter((f) => f.endsWith(".log")).sort()[0]!; // the first segment
  const bytes = readFileSync(join(dir, log));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number][] = [];
  for (let pos = 0; pos + 61 <= bytes.length && view.getInt32(pos + 8) > 0; pos += 12 + view.getInt32(pos + 8)) out.push([view.getInt16(pos + 21) & 7, view.getInt32(pos + 57)]);
  return out;
}
