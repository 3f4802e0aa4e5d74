// Network namespaces for partition tests (root only; `ip` from iproute2).
//
// A lab is a Linux bridge in the root namespace holding 10.77.X.1/24 (X picked free per lab), and
// a node per process that must be cut off on its own: a network namespace with one end of a veth
// pair (eth0, 10.77.X.Y/24, Y = 2, 3, …) whose other end is a port of the bridge. Everything on
// the lab reaches everything else: node to node through the bridge, node to the root namespace at
// 10.77.X.1 (listen there, not on 127.0.0.1, for etcd or a broker the nodes must reach), and the
// root namespace to each node. `node.cut()` takes the node's bridge port down: its packets are
// dropped in both directions (connections time out rather than fail fast, as in a real
// partition) until `node.heal()`.
//
//   root namespace                       node namespace stc<pid>-<lab>-<n>
//   bridge stb<pid>-<lab> 10.77.X.1 ── port sth<pid>-<lab>-<n> ══ veth ══ eth0 10.77.X.Y
//
// Names carry the creating process's pid (base 36), so that a lab left behind by a killed test
// run is recognised and removed by the next one (sweepLeftovers), and labs of concurrent runs never
// collide. destroy() kills what the lab spawned and deletes its namespaces and bridge; so does
// the test process's exit, however the test ended.
import type { Subprocess } from "bun";

