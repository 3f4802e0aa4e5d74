// The etcd client against a real etcd (test/etcd-harness.ts): keys, transactions as fencing,
// leases and the keeper's loss signal, watches across an etcd restart and a compaction, endpoint
// failover and timeouts. Each test works under its own key prefix on one etcd per file; the tests
// that stop etcd leave it running again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type EtcdServer, etcdMissing, freePort, startEtcd } from "../../test/etcd-harness.ts";
import { compare, EtcdClient, EtcdError, op, parseEndpoints, prefixEnd, text, type WatchEvent } from "./etcd.ts";
import { fromBase64, int, toBase64 } from "./etcd-wire.ts";

describe("wire helpers", () => {
  test.each([
    ["a", "b"],
    ["a/", "a0"],
    ["/brokers/", "/brokers0"],
  ])("prefixEnd(%p) = %p", (key, end) => {
    expect(text(prefixEnd(key))).toBe(end);
  });

  test("prefixEnd of bytes ending in 0xff, and of all-0xff keys", () => {
    expect([...prefixEnd(new Uint8Array([1, 0xff, 0xff]))]).toEqual([2]);
    expect([...prefixEnd(new Uint8Array([0xff, 0xff]))]).toEqual([0]);
    expect([...prefixEnd("")]).toEqual([0]);
  });

  test("base64 both ways keeps bytes that are not UTF-8", () => {
    const bytes = new Uint8Array([0, 0xff, 0xfe, 10]);
    expect([...fromBase64(toBase64(bytes))]).toEqual([...bytes]);
    expect(fromBase64(undefined).length).toBe(0);
  });

  test("int64 strings become numbers; absent is 0; past 2^53 is refused", () => {
    expect(int("42", "x")).toBe(42);
    expect(int(undefined, "x")).toBe(0);
    expect(() => int("2324035872132280330", "x")).toThrow(/safe integer/);
  });

  test("endpoints: a comma list, bare HOST:PORT gets http://, nothing is refused", () => {
    expect(parseEndpoints("http://a:1/, b:2 ,")).toEqual(["http://a:1", "http://b:2"]);
    expect(() => parseEndpoints(" , ")).toThrow(EtcdError);
  });
});

const missing = etcdMissing();
if (missing) console.warn(`skipping etcd client tests: ${missing}`);

