// `make cluster`: a local cluster to try cluster mode by hand: one etcd (Debian's etcd-server) and
// three brokers on 127.0.0.1, Kafka 9092/9093/9094 and HTTP 8092/8093/8094, node ids 1, 2, 3, data
// under ${XDG_DATA_HOME:-~/.local/share}/streamctl-cluster (etcd/, node1/, node2/, node3/), kept
// between runs. Each child's log lines are copied to stderr with its name in front. Ctrl-C (or
// SIGTERM) stops the brokers first (SIGTERM, so each deregisters and closes cleanly), then etcd.
//
// Every child runs in a session of its own, so the terminal's Ctrl-C reaches this script only and
// the stop order above holds. A broker that dies is reported and the others keep running (that
// is what a cluster is for); if etcd dies the brokers are stopped and the script exits 1.
//
//   bun run scripts/cluster.ts [--bin bin/streamctl] [--dir DIR] [--host 127.0.0.1]
//     [--etcd-port 2379] [--etcd-peer-port 2380] [--brokers 3] [--kafka-port 9092] [--http-port 8092]
//     [--cluster-name NAME] [--etcd-only]
//
// Brokers start with the cluster contract of ../shared/DESIGN.md:
//   streamctl serve --node-id N --cluster ETCD_URL [--cluster-name NAME] --advertise HOST:PORT
//     --data-dir DIR/nodeN --kafka-listen HOST:PORT --http-listen HOST:PORT
// When everything is up it prints one line to stderr:
//   cluster: ready etcd=URL kafka=H:P,H:P,H:P http=H:P,H:P,H:P dir=DIR
import type { Subprocess } from "bun";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type EtcdServer, startEtcd } from "../test/etcd-harness.ts";

export interface ClusterOptions {
  bin: string;
  dir: string;
  host: string;
  etcdPort: number;
  etcdPeerPort: number;
  brokers: number;
  kafkaPort: number; // node 1's; node N listens on kafkaPort + N - 1
  httpPort: number;
  clusterName?: string;
  etcdOnly: boolean;
}

export function defaultClusterDir(env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "streamctl-cluster");
}

const USAGE = "usage: bun run scripts/cluster.ts [--bin PATH] [--dir DIR] [--host HOST] [--etcd-port P] [--etcd-peer-port P] [--brokers N] [--kafka-port P] [--http-port P] [--cluster-name NAME] [--etcd-only]";

export function parseClusterArgs(argv: string[], env: Record<string, string | undefined> = process.env): ClusterOptions {
  const o: ClusterOptions = { bin: "bin/streamctl", dir: defaultClusterDir(env), host: "127.0.0.1", etcdPort: 2379, etcdPeerPort: 2380, brokers: 3, kafkaPort: 9092, httpPort: 8092, etcdOnly: false };
  const port = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: not a port: ${v}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case "--bin": o.bin = value(); break;
      case "--dir": o.dir = value(); break;
      case "--host": o.host = value(); break;
      case "--etcd-port": o.etcdPort = port(flag, value()); break;
      case "--etcd-peer-port": o.etcdPeerPort = port(flag, value()); break;
      case "--kafka-port": o.kafkaPort = port(flag, value()); break;
      case "--http-port": o.httpPort = port(flag, value()); break;
      case "--brokers": {
        o.brokers = Number(value());
        if (!Number.isInteger(o.brokers) || o.brokers < 1 || o.brokers > 9) throw new Error(`--brokers: 1 to 9\n${USAGE}`);
        break;
      }
      case "--cluster-name": o.clusterName = value(); break;
      case "--etcd-only": o.etcdOnly = true; break;
      default: throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
  }
  return o;
}

/** The `serve` command line of node `n` (1-based). */
export function brokerArgv(o: ClusterOptions, etcdUrl: string, n: number): string[] {
  const kafka = `${o.host}:${o.kafkaPort + n - 1}`;
  return [
    resolve(o.bin), "serve",
    "--node-id", String(n),
    "--cluster", etcdUrl,
    ...(o.clusterName ? ["--cluster-name", o.clusterName] : []),
    "--advertise", kafka,
    "--data-dir", join(o.dir, `node${n}`),
    "--kafka-listen", kafka,
    "--http-listen", `${o.host}:${o.httpPort + n - 1}`,
  ];
}

const READY = /^streamctl: ready (.*)$/m;

