// A simulated cluster (issue #19): three replicas of one partition, each a real PartitionLog on a
// memory disk of its own with a real ReplicaManager, a fake store (the partition's state with a
// version and compare-and-swap, as etcd holds it), the controller's election rule (electFor) and
// the follower's truncation rule (divergencePoint) — driven by a seeded schedule of produces
// (acks=all), follower fetches, ISR ticks, lost state deliveries and power losses of any broker,
// the leader included. After the schedule every broker comes back, the followers catch up, and:
//
//   - every acknowledged record is in the leader's log at its acknowledged offset;
//   - no two replicas disagree below the high watermark (byte for byte).
//
// SEED=<n> replays one seed; CLUSTER_SIM_SEEDS sets how many (default 30; TRACE=1 prints each event).
import { expect, test } from "bun:test";
import { ManualClock } from "../core/testing/manual-time.ts";
import { MemoryFileLayer } from "../core/testing/memory-fs.ts";
import { prng } from "../core/testing/seed.ts";
import { buildBatch } from "../core/testing/batch-bytes.ts";
import { MemoryLogger } from "../core/testing/log-harness.ts";
import * as be from "../core/bytes.ts";
import { OFF_BASE_OFFSET } from "../core/batch/header.ts";
import { SyncScheduler } from "../core/log/durability.ts";
import { PartitionLog } from "../core/log/partition-log.ts";
import { DEFAULT_LOG_CONFIG } from "../core/log/types.ts";
import { divergencePoint, type PartitionState, ReplicaManager } from "../core/broker/replication.ts";
import { electFor } from "../net/cluster/records.ts";

const IDS = [1, 2, 3];
const LAG_MS = 1000;

interface Node {
  id: number;
  fs: MemoryFileLayer;
  log: PartitionLog | null;
  rm: ReplicaManager | null;
  /** Must truncate against the leader before fetching (new epoch or restart). */
  mustTruncate: boolean;
}