export interface NetNode {
  /** The namespace's name (for `ip netns exec`). */
  readonly ns: string;
  /** The node's address on the lab, e.g. 10.77.12.2. */
  readonly address: string;
  /** The bridge port (root namespace side of the veth). */
  readonly port: string;
  /** Prefix to run a command in the namespace: ["ip", "netns", "exec", ns]. */
  readonly wrap: string[];
  readonly isCut: boolean;
  /** Takes the node's link down: nothing reaches it, nothing leaves it. */
  cut(): Promise<void>;
  /** Brings the link back up. */
  heal(): Promise<void>;
  /** Starts a process in the namespace (killed by destroy()). */
  spawn(argv: string[], o?: { env?: Record<string, string>; cwd?: string }): Subprocess<"ignore", "pipe", "pipe">;
  /** Runs a command in the namespace to completion. */
  run(argv: string[], o?: { timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface NetLab {
  readonly bridge: string;
  /** "10.77.X": the lab's /24. */
  readonly subnet: string;
  /** The root namespace's address on the lab (the bridge's): 10.77.X.1. */
  readonly hostAddress: string;
  readonly nodes: readonly NetNode[];
  addNode(): Promise<NetNode>;
  /** Kills the lab's processes and deletes its namespaces and bridge. Idempotent. */
  destroy(): Promise<void>;
}

/** Why namespace tests cannot run here, or null. */
export function netnsMissing(): string | null {
  if (process.platform !== "linux") return "network namespaces are Linux only";
  if (process.getuid?.() !== 0) return "network namespaces need root (run the tests as root, as CI does)";
  if (!Bun.which("ip")) return "`ip` not found (install iproute2)";
  return null;
}

const PID36 = process.pid.toString(36);
let labCount = 0;
const liveLabs = new Set<LabState>();

interface LabState {
  bridge: string;
  namespaces: string[];
  procs: Subprocess[];
  destroyed: boolean;
}

async function ip(args: string[]): Promise<string> {
  const proc = Bun.spawn(["ip", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`ip ${args.join(" ")}: exit ${code}: ${err.trim()}`);
  return out;
}

function ipSync(args: string[]): void {
  Bun.spawnSync(["ip", ...args], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes namespaces and links left by test processes that no longer run. */
export async function sweepLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  const dead = (pid36: string) => !alive(parseInt(pid36, 36));
  for (const line of (await ip(["netns", "list"])).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^stc([0-9a-z]+)-[0-9a-z]+-\d+$/.exec(name);
    if (m && dead(m[1]!)) {
      await ip(["netns", "delete", name]).catch(() => {});
      removed.push(name);
    }
  }
  for (const line of (await ip(["-o", "link", "show"])).split("\n")) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "";
    const m = /^st[hn]([0-9a-z]+)-[0-9a-z]+-\d+$/.exec(name) ?? /^stb([0-9a-z]+)-[0-9a-z]+$/.exec(name);
    if (m && dead(m[1]!)) {
      await ip(["link", "delete", name]).catch(() => {}); // a port may already be gone with its pair
      removed.push(name);
    }
  }
  return removed;
}

/** A /24 under 10.77 that no interface or route uses. */
async function freeSubnet(): Promise<number> {
  const used = (await ip(["-4", "-o", "addr", "show"])) + (await ip(["-4", "route", "show"]));
  const start = (process.pid + labCount * 37) % 254;
  for (let i = 0; i < 254; i++) {
    const x = ((start + i) % 254) + 1;
    if (!used.includes(`10.77.${x}.`)) return x;
  }
  throw new Error("no free 10.77.X.0/24 for a network lab");
}

function destroySync(s: LabState): void {
  if (s.destroyed) return;
  s.destroyed = true;
  for (const p of s.procs) {
    try {
      p.kill("SIGKILL");
    } catch {}
  }
  for (const ns of s.namespaces) ipSync(["netns", "delete", ns]);
  ipSync(["link", "delete", s.bridge]);
  liveLabs.delete(s);
}

let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const s of [...liveLabs]) destroySync(s);
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      for (const s of [...liveLabs]) destroySync(s);
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

export async function createNetLab(): Promise<NetLab> {
  const missing = netnsMissing();
  if (missing) throw new Error(missing);
  await sweepLeftovers();
  hookExit();
  const lab36 = (labCount++).toString(36);
  const x = await freeSubnet();
  const subnet = `10.77.${x}`;
  const state: LabState = { bridge: `stb${PID36}-${lab36}`, namespaces: [], procs: [], destroyed: false };
  liveLabs.add(state);
  try {
    await ip(["link", "add", state.bridge, "type", "bridge"]);
    await ip(["addr", "add", `${subnet}.1/24`, "dev", state.bridge]);
    await ip(["link", "set", state.bridge, "up"]);
  } catch (err) {
    destroySync(state);
    throw err;
  }
  const nodes: NetNode[] = [];

  const addNode = async (): Promise<NetNode> => {
    if (state.destroyed) throw new Error("network lab destroyed");
    const n = nodes.length + 2; // .1 is the bridge
    if (n > 254) throw new Error("a network lab holds at most 253 nodes");
    const ns = `stc${PID36}-${lab36}-${n}`;
    const port = `sth${PID36}-${lab36}-${n}`;
    const inner = `stn${PID36}-${lab36}-${n}`;
    const address = `${subnet}.${n}`;
    state.namespaces.push(ns);
    await ip(["netns", "add", ns]);
    await ip(["link", "add", port, "type", "veth", "peer", "name", inner]);
    await ip(["link", "set", inner, "netns", ns]);
    await ip(["-n", ns, "link", "set", inner, "name", "eth0"]);
    await ip(["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
    await ip(["-n", ns, "link", "set", "eth0", "up"]);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
    await ip(["link", "set", port, "master", state.bridge]);
    await ip(["link", "set", port, "up"]);
    const wrap = ["ip", "netns", "exec", ns];
    let isCut = false;
    const node: NetNode = {
      ns,
      address,
      port,
      wrap,
      get isCut() {
        return isCut;
      },
      async cut() {
        await ip(["link", "set", port, "down"]);
        isCut = true;
      },
      async heal() {
        await ip(["link", "set", port, "up"]);
        isCut = false;
      },
      spawn(argv, o = {}) {
        const proc = Bun.spawn([...wrap, ...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...o.env }, cwd: o.cwd });
        state.procs.push(proc);
        return proc;
      },
      async run(argv, o = {}) {
        const proc = node.spawn(argv);
        const timer = setTimeout(() => proc.kill("SIGKILL"), o.timeoutMs ?? 30_000);
        const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
        clearTimeout(timer);
        state.procs.splice(state.procs.indexOf(proc), 1);
        return { code, stdout, stderr };
      },
    };
    nodes.push(node);
    return node;
  };

  return {
    bridge: state.bridge,
    subnet,
    hostAddress: `${subnet}.1`,
    nodes,
    addNode,
    async destroy() {
      if (state.destroyed) return;
      for (const p of state.procs) {
        try {
          p.kill("SIGKILL");
        } catch {}
      }
      await Promise.all(state.procs.map((p) => p.exited));
      state.procs = [];
      destroySync(state);
    },
  };
}
