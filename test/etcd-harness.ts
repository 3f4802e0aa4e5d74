// A real etcd (Debian's etcd-server, `etcd` on PATH or $STREAMCTL_ETCD_BIN) for tests: one member
// on free ports in a temp dir, ready when it says so (its "ready to serve client requests" line,
// then /health true: events, not sleeps), with the faults cluster tests need: stop, SIGKILL,
// SIGSTOP/SIGCONT, restart on the same ports and data. Every etcd started here is killed and its
// temp dir removed when the test process exits, however the test ended (a failed assertion, an
// exception, SIGINT or SIGTERM; only a SIGKILL of the test process leaves etcd running).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ETCD_BIN = process.env.STREAMCTL_ETCD_BIN ?? "etcd";

/** Why etcd tests cannot run here, or null. */
export function etcdMissing(): string | null {
  return Bun.which(ETCD_BIN) ? null : `${ETCD_BIN} not found (install Debian's etcd-server; .ci/run does)`;
}

export interface EtcdStartOptions {
  /** Data dir to use (kept on cleanup); default a fresh temp dir (removed on cleanup). */
  dataDir?: string;
  /** Address both URLs listen on (default 127.0.0.1); a bridge address makes it reachable from namespaces. */
  host?: string;
  clientPort?: number; // default: a free port
  peerPort?: number; // default: a free port
  name?: string; // member name, default "default"
  /** More etcd flags (e.g. --experimental-watch-progress-notify-interval=1s). */
  args?: string[];
  /** Run etcd through this prefix, e.g. ["ip", "netns", "exec", ns] (see test/netns.ts). */
  wrap?: string[];
  readyTimeoutMs?: number; // default 20 s
  /** Copy etcd's log lines to this writer as they come (e.g. for `make cluster`). */
  onLog?: (line: string) => void;
  /** Start etcd in a session of its own, so a terminal's Ctrl-C reaches only this process. */
  detached?: boolean;
  /** Kill etcd and exit on SIGINT/SIGTERM (default true); false when the caller handles signals. */
  handleSignals?: boolean;
}

export interface EtcdServer {
  /** Client URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** The running process (a new one after restart). */
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything etcd logged so far (all runs), last 1 MiB. */
  log(): string;
  /** SIGTERM (or `signal`) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL and wait: an unclean stop. */
  kill(): Promise<void>;
  /** SIGSTOP: etcd freezes with its sockets open (calls hang, leases cannot be kept). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops etcd if it runs (SIGTERM, or SIGKILL with `{ kill: true }`) and starts it again on the same ports and data. */
  restart(o?: { kill?: boolean }): Promise<void>;
  /** Kills etcd and removes its data dir if the harness made it. Idempotent. */
  cleanup(): Promise<void>;
}

const READY = /ready to serve client requests/;
const LOG_BYTES_MAX = 1024 * 1024;
const live = new Set<{ proc: Subprocess; dir: string | null }>();

function killAll(): void {
  for (const e of live) {
    try {
      e.proc.kill("SIGKILL");
    } catch {}
    if (e.dir) rmSync(e.dir, { recursive: true, force: true });
  }
  live.clear();
}
process.on("exit", killAll);

let signalsHooked = false;
/** A signal ends the process without "exit": clean up, then exit as the signal would have. */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

/** A TCP port nothing listens on right now on `host` (the OS picks it; racy only against other pickers). */
export function freePort(host = "127.0.0.1"): number {
  const server = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export async function startEtcd(o: EtcdStartOptions = {}): Promise<EtcdServer> {
  const missing = etcdMissing();
  if (missing) throw new Error(missing);
  // Picked ports can be taken by someone else before etcd binds them: pick again, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(o);
    } catch (err) {
      const picked = o.clientPort === undefined || o.peerPort === undefined;
      if (!(picked && attempt < 4 && /address already in use/.test(String(err)))) throw err;
    }
  }
}

