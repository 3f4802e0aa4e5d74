// A leader cut off from the other brokers and from etcd (issue #19): each broker runs in a network
// namespace of its own (test/netns.ts), etcd in the root namespace on the lab's bridge. While the
// leader is cut off it cannot acknowledge an acks=all write (its followers cannot fetch), the
// others elect a new leader, and clients go on with it; once the cut heals the old leader learns
// the new epoch, truncates what it wrote alone (an acks=1 write it did acknowledge), and every
// replica holds one history, byte for byte.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { etcdMissing, type EtcdServer, startEtcd } from "./etcd-harness.ts";
import { kcat, removeDir, STREAMCTL_BIN, streamctl, tempDir } from "./harness.ts";
import { createNetLab, type NetLab, type NetNode, netnsMissing } from "./netns.ts";
import { RawConnection } from "./raw-kafka.ts";
import { Metadata, defaultMetadataRequest } from "../net/protocol/messages/index.ts";

const skip = etcdMissing() ?? netnsMissing();
const PORT = 9092;

interface NsBroker {
  id: number;
  node: NetNode;
  dir: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stderr: () => string;
}

/** Whether this build refuses an unauthenticated non-loopback listener without --insecure-listener. */
function needsInsecureFlag(): boolean {
  const help = Bun.spawnSync([STREAMCTL_BIN, "serve", "--help"], { stdout: "pipe", stderr: "pipe" });
  return help.stdout.toString().includes("--insecure-listener");
}

