// scripts/cluster.ts (`make cluster`): the broker command lines follow the cluster contract of
// DESIGN.md; etcd starts on the given ports with its data kept under the cluster dir across runs;
// SIGINT stops brokers first, then etcd, and exits 0. Real brokers cannot join a cluster yet (the
// serve flags land with the replication work), so the broker side runs against a stand-in script
// that prints the ready line and records how it was started and stopped.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EtcdClient } from "../net/cluster/etcd.ts";
import { brokerArgv, defaultClusterDir, parseClusterArgs } from "../scripts/cluster.ts";
import { etcdMissing, freePort } from "./etcd-harness.ts";
import { REPO_ROOT, removeDir, tempDir } from "./harness.ts";

test("defaults: the XDG data dir, 127.0.0.1, etcd 2379/2380, three brokers from 9092 and 8092", () => {
  expect(defaultClusterDir({ XDG_DATA_HOME: "/x" })).toBe("/x/streamctl-cluster");
  expect(defaultClusterDir({ XDG_DATA_HOME: "" })).toEndWith("/.local/share/streamctl-cluster");
  const o = parseClusterArgs([], { XDG_DATA_HOME: "/x" });
  expect(o).toEqual({ bin: "bin/streamctl", dir: "/x/streamctl-cluster", host: "127.0.0.1", etcdPort: 2379, etcdPeerPort: 2380, brokers: 3, kafkaPort: 9092, httpPort: 8092, etcdOnly: false });
  expect(() => parseClusterArgs(["--brokers", "0"])).toThrow(/--brokers/);
  expect(() => parseClusterArgs(["--what"])).toThrow(/unknown argument --what/);
});

test("each broker's serve command line follows DESIGN.md's cluster contract", () => {
  const o = parseClusterArgs(["--bin", "/b/streamctl", "--dir", "/d", "--cluster-name", "local"]);
  expect([1, 2, 3].map((n) => brokerArgv(o, "http://127.0.0.1:2379", n).join(" "))).toEqual([
    "/b/streamctl serve --node-id 1 --cluster http://127.0.0.1:2379 --cluster-name local --advertise 127.0.0.1:9092 --data-dir /d/node1 --kafka-listen 127.0.0.1:9092 --http-listen 127.0.0.1:8092",
    "/b/streamctl serve --node-id 2 --cluster http://127.0.0.1:2379 --cluster-name local --advertise 127.0.0.1:9093 --data-dir /d/node2 --kafka-listen 127.0.0.1:9093 --http-listen 127.0.0.1:8093",
    "/b/streamctl serve --node-id 3 --cluster http://127.0.0.1:2379 --cluster-name local --advertise 127.0.0.1:9094 --data-dir /d/node3 --kafka-listen 127.0.0.1:9094 --http-listen 127.0.0.1:8094",
  ]);
});

const missing = etcdMissing();

/** The script as a child; resolves its ready line's fields once it prints it. */
function runScript(args: string[]) {
  const proc = Bun.spawn([process.execPath, "run", join(REPO_ROOT, "scripts/cluster.ts"), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let err = "";
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr) {
        err += decoder.decode(chunk, { stream: true });
        const m = /^cluster: ready (.*)$/m.exec(err);
        if (m) resolve(Object.fromEntries(m[1]!.split(" ").map((kv) => kv.split("=", 2) as [string, string])));
      }
      reject(new Error(`cluster script ended before ready:\n${err}`));
    })();
  });
  return { proc, ready, stderr: () => err };
}

describe.skipIf(missing !== null)("the cluster script with a real etcd", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  test("etcd only: ready on the given ports, data kept across runs, SIGINT stops it and exits 0", async () => {
    const dir = tempDir("streamctl-cluster-");
    dirs.push(dir);
    const args = ["--dir", dir, "--etcd-port", String(freePort()), "--etcd-peer-port", String(freePort()), "--etcd-only"];
    const first = runScript(args);
    const ready = await first.ready;
    expect(ready.dir).toBe(dir);
    const client = new EtcdClient(ready.etcd!, { timeoutMs: 2000 });
    await client.put("/cluster-script", "kept");
    first.proc.kill("SIGINT");
    expect(await first.proc.exited).toBe(0);
    expect(first.stderr()).toContain("[etcd] ");
    expect(await client.get("/cluster-script", { timeoutMs: 500 }).catch((e) => e.code)).toBe("UNAVAILABLE");
    expect(existsSync(join(dir, "etcd", "member"))).toBe(true);

    const second = runScript(args);
    await second.ready;
    expect((await client.get("/cluster-script"))?.valueString).toBe("kept");
    second.proc.kill("SIGTERM");
    expect(await second.proc.exited).toBe(0);
  }, 60_000);

  test("brokers (a stand-in): started with the contract's flags, ready line gathered, stopped before etcd", async () => {
    const dir = tempDir("streamctl-cluster-");
    dirs.push(dir);
    const fake = join(dir, "fake-streamctl");
    // $3 = node id, $5 = etcd URL (serve --node-id N --cluster URL …). On SIGTERM it records
    // whether etcd still answered (/version: any answer, leader or not): brokers must stop while
    // etcd runs. The trap is set before the ready line, so a SIGTERM right after it is recorded.
    writeFileSync(
      fake,
      `#!/bin/sh
trap 'if curl -s -o /dev/null "$5/version"; then echo "$3 etcd-up" >> "${dir}/stops"; else echo "$3 etcd-down" >> "${dir}/stops"; fi; exit 0' TERM
echo "$@" > "${dir}/argv-$3"
echo "streamctl: ready kafka=127.0.0.1:1000$3 http=127.0.0.1:2000$3 data=x" >&2
while :; do sleep 0.05; done
`,
    );
    chmodSync(fake, 0o755);
    const run = runScript(["--bin", fake, "--dir", dir, "--etcd-port", String(freePort()), "--etcd-peer-port", String(freePort()), "--kafka-port", "19092", "--http-port", "18092"]);
    const ready = await run.ready;
    expect(ready.kafka).toBe("127.0.0.1:10001,127.0.0.1:10002,127.0.0.1:10003");
    expect(ready.http).toBe("127.0.0.1:20001,127.0.0.1:20002,127.0.0.1:20003");
    expect(readFileSync(join(dir, "argv-2"), "utf8").trim()).toBe(
      `serve --node-id 2 --cluster ${ready.etcd} --advertise 127.0.0.1:19093 --data-dir ${dir}/node2 --kafka-listen 127.0.0.1:19093 --http-listen 127.0.0.1:18093`,
    );
    expect(run.stderr()).toContain("[node3] streamctl: ready");
    run.proc.kill("SIGINT");
    expect(await run.proc.exited).toBe(0);
    expect(readFileSync(join(dir, "stops"), "utf8").trim().split("\n").sort()).toEqual(["1 etcd-up", "2 etcd-up", "3 etcd-up"]);
  }, 60_000);

  test("a broker that exits before it is ready: the script says so, stops etcd and exits 1", async () => {
    const dir = tempDir("streamctl-cluster-");
    dirs.push(dir);
    const run = runScript(["--bin", "/bin/false", "--dir", dir, "--etcd-port", String(freePort()), "--etcd-peer-port", String(freePort()), "--brokers", "1"]);
    run.ready.catch(() => {});
    expect(await run.proc.exited).toBe(1);
    expect(run.stderr()).toContain("node1 exited with 1 before it was ready");
    expect(run.stderr()).toContain("cluster: stopping node1, then etcd");
  }, 60_000);
});
