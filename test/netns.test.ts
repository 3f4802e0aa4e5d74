// The network-namespace helper (test/netns.ts): TCP works node to node, node to the root namespace
// and back; a cut node reaches nothing and nothing reaches it, the others still talk; healing
// restores it; a lab left by a dead process is swept; destroy() leaves nothing behind. Last, what
// cluster tests will do: etcd on the bridge address, a client in a node, cut off and healed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { etcdMissing, startEtcd } from "./etcd-harness.ts";
import { REPO_ROOT } from "./harness.ts";
import { createNetLab, type NetLab, type NetNode, netnsMissing, sweepLeftovers } from "./netns.ts";

const BUN = process.execPath;
const missing = netnsMissing();
if (missing) console.warn(`skipping network namespace tests: ${missing}`);

/** A TCP server in `node` on PORT that greets each connection with its address. */
async function greeter(node: NetNode, port: number) {
  const proc = node.spawn([BUN, "-e", `Bun.listen({ hostname: "0.0.0.0", port: ${port}, socket: { open(s) { s.end("hello from ${node.address}\\n"); }, data() {} } }); console.log("listening");`]);
  const reader = proc.stdout.getReader();
  const first = await reader.read();
  reader.releaseLock();
  expect(new TextDecoder().decode(first.value)).toContain("listening");
  return proc;
}

/** Connects from `from` (a node, or the root namespace when null) to host:port; the greeting, or the failure. */
async function probe(from: NetNode | null, host: string, port: number, timeoutMs = 1000): Promise<string> {
  const script = `const s = require("node:net").connect({ host: "${host}", port: ${port}, timeout: ${timeoutMs} });
    s.on("data", (d) => { process.stdout.write(String(d)); process.exit(0); });
    s.on("timeout", () => { console.log("timeout"); process.exit(3); });
    s.on("error", (e) => { console.log(e.code); process.exit(2); });`;
  const argv = [BUN, "-e", script];
  if (from) return (await from.run(argv, { timeoutMs: timeoutMs + 10_000 })).stdout.trim();
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  return (await new Response(proc.stdout).text()).trim();
}

describe.skipIf(missing !== null)("network namespaces", () => {
  let lab: NetLab;
  let a: NetNode;
  let b: NetNode;

  beforeAll(async () => {
    lab = await createNetLab();
    a = await lab.addNode();
    b = await lab.addNode();
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  test("addresses: the bridge holds .1, nodes .2 and .3 in their own namespaces", async () => {
    expect(lab.hostAddress).toBe(`${lab.subnet}.1`);
    expect([a.address, b.address]).toEqual([`${lab.subnet}.2`, `${lab.subnet}.3`]);
    const shown = await a.run(["ip", "-4", "-o", "addr", "show", "dev", "eth0"]);
    expect(shown.stdout).toContain(`${a.address}/24`);
    expect((await a.run(["ip", "-o", "link", "show"])).stdout).not.toContain(b.port); // its own namespace
  });

  test("TCP node → node, root → node and node → root; a cut node reaches nothing and is reached by nothing; heal", async () => {
    const server = await greeter(a, 7001);
    const root = Bun.listen({ hostname: lab.hostAddress, port: 0, socket: { open: (s) => void s.end("hello from root\n"), data() {} } });
    try {
      expect(await probe(b, a.address, 7001)).toBe(`hello from ${a.address}`);
      expect(await probe(null, a.address, 7001)).toBe(`hello from ${a.address}`);
      expect(await probe(a, lab.hostAddress, root.port)).toBe("hello from root");

      await a.cut();
      expect(a.isCut).toBe(true);
      expect(await probe(b, a.address, 7001)).toBe("timeout");
      expect(await probe(null, a.address, 7001)).toBe("timeout");
      expect(await probe(a, lab.hostAddress, root.port)).toBe("timeout");
      expect(await probe(b, lab.hostAddress, root.port)).toBe("hello from root"); // the others still talk

      await a.heal();
      expect(await probe(b, a.address, 7001, 5000)).toBe(`hello from ${a.address}`);
      expect(await probe(a, lab.hostAddress, root.port, 5000)).toBe("hello from root");
    } finally {
      root.stop(true);
      server.kill();
    }
  }, 60_000);

  test.skipIf(etcdMissing() !== null)("etcd on the bridge address: a client in a node uses it, loses it when cut, has it back when healed", async () => {
    const etcd = await startEtcd({ host: lab.hostAddress });
    const client = `
      import { EtcdClient } from "${REPO_ROOT}/net/cluster/etcd.ts";
      const c = new EtcdClient("${etcd.url}", { timeoutMs: 1000 });
      try { console.log("revision " + (await c.put("/from-node", "${b.address}")).revision); }
      catch (e) { console.log(e.code); }`;
    try {
      const ok = await b.run([BUN, "-e", client]);
      expect(ok.stdout).toMatch(/^revision \d+/);
      await b.cut();
      expect((await b.run([BUN, "-e", client])).stdout.trim()).toBe("TIMEOUT");
      await b.heal();
      expect((await b.run([BUN, "-e", client])).stdout).toMatch(/^revision \d+/);
    } finally {
      await b.heal();
      await etcd.cleanup();
    }
  }, 60_000);
});

describe.skipIf(missing !== null)("network lab lifecycle", () => {
  test("a lab left by a process that died is swept; destroy() leaves no namespace or link", async () => {
    // A "dead" creator: a process that has exited.
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    const pid36 = gone.pid.toString(36);
    const names = { ns: `stc${pid36}-0-2`, bridge: `stb${pid36}-0` };
    const run = (args: string[]) => Bun.spawnSync(["ip", ...args]).exitCode;
    expect(run(["netns", "add", names.ns])).toBe(0);
    expect(run(["link", "add", names.bridge, "type", "bridge"])).toBe(0);
    const swept = await sweepLeftovers();
    expect(swept).toContain(names.ns);
    expect(swept).toContain(names.bridge);

    const lab = await createNetLab();
    const node = await lab.addNode();
    const sleeper = node.spawn(["sleep", "60"]);
    await lab.destroy();
    expect(await sleeper.exited).not.toBe(0);
    const left = Bun.spawnSync(["ip", "netns", "list"]).stdout.toString() + Bun.spawnSync(["ip", "-o", "link", "show"]).stdout.toString();
    expect(left).not.toContain(node.ns);
    expect(left).not.toContain(lab.bridge);
    expect(left).not.toContain(node.port);
  });
});