describe.skipIf(missing !== null)("etcd client against a real etcd", () => {
  let etcd: EtcdServer;
  let client: EtcdClient;
  let n = 0;
  const prefix = () => `/t${++n}/`;

  beforeAll(async () => {
    etcd = await startEtcd();
    client = new EtcdClient(etcd.url, { timeoutMs: 3000 });
  });

  afterAll(async () => {
    client?.close();
    await etcd?.cleanup();
  });

  test("put, range (one key, a prefix, a limit), delete (one key, a prefix)", async () => {
    const p = prefix();
    const first = await client.put(`${p}a`, "1");
    await client.put(`${p}b`, "2");
    await client.put(`${p}c`, new Uint8Array([0, 0xff]));
    await client.put(`${p.slice(0, -1)}0`, "outside"); // the next key after the prefix
    const again = await client.put(`${p}a`, "1bis", { prevKv: true });
    expect(again.prevKv?.valueString).toBe("1");
    expect(again.revision).toBeGreaterThan(first.revision);

    const a = await client.get(`${p}a`);
    expect(a?.valueString).toBe("1bis");
    expect(a?.createRevision).toBe(first.revision);
    expect(a?.modRevision).toBe(again.revision);
    expect(a?.version).toBe(2);
    expect(a?.lease).toBe("0");
    expect(await client.get(`${p}none`)).toBeNull();

    const all = await client.range(p, { prefix: true });
    expect(all.kvs.map((kv) => kv.keyString)).toEqual([`${p}a`, `${p}b`, `${p}c`]);
    expect([...all.kvs[2]!.value]).toEqual([0, 0xff]);
    expect(all.count).toBe(3);
    expect(all.revision).toBe(again.revision);

    const limited = await client.range(p, { prefix: true, limit: 2 });
    expect(limited.kvs.length).toBe(2);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(3);

    const empty = await client.range(`${p}zz`, { prefix: true });
    expect(empty).toEqual({ kvs: [], count: 0, more: false, revision: all.revision });

    expect((await client.delete(`${p}a`)).deleted).toBe(1);
    const gone = await client.delete(p, { prefix: true, prevKv: true });
    expect(gone.deleted).toBe(2);
    expect(gone.prevKvs.map((kv) => kv.valueString)).toEqual(["2", text(new Uint8Array([0, 0xff]))]);
    expect((await client.range(p, { prefix: true })).count).toBe(0);
    expect((await client.get(`${p.slice(0, -1)}0`))?.valueString).toBe("outside");
  });

  test("txn: compare-and-swap on mod_revision; a writer with a stale revision changes nothing (fencing)", async () => {
    const key = `${prefix()}partition-0`;
    const created = await client.txn({ compare: [compare.absent(key)], success: [op.put(key, "leader=1 epoch=1")] });
    expect(created.succeeded).toBe(true);
    expect(created.responses).toEqual([{ type: "put", revision: created.revision, prevKv: null }]);
    expect((await client.txn({ compare: [compare.absent(key)], success: [op.put(key, "x")] })).succeeded).toBe(false);

    // Two controllers read the same state; the first to write wins, the second is fenced.
    const read = (await client.get(key))!;
    const winner = await client.txn({
      compare: [compare.modRevision(key, "=", read.modRevision)],
      success: [op.put(key, "leader=2 epoch=2"), op.range(key)],
      failure: [op.range(key)],
    });
    expect(winner.succeeded).toBe(true);
    const [put, range] = winner.responses;
    expect(put?.type).toBe("put");
    expect(range?.type === "range" && range.kvs[0]?.valueString).toBe("leader=2 epoch=2");

    const stale = await client.txn({
      compare: [compare.modRevision(key, "=", read.modRevision)],
      success: [op.put(key, "leader=3 epoch=2")],
      failure: [op.range(key)],
    });
    expect(stale.succeeded).toBe(false);
    const current = stale.responses[0];
    expect(current?.type === "range" && current.kvs[0]?.valueString).toBe("leader=2 epoch=2");
    expect(current?.type === "range" && current.kvs[0]?.modRevision).toBe(winner.revision);
    expect((await client.get(key))?.valueString).toBe("leader=2 epoch=2");
  });

  test("txn compares on value, version, create_revision and lease; delete and range ops", async () => {
    const p = prefix();
    const lease = await client.grant(30);
    const put = await client.put(`${p}k`, "v", { lease: lease.id });
    const ok = await client.txn({
      compare: [
        compare.value(`${p}k`, "=", "v"),
        compare.value(`${p}k`, "!=", "w"),
        compare.version(`${p}k`, "=", 1),
        compare.version(`${p}k`, ">", 0),
        compare.createRevision(`${p}k`, "=", put.revision),
        compare.modRevision(`${p}k`, "<", put.revision + 1),
        compare.lease(`${p}k`, "=", lease.id),
      ],
      success: [op.delete(`${p}k`, { prevKv: true }), op.range(p, { prefix: true })],
    });
    expect(ok.succeeded).toBe(true);
    expect(ok.responses[0]).toMatchObject({ type: "delete", deleted: 1 });
    expect(ok.responses[1]).toMatchObject({ type: "range", count: 0, kvs: [] });
    expect((await client.txn({ compare: [compare.lease(`${p}k`, "=", lease.id)] })).succeeded).toBe(false);
    await client.revoke(lease.id);
  });

  test("a lease's keys go when it expires; the keeper keeps it, and stopping the keeper lets it go", async () => {
    const p = prefix();
    const lease = await client.grant(2);
    expect(lease.ttlSeconds).toBe(2);
    await client.put(`${p}broker`, "alive", { lease: lease.id });
    expect((await client.get(`${p}broker`))?.lease).toBe(lease.id);
    const deletes: WatchEvent[] = [];
    let deleted!: () => void;
    const gone = new Promise<void>((r) => (deleted = r));
    const w = client.watch(p, { prefix: true }, (events) => {
      deletes.push(...events.filter((e) => e.type === "delete"));
      if (deletes.length) deleted();
    });
    await w.created;

    const lost: EtcdError[] = [];
    const keeper = client.keepAlive(lease, { onLost: (e) => lost.push(e) });
    expect(keeper.alive).toBe(true);
    // Past two TTLs the key is still there: keepalives were acknowledged.
    const start = performance.now();
    await Bun.sleep(4500); // the time a lease must outlive: this is what is being tested
    expect(await client.get(`${p}broker`)).not.toBeNull();
    expect(keeper.alive).toBe(true);
    expect((await client.timeToLive(lease.id)).ttlSeconds).toBeGreaterThan(0);

    keeper.stop();
    expect(await keeper.done).toBeNull();
    expect(keeper.signal.aborted).toBe(true);
    expect(lost).toEqual([]);
    await gone;
    expect(performance.now() - start).toBeGreaterThan(4500);
    expect(deletes.map((e) => e.kv.keyString)).toEqual([`${p}broker`]);
    expect(await client.keepAliveOnce(lease.id)).toBe(0);
    expect((await client.timeToLive(lease.id)).ttlSeconds).toBe(-1);
    w.cancel();
    expect(await w.done).toEqual({ reason: "cancelled" });
  }, 20_000);

  test("a revoked lease: its keys go at once, and a keeper on it reports the loss", async () => {
    const p = prefix();
    const lease = await client.grant(10);
    await client.put(`${p}x`, "1", { lease: lease.id });
    const keeper = client.keepAlive(lease.id); // a bare id: trusted after the first keepalive
    expect(keeper.alive).toBe(false);
    await client.revoke(lease.id);
    await client.revoke(lease.id); // gone already: not an error
    expect(await client.get(`${p}x`)).toBeNull();
    const loss = await keeper.done;
    expect(loss?.code).toBe("LEASE_LOST");
    expect(keeper.signal.reason).toBe(loss);
    await expect(client.put(`${p}y`, "1", { lease: lease.id })).rejects.toMatchObject({ code: "LEASE_NOT_FOUND", endpoint: etcd.url });
  });

  test("etcd frozen past the TTL: the keeper signals the loss before the lease can expire; then the key is gone", async () => {
    const p = prefix();
    const lease = await client.grant(2);
    await client.put(`${p}leader`, "me", { lease: lease.id });
    const keeper = client.keepAlive(lease);
    let lostAt = 0;
    keeper.signal.addEventListener("abort", () => (lostAt = performance.now()));
    const frozenAt = performance.now();
    etcd.pause();
    try {
      const loss = await keeper.done;
      expect(loss?.code).toBe("LEASE_LOST");
      expect(loss?.message).toContain(etcd.url);
      expect(keeper.alive).toBe(false);
      // The loss came before the lease could have expired (grant + TTL), less the margin.
      expect(lostAt).toBeLessThanOrEqual(lease.sentAtMs + 2000);
      expect(lostAt - frozenAt).toBeLessThan(2000);
      await Bun.sleep(Math.max(0, lease.sentAtMs + 2500 - performance.now())); // past the TTL, etcd still frozen
    } finally {
      etcd.resume();
    }
    // etcd's lessor revokes the expired lease on its next check (every 500 ms): a keepalive cannot save it.
    let kv = await client.get(`${p}leader`);
    for (let i = 0; kv !== null && i < 100; i++) {
      await Bun.sleep(50);
      kv = await client.get(`${p}leader`);
    }
    expect(kv).toBeNull();
    expect(await client.keepAliveOnce(lease.id)).toBe(0);
  }, 20_000);

  test("watch: puts and deletes in order, with prev_kv; from a past revision; cancel", async () => {
    const p = prefix();
    const before = await client.put(`${p}old`, "0");
    const seen: string[] = [];
    const w = client.watch(p, { prefix: true, prevKv: true }, (events) => {
      for (const e of events) seen.push(`${e.type} ${e.kv.keyString}=${e.kv.valueString} prev=${e.prevKv?.valueString ?? "-"}`);
    });
    const createdAt = await w.created;
    expect(createdAt).toBe(before.revision);
    await client.put(`${p}a`, "1");
    await client.put(`${p}a`, "2");
    await client.put(`${p.slice(0, -1)}0`, "not watched");
    await client.txn({ success: [op.put(`${p}b`, "3"), op.delete(`${p}a`)] }); // one revision, two events
    const last = await client.delete(`${p}b`);
    while (w.nextRevision! <= last.revision) await Bun.sleep(10);
    expect(seen).toEqual([`put ${p}a=1 prev=-`, `put ${p}a=2 prev=1`, `put ${p}b=3 prev=-`, `delete ${p}a= prev=2`, `delete ${p}b= prev=3`]);
    w.cancel();
    expect(await w.done).toEqual({ reason: "cancelled" });

    // The same history again, from a revision in the past.
    const replay: string[] = [];
    const again = client.watch(p, { prefix: true, startRevision: before.revision }, (events) => {
      for (const e of events) replay.push(`${e.type} ${e.kv.keyString}`);
    });
    while (again.nextRevision! <= last.revision) await Bun.sleep(10);
    expect(replay).toEqual([`put ${p}old`, `put ${p}a`, `put ${p}a`, `put ${p}b`, `delete ${p}a`, `delete ${p}b`]);
    again.cancel();
  });

  test("watch resumes after etcd restarts: every event once, in order", async () => {
    const p = prefix();
    const seen: string[] = [];
    const drops: EtcdError[] = [];
    const w = client.watch(p, { prefix: true, onError: (e) => drops.push(e) }, (events) => {
      for (const e of events) seen.push(`${e.type} ${e.kv.keyString}=${e.kv.valueString}`);
    });
    await w.created;
    await client.put(`${p}a`, "1");
    await client.put(`${p}b`, "2");
    await etcd.restart({ kill: true });
    // Written before the watch is back (it backs off): delivered by the resume, not lost.
    await client.put(`${p}c`, "3");
    await client.delete(`${p}a`);
    const last = await client.put(`${p}d`, "4");
    while (w.nextRevision! <= last.revision) await Bun.sleep(10);
    expect(seen).toEqual([`put ${p}a=1`, `put ${p}b=2`, `put ${p}c=3`, `delete ${p}a=`, `put ${p}d=4`]);
    expect(w.reconnects).toBeGreaterThanOrEqual(1);
    expect(drops.length).toBeGreaterThanOrEqual(1);
    expect(drops[0]?.code).toBe("UNAVAILABLE");
    w.cancel();
  }, 30_000);

  test("a watch with idleTimeoutMs reconnects from a frozen etcd's silent stream and misses nothing", async () => {
    const p = prefix();
    const seen: string[] = [];
    const drops: EtcdError[] = [];
    const w = client.watch(p, { prefix: true, idleTimeoutMs: 400, timeoutMs: 400, onError: (e) => drops.push(e) }, (events) => {
      for (const e of events) seen.push(e.kv.valueString);
    });
    await w.created;
    await client.put(`${p}k`, "1");
    etcd.pause();
    try {
      while (drops.length < 2) await Bun.sleep(20); // the idle stream, then a connect that times out
    } finally {
      etcd.resume();
    }
    expect(drops[0]?.code).toBe("TIMEOUT");
    expect(drops[0]?.message).toContain("silent");
    const last = await client.put(`${p}k`, "2");
    while (w.nextRevision! <= last.revision) await Bun.sleep(10);
    expect(seen).toEqual(["1", "2"]);
    w.cancel();
  }, 20_000);

  test("watch from a compacted revision ends with `compacted`: the caller re-reads with range", async () => {
    const p = prefix();
    const first = await client.put(`${p}k`, "1");
    const second = await client.put(`${p}k`, "2");
    await client.compact(second.revision);
    await expect(client.range(`${p}k`, { revision: first.revision })).rejects.toMatchObject({ code: "COMPACTED" });
    let told = 0;
    const w = client.watch(p, { prefix: true, startRevision: first.revision, onCompacted: (r) => (told = r) }, () => {
      throw new Error("no events expected");
    });
    expect(await w.done).toEqual({ reason: "compacted", compactRevision: second.revision });
    expect(told).toBe(second.revision);
    // The recovery the caller does: read now, watch from just after.
    const now = await client.range(p, { prefix: true });
    expect(now.kvs.map((kv) => kv.valueString)).toEqual(["2"]);
    const seen: string[] = [];
    const resumed = client.watch(p, { prefix: true, startRevision: now.revision + 1 }, (events) => {
      for (const e of events) seen.push(e.kv.valueString);
    });
    const third = await client.put(`${p}k`, "3");
    while (resumed.nextRevision! <= third.revision) await Bun.sleep(10);
    expect(seen).toEqual(["3"]);
    resumed.cancel();
  });

  test("a watch handler that throws ends the watch with `failed`", async () => {
    const p = prefix();
    const w = client.watch(p, { prefix: true }, () => {
      throw new Error("boom");
    });
    await w.created;
    await client.put(`${p}k`, "1");
    const end = await w.done;
    expect(end.reason).toBe("failed");
    expect(end.reason === "failed" && (end.error as Error).message).toBe("boom");
  });

  test("failover: a dead first endpoint is skipped for calls, leases and watches", async () => {
    const dead = `http://127.0.0.1:${freePort()}`;
    const c = new EtcdClient([dead, etcd.url], { timeoutMs: 2000 });
    const p = prefix();
    await c.put(`${p}k`, "v");
    expect(c.endpoint).toBe(etcd.url);
    expect((await c.get(`${p}k`))?.valueString).toBe("v");

    const c2 = new EtcdClient(`${dead},${etcd.url}`);
    const lease = await c2.grant(5);
    expect(await c2.keepAliveOnce(lease.id)).toBe(5);
    const c3 = new EtcdClient([dead, etcd.url]);
    const seen: string[] = [];
    const w = c3.watch(p, { prefix: true }, (events) => void seen.push(...events.map((e) => e.kv.valueString)));
    await w.created;
    const put = await c.put(`${p}k`, "w");
    while (w.nextRevision! <= put.revision) await Bun.sleep(10);
    expect(seen).toEqual(["w"]);
    w.cancel();
    await c2.revoke(lease.id);
  });

  test("every endpoint dead: UNAVAILABLE naming each; errors carry the endpoint", async () => {
    const a = `http://127.0.0.1:${freePort()}`;
    const b = `http://127.0.0.1:${freePort()}`;
    const err = await new EtcdClient([a, b]).put("/k", "v").catch((e) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.indeterminate).toBe(false); // refused: never sent
    expect(err.message).toContain(a);
    expect(err.message).toContain(b);
    const one = await new EtcdClient(a).range("/k").catch((e) => e);
    expect(one).toMatchObject({ code: "UNAVAILABLE", endpoint: a });
  });

  test("a frozen etcd: calls time out with the endpoint; a write's outcome is indeterminate", async () => {
    etcd.pause();
    try {
      const started = performance.now();
      const read = await client.range("/k", { timeoutMs: 300 }).catch((e) => e);
      expect(read).toMatchObject({ code: "TIMEOUT", endpoint: etcd.url });
      expect(read.indeterminate).toBe(false);
      expect(performance.now() - started).toBeLessThan(2000);
      const write = await client.put("/k", "v", { timeoutMs: 300 }).catch((e) => e);
      expect(write).toMatchObject({ code: "TIMEOUT", endpoint: etcd.url });
      expect(write.indeterminate).toBe(true);
      const aborted = await client.range("/k", { signal: AbortSignal.abort() }).catch((e) => e);
      expect(aborted.code).toBe("ABORTED");
    } finally {
      etcd.resume();
    }
    expect((await client.put("/k", "after")).revision).toBeGreaterThan(0);
  });
});
