// The cleaner's checkpoint of one partition (Kafka's cleaner-offset-checkpoint, per partition
// here), beside its segments:
//
//   DATA/topics/<topic>/<partition>/cleaner-checkpoint
//   {"version":1,"firstDirtyOffset":N,"gapsUpTo":M,"crc32c":"…"}
//
// firstDirtyOffset: where the last cleaning pass's offset map ended — records below it have been
//   compacted against every key seen up to it; the dirty ratio counts the bytes from here on.
// gapsUpTo: the log may skip offsets up to here. The cleaner drops records and whole batches, so
//   a cleaned segment has gaps between its batches and may end short of the next segment's base;
//   recovery and reads accept a batch that starts above the expected offset only when its base
//   (or the next segment's) is at most gapsUpTo, so damage to the contiguous part of the log is
//   still found (segment.ts, headerProblem; recovery.ts). A follower that copies a cleaned
//   leader's batches raises it too (partition-log.ts, appendReplica).
//
// Order (cleaner.ts): gapsUpTo is raised to the end of what a pass will rewrite and made durable
// BEFORE a cleaned segment is swapped in, firstDirtyOffset is raised after. A crash between leaves
// gapsUpTo above any gap on disk (harmless) and firstDirtyOffset low (the next pass cleans again).
// Written by write-temp + fsync + rename + fsync dir, checksummed (core/checked-json.ts).
//
// Reading (every input matches exactly one row):
//
// | # | file                               | result                                               |
// |---|------------------------------------|------------------------------------------------------|
// | 1 | missing                            | never cleaned: firstDirtyOffset 0, gapsUpTo -1; on a |
// |   |                                    |   compacted topic gapsUpTo UNKNOWN as in row 3 (the  |
// |   |                                    |   file may be lost with its gaps: a copied dir)      |
// | 2 | good                               | its values                                           |
// | 3 | unreadable, damaged or wrong shape | DAMAGED: warned; firstDirtyOffset 0 (the next pass   |
// |   |                                    |   cleans everything again) and gapsUpTo UNKNOWN:     |
// |   |                                    |   gaps are accepted in every sealed segment, none in |
// |   |                                    |   the last one (only sealed segments are cleaned)    |
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import type { FileLayer } from "../fs.ts";
import { fsErrorCode, joinPath, writeFileAtomic } from "../fs.ts";

export const CLEANER_CHECKPOINT_FILE = "cleaner-checkpoint";
/** gapsUpTo of a damaged checkpoint: gaps in every sealed segment, none in the last (row 3). */
export const GAPS_UNKNOWN = -2;

export interface CleanerCheckpoint {
  firstDirtyOffset: number;
  gapsUpTo: number;
}

const FIELDS = ["version", "firstDirtyOffset", "gapsUpTo"] as const;

export function readCleanerCheckpoint(fs: FileLayer, dir: string, warn: (line: string) => void): CleanerCheckpoint {
  const path = joinPath(dir, CLEANER_CHECKPOINT_FILE);
  let bytes: Uint8Array;
  try {
    if (fs.stat(path) === null) return { firstDirtyOffset: 0, gapsUpTo: -1 }; // row 1
    bytes = fs.readFile(path);
  } catch (e) {
    return damaged(path, `cannot read it: ${fsErrorCode(e) ?? String(e)}`, warn);
  }
  const read = readCheckedJson(bytes);
  if (!read.ok) return damaged(path, read.reason, warn);
  const v = read.value;
  const ok = hasExactKeys(v, FIELDS) && v.version === 1 && isOffset(v.firstDirtyOffset) && (isOffset(v.gapsUpTo) || v.gapsUpTo === -1);
  if (!ok) return damaged(path, "not a cleaner checkpoint", warn);
  return { firstDirtyOffset: v.firstDirtyOffset as number, gapsUpTo: v.gapsUpTo as number }; // row 2
}

function isOffset(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function damaged(path: string, reason: string, warn: (line: string) => void): CleanerCheckpoint {
  warn(`${path} is damaged (${reason}): the next cleaning pass cleans the whole log again; gaps are accepted in every sealed segment`);
  return { firstDirtyOffset: 0, gapsUpTo: GAPS_UNKNOWN };
}

export async function writeCleanerCheckpoint(fs: FileLayer, dir: string, checkpoint: CleanerCheckpoint): Promise<void> {
  const body = encodeCheckedJson({ version: 1, firstDirtyOffset: checkpoint.firstDirtyOffset, gapsUpTo: checkpoint.gapsUpTo });
  await writeFileAtomic(fs, joinPath(dir, CLEANER_CHECKPOINT_FILE), body);
}