async function startOnce(o: EtcdStartOptions): Promise<EtcdServer> {
  const host = o.host ?? "127.0.0.1";
  const clientPort = o.clientPort ?? freePort(host);
  let peerPort = o.peerPort ?? freePort(host);
  while (peerPort === clientPort) peerPort = freePort(host);
  const ownDir = o.dataDir === undefined ? mkdtempSync(join(tmpdir(), "streamctl-etcd-")) : null;
  const dataDir = o.dataDir ?? ownDir!;
  const name = o.name ?? "default";
  const url = `http://${host}:${clientPort}`;
  const peerUrl = `http://${host}:${peerPort}`;
  const argv = [
    ...(o.wrap ?? []),
    ETCD_BIN,
    "--name", name,
    "--data-dir", dataDir,
    "--listen-client-urls", url,
    "--advertise-client-urls", url,
    "--listen-peer-urls", peerUrl,
    "--initial-advertise-peer-urls", peerUrl,
    "--initial-cluster", `${name}=${peerUrl}`,
    ...(o.args ?? []),
  ];
  let logText = "";
  const entry: { proc: Subprocess; dir: string | null } = { proc: undefined as unknown as Subprocess, dir: ownDir };
  live.add(entry);
  if (o.handleSignals !== false) hookSignals();

  const launch = async (): Promise<Subprocess<"ignore", "pipe", "pipe">> => {
    const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: o.detached });
    entry.proc = proc;
    let runText = ""; // this run's output until it is ready
    let onText: (() => void) | undefined;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let partial = "";
      for await (const chunk of stream) {
        const t = decoder.decode(chunk, { stream: true });
        logText += t;
        if (onText) runText += t;
        if (logText.length > LOG_BYTES_MAX) logText = logText.slice(-LOG_BYTES_MAX);
        if (o.onLog) {
          partial += t;
          const lines = partial.split("\n");
          partial = lines.pop()!;
          for (const line of lines) o.onLog(line);
        }
        onText?.();
      }
    };
    void pump(proc.stderr);
    void pump(proc.stdout);
    const timeoutMs = o.readyTimeoutMs ?? 20_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error(`etcd not ready after ${timeoutMs} ms:\n${runText}`));
      }, timeoutMs);
      onText = () => {
        if (READY.test(runText)) {
          onText = undefined;
          clearTimeout(timer);
          resolve();
        }
      };
      void proc.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`etcd exited with ${code} before ready:\n${runText}`));
      });
    });
    await healthy(url, proc, timeoutMs);
    return proc;
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> => {
    const proc = entry.proc;
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    proc.kill(signal);
    if (signal === "SIGTERM" || signal === "SIGINT") proc.kill("SIGCONT"); // a paused etcd must run to exit
    return await proc.exited;
  };

  try {
    await launch();
  } catch (err) {
    live.delete(entry);
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    throw err;
  }

  let cleaned = false;
  return {
    url,
    host,
    clientPort,
    peerPort,
    dataDir,
    get proc() {
      return entry.proc as Subprocess<"ignore", "pipe", "pipe">;
    },
    log: () => logText,
    stop,
    async kill() {
      await stop("SIGKILL");
    },
    pause() {
      entry.proc.kill("SIGSTOP");
    },
    resume() {
      entry.proc.kill("SIGCONT");
    },
    async restart(r = {}) {
      await stop(r.kill ? "SIGKILL" : "SIGTERM");
      await launch();
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await stop("SIGKILL");
      live.delete(entry);
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** Waits until GET /health says {"health":"true"} (a quorum read works), polling while etcd runs. */
async function healthy(url: string, proc: Subprocess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with ${proc.exitCode} before healthy`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      last = await res.text();
      if (res.ok && /"health":\s*"true"/.test(last)) return;
    } catch (err) {
      last = String(err);
    }
    await Bun.sleep(20); // polling a condition, not waiting for time to pass
  }
  throw new Error(`etcd at ${url} not healthy after ${timeoutMs} ms: ${last}`);
}
