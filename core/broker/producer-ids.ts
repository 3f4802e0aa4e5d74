// Producer ids for InitProducerId (KIP-98), unique across restarts of the broker, clean or not:
// a retry after a restart must never meet another producer's state under its own id.
//
//   DATA/producer-ids    {"version":1,"nextBlockStart":N,"crc32c":"…"}   (core/checked-json.ts)
//
// Ids are handed out from a block of PRODUCER_ID_BLOCK reserved by writing the block's end to the
// file (write-temp + fsync + rename) before the first id of it is given, as Kafka's
// ProducerIdManager reserves blocks. A block starts at the larger of the end of every block
// reserved before (the file) and (seconds since the epoch) × 2^20 (the clock floor, today's ids
// before this file existed): the file keeps ids unique when the clock goes back, the clock floor
// when the file is lost or damaged (a damaged file is warned about and rewritten). Ids stay far
// below 2^53 (the clock floor reaches it in the year 2242).
//
// A broker of a cluster hands out id × 1024 + its node id (core/broker/broker.ts), so its own ids
// must stay below 2^53 / 1024: its clock floor is (seconds since the epoch) × 2^10 (`idsPerSecond`),
// and a file whose next block is past that range (written before this rule) counts as row 2.
//
// Reading the file (every input matches exactly one row):
//
// | # | DATA/producer-ids                          | first block starts at                  |
// |---|--------------------------------------------|----------------------------------------|
// | 1 | missing (a new data dir, or one from before) | the clock floor                      |
// | 2 | damaged (checksum, shape), warned          | the clock floor                        |
// | 3 | good: nextBlockStart N                     | max(N, the clock floor)                |
import type { Clock } from "../clock.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import { CoreError } from "../errors.ts";
import { type FileLayer, fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";
import { PRODUCER_ID_BLOCK } from "../limits.ts";
import type { Logger } from "../log/types.ts";

const FILE = "producer-ids";
const IDS_PER_SECOND = 2 ** 20;

export class ProducerIds {
  private next = 0;
  private blockEnd = 0;
  private reserving: Promise<void> | null = null;

  private constructor(
    private readonly fs: FileLayer,
    private readonly path: string,
    private readonly clock: Clock,
    /** The end of every block reserved before (rows 1–3). */
    private reservedEnd: number,
    private readonly idsPerSecond: number,
  ) {}

  /** `range`: the ids per second of the clock floor and the largest id allowed (a cluster's broker: see the header). */
  static open(fs: FileLayer, dataDir: string, clock: Clock, logger: Logger, range: { idsPerSecond: number; maxId: number } = { idsPerSecond: IDS_PER_SECOND, maxId: Number.MAX_SAFE_INTEGER }): ProducerIds {
    const path = joinPath(dataDir, FILE);
    let reservedEnd = 0;
    try {
      if (fs.stat(path) !== null) {
        const read = readCheckedJson(fs.readFile(path));
        const v = read.ok ? read.value : null;
        if (v !== null && hasExactKeys(v, ["version", "nextBlockStart"]) && v.version === 1 && Number.isSafeInteger(v.nextBlockStart) && (v.nextBlockStart as number) >= 0 && (v.nextBlockStart as number) <= range.maxId) {
          reservedEnd = v.nextBlockStart as number; // row 3
        } else {
          logger.warn(`${path} is damaged (${read.ok ? "wrong shape" : read.reason}): producer ids continue from the clock`); // row 2
        }
      }
    } catch (e) {
      logger.warn(`cannot read ${path} (${fsErrorCode(e) ?? String(e)}): producer ids continue from the clock`);
    }
    return new ProducerIds(fs, path, clock, reservedEnd, range.idsPerSecond);
  }

  /** A producer id never handed out before by this data dir; waits for a block's reservation now and then. */
  async nextId(): Promise<number> {
    while (this.next >= this.blockEnd) await this.reserve();
    return this.next++;
  }

  private reserve(): Promise<void> {
    this.reserving ??= this.reserveBlock().finally(() => {
      this.reserving = null;
    });
    return this.reserving;
  }

  private async reserveBlock(): Promise<void> {
    const start = Math.max(this.reservedEnd, Math.floor(this.clock.now() / 1000) * this.idsPerSecond);
    const end = start + PRODUCER_ID_BLOCK;
    try {
      await writeFileAtomic(this.fs, this.path, encodeCheckedJson({ version: 1, nextBlockStart: end }));
    } catch (e) {
      throw new CoreError("STORAGE", `cannot reserve producer ids: ${fsErrorCode(e) ?? String(e)}`, { file: this.path }, { cause: e });
    }
    this.reservedEnd = end;
    this.next = start;
    this.blockEnd = end;
  }
}