async function startNsBroker(node: NetNode, id: number, etcd: string, cluster: string, dir: string): Promise<NsBroker> {
  const args = [
    STREAMCTL_BIN, "serve", "--data-dir", dir, "--node-id", String(id), "--cluster", etcd, "--cluster-name", cluster,
    "--kafka-listen", `${node.address}:${PORT}`, "--http-listen", `127.0.0.1:0`, "--replica-lag-time-max-ms", "3000",
    ...(needsInsecureFlag() ? ["--insecure-listener"] : []),
  ];
  const proc = node.spawn(args, { env: { NO_COLOR: "1" } });
  let err = "";
  const decoder = new TextDecoder();
  let onChunk: () => void = () => {};
  void (async () => {
    for await (const chunk of proc.stderr) {
      err += decoder.decode(chunk, { stream: true });
      onChunk();
    }
  })();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker ${id} not ready: ${err}`)), 30_000);
    onChunk = () => {
      if (/streamctl: ready /.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    };
    void proc.exited.then((code) => reject(new Error(`broker ${id} exited ${code}: ${err}`)));
  });
  return { id, node, dir, proc, stderr: () => err };
}

/** The batches of a partition on a broker's disk, concatenated (the runway's zeros left out). */
function storedLog(dataDir: string, topic: string, partition: number): Buffer {
  const dir = join(dataDir, "topics", topic, String(partition));
  const parts: Buffer[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".log")).sort()) {
    const bytes = readFileSync(join(dir, f));
    let pos = 0;
    while (pos + 12 <= bytes.length && bytes.readInt32BE(pos + 8) > 0) pos += 12 + bytes.readInt32BE(pos + 8);
    parts.push(bytes.subarray(0, Math.min(pos, bytes.length)));
  }
  return Buffer.concat(parts);
}

describe.skipIf(skip !== null)("a leader cut off by a network partition (netns)", () => {
  let lab: NetLab;
  let etcd: EtcdServer;
  const brokers: NsBroker[] = [];

  beforeAll(async () => {
    lab = await createNetLab();
    etcd = await startEtcd({ host: lab.hostAddress });
    const name = `part-${process.pid}`;
    for (let id = 1; id <= 3; id++) {
      const node = await lab.addNode();
      brokers.push(await startNsBroker(node, id, etcd.url, name, tempDir(`streamctl-ns-${id}-`)));
    }
  }, 90_000);

  afterAll(async () => {
    for (const b of brokers) {
      b.proc.kill("SIGKILL");
      await b.proc.exited;
      removeDir(b.dir);
    }
    await etcd?.cleanup();
    await lab?.destroy();
  });

  const address = (b: NsBroker) => `${b.node.address}:${PORT}`;

  /** Partition 0 of `topic` as broker `via` sees it. */
  async function partition0(topic: string, via: NsBroker) {
    const c = await RawConnection.open(address(via));
    try {
      const res = await c.request(Metadata, 9, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: topic }], allowAutoTopicCreation: false });
      const p = res.topics[0]!.partitions[0]!;
      return { leader: p.leaderId, epoch: p.leaderEpoch, isr: [...p.isrNodes].sort() };
    } finally {
      c.close();
    }
  }

  async function until<T>(what: string, get: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await get().catch(() => null);
      if (v !== null) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await Bun.sleep(200);
    }
  }

  test("the cut-off leader acknowledges no acks=all write, the others go on, and after the heal there is one history", async () => {
    const created = await streamctl(["topics", "create", "part", "--partitions", "1", "--broker", address(brokers[0]!)]);
    expect([created.code, created.stderr]).toEqual([0, "created topic part with 1 partition\n"]);
    const before = await until("3 in-sync replicas", async () => {
      const p = await partition0("part", brokers[0]!);
      return p.isr.length === 3 ? p : null;
    });
    const bootstrap = brokers.map(address).join(",");
    const first = Array.from({ length: 100 }, (_, i) => `before-${i}`);
    expect((await kcat(bootstrap, ["-P", "-t", "part", "-p", "0", "-X", "acks=all"], { input: first.join("\n"), timeoutMs: 30_000 })).code).toBe(0);

    const old = brokers.find((b) => b.id === before.leader)!;
    const others = brokers.filter((b) => b !== old);
    await old.node.cut();
    // From inside its own namespace a client still reaches the cut-off leader.
    const alone = await old.node.run(
      ["sh", "-c", `printf 'alone-all-1\\nalone-all-2\\n' | kcat -b ${address(old)} -P -t part -p 0 -X acks=all -X message.timeout.ms=6000 -X enable.idempotence=false; printf 'alone-one-1\\n' | kcat -b ${address(old)} -P -t part -p 0 -X acks=1 -X message.timeout.ms=6000`],
      { timeoutMs: 30_000 },
    );
    expect(alone.stderr).toContain("Delivery failed"); // the acks=all ones: never acknowledged

    const after = await until("a new leader among the others", async () => {
      const p = await partition0("part", others[0]!);
      return p.leader !== old.id && p.leader >= 0 && p.epoch > before.epoch ? p : null;
    });
    const rest = others.map(address).join(",");
    const second = Array.from({ length: 100 }, (_, i) => `after-${i}`);
    expect((await kcat(rest, ["-P", "-t", "part", "-p", "0", "-X", "acks=all"], { input: second.join("\n"), timeoutMs: 30_000 })).code).toBe(0);

    await old.node.heal();
    await until("the old leader back in the ISR", async () => {
      const p = await partition0("part", others[0]!);
      return p.isr.length === 3 ? p : null;
    }, 60_000);
    expect(old.stderr()).toMatch(/truncating \d+ offset\(s\) from \d+ to follow broker/);

    const read = await kcat(bootstrap, ["-C", "-t", "part", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"], { timeoutMs: 30_000 });
    expect(read.stdout.trim().split("\n")).toEqual([...first, ...second]);
    const newLeader = brokers.find((b) => b.id === after.leader)!;
    await until("every replica to hold the same batches", async () => {
      const logs = brokers.map((b) => storedLog(b.dir, "part", 0));
      return logs.every((l) => Buffer.compare(l, storedLog(newLeader.dir, "part", 0)) === 0) ? true : null;
    });
  }, 180_000);
});
