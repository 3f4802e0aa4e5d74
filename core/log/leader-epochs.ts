// Leader epochs of one partition (KIP-101, KIP-279): the first offset written under each leader
// epoch, so that a replica can learn where its log and the leader's part ways. Every batch carries
// the epoch of the leader that wrote it (partitionLeaderEpoch); this cache says where each epoch
// began. `leader-epochs` in the partition's dir, a checksummed JSON file (core/checked-json.ts)
// written by write-temp + fsync + rename:
//
//   {"version":1,"entries":[[epoch,startOffset],…],"crc32c":"…"}
//
// Epochs and start offsets both rise. An entry is made durable before the first batch of its epoch
// is written (a new leader's epoch at its log end, or a follower's first batch of a newer epoch),
// so no batch on disk has an epoch the cache lacks; an entry whose start is past the log end after
// a crash or a truncation is dropped. A log without the file (single node, or one written before
// clusters) behaves as if every batch were epoch 0 from its start.
//
// endOffsetFor answers OffsetForLeaderEpoch as Kafka's LeaderEpochFileCache does:
//
// | requested epoch R                          | answer (epoch, end offset)                          |
// |--------------------------------------------|-----------------------------------------------------|
// | -1 (undefined)                             | (-1, -1)                                            |
// | the latest epoch                           | (R, log end)                                        |
// | below the first epoch known                | (-1, -1): the follower falls back to its HW         |
// | otherwise                                  | (largest epoch ≤ R, start of the next epoch known)  |
import { assert } from "../assert.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import type { FileLayer } from "../fs.ts";
import { joinPath, writeFileAtomic } from "../fs.ts";

export const LEADER_EPOCHS_FILE = "leader-epochs";

export type EpochEntry = readonly [epoch: number, startOffset: number];

export class LeaderEpochs {
  private constructor(
    private readonly fs: FileLayer,
    private readonly path: string,
    private entries: EpochEntry[],
    /** The file was there: the cache is this log's, not the implied epoch 0. */
    private explicit: boolean,
  ) {}

  /** Reads the cache of the log in `dir` (a damaged file is reported and read as absent). */
  static load(fs: FileLayer, dir: string, warn: (line: string) => void): LeaderEpochs {
    const path = joinPath(dir, LEADER_EPOCHS_FILE);
    let entries: EpochEntry[] = [];
    let explicit = false;
    if (fs.stat(path) !== null) {
      const read = readCheckedJson(fs.readFile(path));
      const value = read.ok ? read.value : null;
      if (value !== null && hasExactKeys(value, ["version", "entries"]) && value.version === 1 && isEntryList(value.entries)) {
        entries = value.entries.map(([e, s]) => [e, s] as const);
        explicit = true;
      } else {
        warn(`${path} is damaged (${read.ok ? "unexpected shape" : read.reason}): leader epochs start over from this log's end`);
      }
    }
    return new LeaderEpochs(fs, path, entries, explicit);
  }

  /** The newest epoch (0 for a log that never had a cache). */
  get latest(): number {
    return this.entries.at(-1)?.[0] ?? 0;
  }

  get all(): readonly EpochEntry[] {
    return this.explicit ? this.entries : [[0, 0]];
  }

  /** Records that `epoch` starts at `startOffset`, durably; entries at or above it are replaced. */
  async assign(epoch: number, startOffset: number): Promise<void> {
    assert(epoch >= 0 && startOffset >= 0, "epochs and offsets are not negative");
    const last = this.entries.at(-1);
    if (last !== undefined && last[0] === epoch) return;
    assert(last === undefined || (epoch > last[0] && startOffset >= last[1]), "leader epochs and their start offsets only rise");
    // A log written before it had epochs holds epoch-0 batches up to here: say so first.
    const implied: EpochEntry[] = !this.explicit && epoch > 0 && startOffset > 0 ? [[0, 0]] : [];
    await this.persist([...implied, ...this.entries, [epoch, startOffset]]);
  }

  /** Drops entries whose epoch starts at or past `endOffset` (a truncation or a torn tail). */
  async truncateFromEnd(endOffset: number): Promise<void> {
    const kept = this.entries.filter(([, start]) => start < endOffset);
    if (kept.length !== this.entries.length) await this.persist(kept);
  }

  /** The epoch of the batch holding `offset` (-1 when below every known epoch). */
  epochAt(offset: number): number {
    if (!this.explicit) return 0;
    let epoch = -1;
    for (const [e, start] of this.entries) {
      if (start > offset) break;
      epoch = e;
    }
    return epoch;
  }

  endOffsetFor(requested: number, logEndOffset: number): { epoch: number; endOffset: number } {
    if (requested < 0) return { epoch: -1, endOffset: -1 };
    const entries = this.all;
    const latest = entries.at(-1)!;
    if (requested >= latest[0]) return { epoch: latest[0], endOffset: logEndOffset };
    let floor = -1;
    for (let i = 0; i < entries.length; i++) if (entries[i]![0] <= requested) floor = i;
    if (floor < 0) return { epoch: -1, endOffset: -1 };
    return { epoch: entries[floor]![0], endOffset: Math.min(entries[floor + 1]![1], logEndOffset) };
  }

  private async persist(entries: EpochEntry[]): Promise<void> {
    await writeFileAtomic(this.fs, this.path, encodeCheckedJson({ version: 1, entries: entries.map(([e, s]) => [e, s]) }));
    this.entries = entries;
    this.explicit = true;
  }
}

function isEntryList(v: unknown): v is Array<[number, number]> {
  if (!Array.isArray(v)) return false;
  let last: [number, number] | null = null;
  for (const e of v) {
    if (!Array.isArray(e) || e.length !== 2 || !e.every((n) => Number.isSafeInteger(n) && n >= 0)) return false;
    if (last !== null && (e[0] <= last[0] || e[1] < last[1])) return false;
    last = e as [number, number];
  }
  return true;
}
