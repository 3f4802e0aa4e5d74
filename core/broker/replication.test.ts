// ReplicaManager (issue #19): the leader's high watermark is the ISR's smallest durable end,
// acks=all waits answer once it passes them and fail when leadership moves, followers that fall
// behind are proposed out of the ISR and caught-up ones back in, and a proposal takes effect only
// when the store's next state says so. Real logs on the memory file layer; a fake store.
import { describe, expect, test } from "bun:test";
import * as be from "../bytes.ts";
import { OFF_BASE_OFFSET, OFF_LEADER_EPOCH } from "../batch/header.ts";
import { CoreError } from "../errors.ts";
import { buildBatch } from "../testing/batch-bytes.ts";
import { LAYERS, openLog } from "../testing/log-harness.ts";
import type { PartitionLog } from "../log/partition-log.ts";
import { type IsrProposer, type PartitionState, ReplicaManager } from "./replication.ts";

const memory = LAYERS.find(([name]) => name === "memory")![1];

class FakeStore implements IsrProposer {
  proposals: Array<{ basedOn: PartitionState; isr: readonly number[] }> = [];
  accept = true;
  async proposeIsr(basedOn: PartitionState, isr: readonly number[]): Promise<boolean> {
    this.proposals.push({ basedOn, isr });
    return this.accept;
  }
}

function state(over: Partial<PartitionState> = {}): PartitionState {
  return { topic: "t", partition: 0, replicas: [1, 2, 3], leader: 1, leaderEpoch: 1, isr: [1, 2, 3], version: 1, ...over };
}

async function leaderSetup(over: Partial<PartitionState> = {}) {
  const env = memory();
  const { log } = await openLog(env);
  let now = 1_000_000;
  const store = new FakeStore();
  const rm = new ReplicaManager(1, store, { replicaLagMaxMs: 10_000 }, () => now);
  await rm.apply(state(over), log);
  return { log, rm, store, advance: (ms: number) => (now += ms) };
}

async function appendRecords(log: PartitionLog, n: number): Promise<number> {
  const r = await log.append(buildBatch({ records: n }));
  return r.lastOffset + 1;
}

describe("ReplicaManager", () => {
  test("the leader's high watermark is the smallest durable end in the ISR, and acks=all answers at it", async () => {
    const { log, rm } = await leaderSetup();
    expect(log.leaderEpochs().at(-1)).toEqual([1, 0]);
    const end = await appendRecords(log, 5);
    expect(log.highWatermark).toBe(0);
    let acked = false;
    const ack = rm.waitReplicated("t", 0, end).then(() => (acked = true));
    rm.followerFetched("t", 0, 2, 5);
    await Promise.resolve();
    expect([log.highWatermark, acked]).toEqual([0, false]);
    rm.followerFetched("t", 0, 3, 3);
    expect(log.highWatermark).toBe(3);
    rm.followerFetched("t", 0, 3, 5);
    await ack;
    expect([log.highWatermark, acked]).toEqual([5, true]);
  });

  test("losing leadership fails the acks=all waits with NOT_LEADER", async () => {
    const { log, rm } = await leaderSetup();
    const end = await appendRecords(log, 2);
    const ack = rm.waitReplicated("t", 0, end);
    await rm.apply(state({ leader: 2, leaderEpoch: 2, isr: [2, 3], version: 2 }), log);
    const err = await ack.catch((e) => e);
    expect(err).toBeInstanceOf(CoreError);
    expect((err as CoreError).code).toBe("NOT_LEADER");
    expect(() => rm.checkLeader("t", 0)).toThrow(CoreError);
  });

  test("a follower that stops fetching is proposed out of the ISR after replica.lag.time.max.ms, and only the store's answer changes the ISR", async () => {
    const { log, rm, store, advance } = await leaderSetup();
    await appendRecords(log, 4);
    rm.followerFetched("t", 0, 2, 4);
    rm.followerFetched("t", 0, 3, 4);
    advance(6_000);
    rm.followerFetched("t", 0, 2, 4);
    rm.tick();
    expect(store.proposals).toEqual([]);
    advance(6_000);
    rm.tick();
    expect(store.proposals.map((p) => p.isr)).toEqual([[1, 2]]);
    expect(rm.state("t", 0)!.isr).toEqual([1, 2, 3]); // not until the store says so
    await rm.apply(state({ isr: [1, 2], version: 2 }), log);
    expect(rm.state("t", 0)!.isr).toEqual([1, 2]);
  });

  test("with a follower out of the ISR the high watermark moves without it; it is proposed back once caught up", async () => {
    const { log, rm, store } = await leaderSetup({ isr: [1, 2] });
    const end = await appendRecords(log, 3);
    rm.followerFetched("t", 0, 2, end);
    expect(log.highWatermark).toBe(end);
    rm.followerFetched("t", 0, 3, 1);
    expect(store.proposals).toEqual([]);
    rm.followerFetched("t", 0, 3, end);
    expect(store.proposals.map((p) => p.isr)).toEqual([[1, 2, 3]]);
  });

  test("a new leader records its epoch at its log end before serving, and checkLeader fences old epochs", async () => {
    const env = memory();
    const { log } = await openLog(env);
    const rm = new ReplicaManager(2, new FakeStore(), { replicaLagMaxMs: 10_000 });
    await rm.apply(state({ leader: 1, leaderEpoch: 3 }), log);
    const b = buildBatch({ records: 2 });
    be.setInt64(b, OFF_BASE_OFFSET, 0);
    be.setInt32(b, OFF_LEADER_EPOCH, 3);
    await log.appendReplica(b);
    await rm.apply(state({ leader: 2, leaderEpoch: 4, isr: [2, 3], version: 2 }), log);
    expect(log.leaderEpochs()).toEqual([
      [3, 0],
      [4, 2],
    ]);
    expect(rm.checkLeader("t", 0, 4).leaderEpoch).toBe(4);
    expect(() => rm.checkLeader("t", 0, 3)).toThrow("leader epoch 3, current 4");
  });
});