async function simulate(seed: number, steps: number): Promise<{ acked: number; elections: number; truncations: number }> {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const clock = new ManualClock();
  let state: PartitionState = { topic: "t", partition: 0, replicas: IDS, leader: 1, leaderEpoch: 0, isr: IDS, version: 1 };
  const nodes = new Map<number, Node>();
  const acked: Array<{ offset: number; value: number }> = [];
  let elections = 0;
  let truncations = 0;
  let nextValue = 0;
  const trace = (line: string) => {
    if (process.env.TRACE) console.log(`${clock.now() % 100000} ${line} | leader ${state.leader} e${state.leaderEpoch} isr ${state.isr} | ${[...nodes.values()].map((n) => (n.log ? `${n.id}:${n.log.durableEndOffset}/${n.log.highWatermark}` : `${n.id}:down`)).join(" ")}`);
  };

  const store = {
    /** The fake etcd: compare-and-swap on the partition's version, from a live broker only. */
    async proposeIsr(from: number, basedOn: PartitionState, isr: readonly number[]): Promise<boolean> {
      if (nodes.get(from)?.log === null || basedOn.version !== state.version) return false;
      state = { ...state, isr, version: state.version + 1 };
      await deliver();
      return true;
    },
  };

  async function open(id: number): Promise<void> {
    const n = nodes.get(id)!;
    const log = await PartitionLog.open("/data/t/0", DEFAULT_LOG_CONFIG, { fs: n.fs, clock, durability: new SyncScheduler({ mode: "always" }), logger: new MemoryLogger(), topic: "t", partition: 0 });
    n.log = log;
    n.rm = new ReplicaManager(id, { proposeIsr: (b, isr) => store.proposeIsr(id, b, isr) }, { replicaLagMaxMs: LAG_MS }, () => clock.now());
    n.mustTruncate = true;
    await n.rm.apply(state, log);
  }

  /** The store's state to every live broker (a follower under a new epoch truncates first). */
  async function deliver(): Promise<void> {
    for (const n of nodes.values()) {
      if (n.log === null || n.rm === null) continue;
      const before = n.rm.state("t", 0);
      await n.rm.apply(state, n.log);
      if (before === undefined || before.leaderEpoch !== state.leaderEpoch) n.mustTruncate = true;
    }
  }

  function live(): Set<number> {
    return new Set([...nodes.values()].filter((n) => n.log !== null).map((n) => n.id));
  }

  async function controller(): Promise<void> {
    const next = electFor(state, live(), false);
    if (next === null) return;
    if (next.leader !== state.leader) elections++;
    trace(`controller: leader ${next.leader} epoch ${next.leaderEpoch} isr ${next.isr}`);
    state = { ...state, ...next, version: state.version + 1 };
    await deliver();
  }

  async function followerStep(f: Node): Promise<void> {
    const leader = nodes.get(state.leader);
    if (f.log === null || leader?.log == null || f.id === state.leader) return;
    if (f.mustTruncate) {
      const to = divergencePoint(f.log, leader.log.endOffsetForEpoch(f.log.leaderEpoch));
      if (to < f.log.endOffset) {
        truncations++;
        trace(`broker ${f.id} truncates to ${to}`);
        await f.log.truncateTo(to);
      }
      f.mustTruncate = false;
      return;
    }
    const end = leader.log.durableEndOffset;
    const from = f.log.durableEndOffset;
    if (from > end) {
      f.mustTruncate = true; // the leader has less: find where they agree
      return;
    }
    if (from < end) {
      const read = leader.log.read(from, 1 + Math.floor(rand() * 4096), true, end);
      for (const chunk of read.chunks) {
        for (let pos = 0; pos < chunk.length; ) {
          const size = 12 + be.int32(chunk, pos + 8);
          await f.log.appendReplica(chunk.slice(pos, pos + size));
          pos += size;
        }
      }
    }
    leader.rm!.followerFetched("t", 0, f.id, f.log.durableEndOffset);
    f.log.advanceHighWatermark(leader.log.highWatermark);
  }

  for (const id of IDS) {
    // The partition's directories made durable first, as the topic store does when it creates one.
    const fs = new MemoryFileLayer();
    fs.mkdirp("/data/t/0");
    await fs.fsyncDir("/");
    await fs.fsyncDir("/data");
    await fs.fsyncDir("/data/t");
    nodes.set(id, { id, fs, log: null, rm: null, mustTruncate: true });
    await open(id);
  }

  for (let step = 0; step < steps; step++) {
    const r = rand();
    const leader = nodes.get(state.leader);
    if (r < 0.35 && leader?.log) {
      // acks=all produce: counts once the high watermark passes it.
      const value = nextValue++;
      // The batch's base timestamp carries the value (inside the CRC, as a producer writes it).
      const batch = buildBatch({ records: 1 + Math.floor(rand() * 3), fill: 0x30 + (value % 64), timestamp: 1_700_000_000_000 + value });
      const log = leader.log;
      const rm = leader.rm!;
      if (state.isr.length >= 2) {
        void log
          .append(batch)
          .then((res) => rm.waitReplicated("t", 0, res.lastOffset + 1).then(() => {
            // min.insync.replicas=2: the broker refuses after the fact when the ISR shrank below it.
            if (rm.isrSize("t", 0) < 2) return;
            acked.push({ offset: res.baseOffset, value });
            trace(`acked value ${value} at ${res.baseOffset}`);
          }))
          .catch(() => {}); // lost with its leader: never acknowledged
      }
    } else if (r < 0.75) {
      await followerStep(pick([...nodes.values()]));
    } else if (r < 0.8) {
      clock.advance(Math.floor(rand() * LAG_MS));
      leader?.rm?.tick();
    } else if (r < 0.85) {
      // Power loss of a broker; if it led, the controller elects another from the ISR.
      const victim = pick([...nodes.values()].filter((n) => n.log !== null));
      if (victim && live().size > 1) {
        trace(`power loss of ${victim.id}`);
        victim.fs = victim.fs.crash(Math.floor(rand() * 2 ** 31));
        if (process.env.TRACE) console.log("  files after the power loss:", victim.fs.readdir("/data/t/0").map((f) => `${f}:${victim.fs.stat(`/data/t/0/${f}`)?.size}`).join(" "));
        victim.log = null;
        victim.rm = null;
        await controller();
      }
    } else if (r < 0.92) {
      const down = [...nodes.values()].filter((n) => n.log === null);
      if (down.length > 0) {
        const back = pick(down);
        await open(back.id);
        trace(`broker ${back.id} back`);
        await controller();
      }
    } else {
      await new Promise((resolve) => setTimeout(resolve, 0)); // let syncs and acks settle
    }
    await Promise.resolve();
  }

  // Everyone back; followers catch up until the ISR is whole and every replica is at the leader's end.
  for (const n of nodes.values()) if (n.log === null) await open(n.id);
  await controller();
  for (let round = 0; round < 500; round++) {
    for (const n of nodes.values()) await followerStep(n);
    clock.advance(10);
    nodes.get(state.leader)!.rm!.tick();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const leaderLog = nodes.get(state.leader)!.log!;
    if (state.isr.length === 3 && [...nodes.values()].every((n) => n.log!.durableEndOffset === leaderLog.durableEndOffset) && leaderLog.highWatermark === leaderLog.durableEndOffset) break;
  }
  const leaderLog = nodes.get(state.leader)!.log!;
  const hw = leaderLog.highWatermark;
  expect(state.isr.length).toBe(3);

  // Every acknowledged batch at its acknowledged offset, with its value.
  for (const a of acked) {
    const read = leaderLog.read(a.offset, 1);
    expect(read.chunks.length).toBeGreaterThan(0);
    const b = read.chunks[0]!;
    expect([be.int64(b, OFF_BASE_OFFSET), be.int64(b, 27) - 1_700_000_000_000]).toEqual([a.offset, a.value]);
  }
  // No two replicas disagree below the high watermark.
  const bytes = (log: PartitionLog) => {
    const parts: Uint8Array[] = [];
    for (let offset = log.startOffset; offset < hw; ) {
      const read = log.read(offset, 1 << 20, true, hw);
      if (read.chunks.length === 0) break;
      for (const c of read.chunks) {
        parts.push(c.slice());
        for (let pos = 0; pos < c.length; pos += 12 + be.int32(c, pos + 8)) offset = be.int64(c, pos) + be.int32(c, pos + 23) + 1;
      }
    }
    return Buffer.concat(parts);
  };
  const reference = bytes(leaderLog);
  for (const n of nodes.values()) expect(Buffer.compare(bytes(n.log!), reference)).toBe(0);
  for (const n of nodes.values()) await n.log!.close();
  return { acked: acked.length, elections, truncations };
}

test("a simulated cluster with power losses of any broker: no acknowledged record lost, no two replicas disagree below the high watermark", async () => {
  const first = process.env.SEED !== undefined ? Number(process.env.SEED) : 1;
  const count = process.env.SEED !== undefined && process.env.CLUSTER_SIM_SEEDS === undefined ? 1 : Number(process.env.CLUSTER_SIM_SEEDS ?? 30);
  const totals = { acked: 0, elections: 0, truncations: 0 };
  for (let seed = first; seed < first + count; seed++) {
    try {
      const r = await simulate(seed, 400);
      totals.acked += r.acked;
      totals.elections += r.elections;
      totals.truncations += r.truncations;
    } catch (e) {
      throw new Error(`seed ${seed} failed; replay with SEED=${seed}: ${(e as Error).message}`);
    }
  }
  console.log(`${count} seeds: ${totals.acked} acknowledged batches, ${totals.elections} elections, ${totals.truncations} truncations`);
  expect(totals.elections).toBeGreaterThan(0);
  expect(totals.truncations).toBeGreaterThan(0);
}, 300_000);