interface Child {
  name: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  ready: Promise<string>;
  stopping: boolean;
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Starts a broker; `ready` resolves with its ready line's fields, or rejects if it exits first. */
function startBroker(o: ClusterOptions, etcdUrl: string, n: number): Child {
  const name = `node${n}`;
  mkdirSync(join(o.dir, name), { recursive: true });
  const proc = Bun.spawn(brokerArgv(o, etcdUrl, n), { stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true, env: { ...process.env, NO_COLOR: "1" } });
  const child: Child = { name, proc, ready: Promise.resolve(""), stopping: false };
  child.ready = new Promise((resolveReady, reject) => {
    let seen = "";
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let partial = "";
      for await (const chunk of stream) {
        partial += decoder.decode(chunk, { stream: true });
        const lines = partial.split("\n");
        partial = lines.pop()!;
        for (const line of lines) {
          say(`[${name}] ${line}`);
          seen += `${line}\n`;
          const m = READY.exec(line);
          if (m) resolveReady(m[1]!);
        }
      }
    };
    void pump(proc.stderr);
    void pump(proc.stdout);
    void proc.exited.then((code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  return child;
}

async function stopChild(c: Child, graceMs = 15_000): Promise<void> {
  c.stopping = true;
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill("SIGTERM");
  const timer = setTimeout(() => {
    say(`cluster: ${c.name} still running after ${graceMs} ms: SIGKILL`);
    c.proc.kill("SIGKILL");
  }, graceMs);
  await c.proc.exited;
  clearTimeout(timer);
}

export async function runCluster(o: ClusterOptions): Promise<number> {
  mkdirSync(join(o.dir, "etcd"), { recursive: true });
  let etcd: EtcdServer;
  try {
    etcd = await startEtcd({
      dataDir: join(o.dir, "etcd"),
      host: o.host,
      clientPort: o.etcdPort || undefined, // 0: a free port (tests)
      peerPort: o.etcdPeerPort || undefined,
      detached: true,
      handleSignals: false,
      onLog: (line) => say(`[etcd] ${line}`),
    });
  } catch (err) {
    const busy = /address already in use/.test(String(err));
    say(`cluster: etcd did not start${busy ? ` (port ${o.etcdPort} or ${o.etcdPeerPort} is taken: Debian's etcd service? \`systemctl stop etcd\`, or pass --etcd-port)` : ""}: ${(err as Error).message.split("\n")[0]}`);
    return 1;
  }
  const brokers: Child[] = [];
  let stopping = false;
  let finished!: (code: number) => void;
  const done = new Promise<number>((r) => (finished = r));
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say(`cluster: stopping ${brokers.length ? `${brokers.map((b) => b.name).join(", ")}, then ` : ""}etcd`);
    await Promise.all(brokers.map((b) => stopChild(b)));
    await etcd.stop("SIGTERM");
    finished(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  void etcd.proc.exited.then((code) => {
    if (stopping) return;
    say(`cluster: etcd exited with ${code}: stopping the brokers`);
    void stopAll(1);
  });

  const brokerCount = o.etcdOnly ? 0 : o.brokers;
  for (let n = 1; n <= brokerCount; n++) brokers.push(startBroker(o, etcd.url, n));
  let readyLines: string[];
  try {
    readyLines = await Promise.all(brokers.map((b) => b.ready));
  } catch (err) {
    say(`cluster: ${(err as Error).message}; stopping`);
    await stopAll(1);
    return await done;
  }
  for (const b of brokers) {
    void b.proc.exited.then((code) => {
      if (!b.stopping && !stopping) say(`cluster: ${b.name} exited with ${code}; the others keep running (Ctrl-C stops all)`);
    });
  }
  // The addresses each broker says it listens on (its ready line: `kafka=H:P http=H:P …`).
  const field = (name: string) => readyLines.map((l) => new RegExp(`(?:^| )${name}=(\\S+)`).exec(l)?.[1] ?? "?").join(",");
  const kafka = field("kafka");
  const http = field("http");
  say(`cluster: ready etcd=${etcd.url} kafka=${kafka} http=${http} dir=${o.dir}`);
  return await done;
}

if (import.meta.main) {
  let options: ClusterOptions;
  try {
    options = parseClusterArgs(process.argv.slice(2));
  } catch (err) {
    say((err as Error).message);
    process.exit(2);
  }
  process.exit(await runCluster(options));
}
