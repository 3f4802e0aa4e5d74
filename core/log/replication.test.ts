// The log's replication primitives (issue #19): leader epochs stamped and recorded, a follower's
// append of the leader's batches as they are, the high watermark moved by the replication layer,
// OffsetForLeaderEpoch answers, and truncation of a diverged suffix — on both file layers, and
// across a reopen.
import { describe, expect, test } from "bun:test";
import * as be from "../bytes.ts";
import { OFF_BASE_OFFSET, OFF_LEADER_EPOCH } from "../batch/header.ts";
import { buildBatch } from "../testing/batch-bytes.ts";
import { LAYERS, openLog } from "../testing/log-harness.ts";
import type { PartitionLog } from "./partition-log.ts";

/** Every batch of the log from `from` below `limit`: [baseOffset, leader epoch]. */
function batches(log: PartitionLog, from = log.startOffset, limit = log.durableEndOffset): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let offset = from;
  while (offset < limit) {
    const read = log.read(offset, 1 << 20, limit);
    if (read.chunks.length === 0) break;
    for (const c of read.chunks) {
      for (let pos = 0; pos < c.length; ) {
        out.push([be.int64(c, pos + OFF_BASE_OFFSET), be.int32(c, pos + OFF_LEADER_EPOCH)]);
        offset = be.int64(c, pos + OFF_BASE_OFFSET) + be.int32(c, pos + 23) + 1;
        pos += 12 + be.int32(c, pos + 8);
      }
    }
  }
  return out;
}

/** A batch as a leader would send it: at `baseOffset`, under `epoch`. */
function leaderBatch(baseOffset: number, epoch: number, records = 2): Uint8Array {
  const b = buildBatch({ records });
  be.setInt64(b, OFF_BASE_OFFSET, baseOffset);
  be.setInt32(b, OFF_LEADER_EPOCH, epoch);
  return b;
}

describe.each(LAYERS)("replication primitives (%s)", (_, makeEnv) => {
  test("a log without epochs is epoch 0 from its start; beginEpoch stamps later batches and survives a reopen", async () => {
    const env = makeEnv();
    try {
      let { log } = await openLog(env);
      await log.append(buildBatch({ records: 3 }));
      expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 3 });
      await log.beginEpoch(4);
      await log.append(buildBatch({ records: 2 }));
      expect(batches(log)).toEqual([
        [0, 0],
        [3, 4],
      ]);
      expect(log.leaderEpochs()).toEqual([
        [0, 0],
        [4, 3],
      ]);
      expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 5 });
      expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 0, endOffset: 3 });
      expect(log.endOffsetForEpoch(-1)).toEqual({ epoch: -1, endOffset: -1 });
      await log.close();
      ({ log } = await openLog(env));
      expect(log.leaderEpoch).toBe(4);
      expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 5 });
      await log.close();
    } finally {
      env.cleanup();
    }
  });

  test("a follower appends the leader's batches as they are, recording each new epoch where it starts", async () => {
    const env = makeEnv();
    try {
      const { log } = await openLog(env);
      await log.appendReplica(leaderBatch(0, 1));
      await log.appendReplica(leaderBatch(2, 1));
      await log.appendReplica(leaderBatch(4, 3));
      expect(batches(log)).toEqual([
        [0, 1],
        [2, 1],
        [4, 3],
      ]);
      expect(log.leaderEpochs()).toEqual([
        [1, 0],
        [3, 4],
      ]);
      expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 4 });
      expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 4 });
      await expect(log.appendReplica(leaderBatch(9, 3))).rejects.toThrow("does not continue the log");
      await log.close();
    } finally {
      env.cleanup();
    }
  });

  test("with an external high watermark, syncs do not expose data; the replication layer does, never past the durable end", async () => {
    const env = makeEnv();
    try {
      const { log } = await openLog(env);
      log.useExternalHighWatermark();
      await log.append(buildBatch({ records: 5 }));
      expect(log.durableEndOffset).toBe(5);
      expect(log.highWatermark).toBe(0);
      expect(log.read(0, 1 << 20).chunks).toHaveLength(0); // consumers see nothing yet
      expect(log.read(0, 1 << 20, log.durableEndOffset).bytes).toBeGreaterThan(0); // a follower does
      log.advanceHighWatermark(99);
      expect(log.highWatermark).toBe(5);
      await log.close();
    } finally {
      env.cleanup();
    }
  });

  test("truncateTo cuts the suffix at a batch boundary and drops the epochs that began in it, durably", async () => {
    const env = makeEnv();
    try {
      let { log } = await openLog(env, { config: { segmentBytes: 300 } });
      for (let i = 0; i < 6; i++) await log.appendReplica(leaderBatch(i * 2, i < 3 ? 1 : 2, 2));
      expect(log.segmentInfos().length).toBeGreaterThan(1);
      await log.truncateTo(4);
      expect(log.endOffset).toBe(4);
      expect(batches(log).map(([o]) => o)).toEqual([0, 2]);
      expect(log.leaderEpochs()).toEqual([[1, 0]]);
      await log.appendReplica(leaderBatch(4, 5));
      expect(batches(log)).toEqual([
        [0, 1],
        [2, 1],
        [4, 5],
      ]);
      await log.close();
      ({ log } = await openLog(env, { config: { segmentBytes: 300 } }));
      expect(log.endOffset).toBe(6);
      expect(log.leaderEpochs()).toEqual([
        [1, 0],
        [5, 4],
      ]);
      await log.close();
    } finally {
      env.cleanup();
    }
  });

  test("truncating into a sealed segment rewrites it while an earlier read of it stays valid", async () => {
    const env = makeEnv();
    try {
      const { log } = await openLog(env, { config: { segmentBytes: 200 } });
      for (let i = 0; i < 8; i++) await log.appendReplica(leaderBatch(i * 2, 1, 2));
      const sealed = log.segmentInfos().filter((s) => s.sealed);
      expect(sealed.length).toBeGreaterThan(1);
      const target = sealed[0]!;
      const before = log.read(target.baseOffset, 1 << 20);
      const copy = before.chunks.map((c) => c.slice());
      await log.truncateTo(target.baseOffset + 2);
      expect(log.endOffset).toBe(target.baseOffset + 2);
      expect(before.chunks.map((c) => c.slice())).toEqual(copy);
      log.useExternalHighWatermark();
      await log.appendReplica(leaderBatch(target.baseOffset + 2, 2));
      expect(batches(log).at(-1)).toEqual([target.baseOffset + 2, 2]);
      await log.close();
    } finally {
      env.cleanup();
    }
  });
});
