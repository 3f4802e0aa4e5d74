// Shapes shared by the log, its recovery and the topic registry: the per-log config, the logger
// seam and the structured recovery report.
import type { Clock } from "../clock.ts";
import type { FileLayer } from "../fs.ts";
import type { SyncScheduler } from "./durability.ts";
import type { TailCacheBudget } from "./tail-cache.ts";

export type TimestampType = "CreateTime" | "LogAppendTime";

/** What a partition log needs of its topic's configs (Kafka names in comments). */
export interface LogConfig {
  /** segment.bytes: roll when the active segment would grow past this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is this old. */
  segmentMs: number;
  /** retention.ms: delete sealed segments whose largest timestamp is older (-1: keep). */
  retentionMs: number;
  /** retention.bytes: delete oldest sealed segments while the log is larger (-1: no limit). */
  retentionBytes: number;
  /** message.timestamp.type: LogAppendTime makes append stamp each batch with the broker's time. */
  timestampType: TimestampType;
  /** cleanup.policy has delete: retention.ms and retention.bytes delete segments (default true). */
  deleteEnabled?: boolean;
  /** cleanup.policy has compact: the cleaner keeps the latest record per key (core/log/cleaner.ts). */
  compact?: boolean;
  /** delete.retention.ms: a tombstone or transaction marker stays this long after its first cleaning. */
  deleteRetentionMs?: number;
  /** min.cleanable.dirty.ratio: clean when the uncleaned share of the log's bytes reaches this. */
  minCleanableDirtyRatio?: number;
  /** min.compaction.lag.ms: records stay uncompacted at least this long (by their segment's largest timestamp). */
  minCompactionLagMs?: number;
  /** max.compaction.lag.ms: a record is cleaned at the latest this long after it was written, whatever the ratio. */
  maxCompactionLagMs?: number;
}

export const DEFAULT_LOG_CONFIG: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  timestampType: "CreateTime",
  deleteEnabled: true,
  compact: false,
  deleteRetentionMs: 24 * 3600 * 1000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Detail a person asks for (`serve --verbose`); a logger without it gets these lines as info. */
  debug?(message: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface LogDeps {
  fs: FileLayer;
  clock: Clock;
  durability: SyncScheduler;
  logger: Logger;
  /** The store found the clean-shutdown marker: only lost indexes need a scan. Default false. */
  clean?: boolean;
  /** The broker-wide budget of the logs' tail caches (tail-cache.ts); absent: no tail cache. */
  tailCache?: TailCacheBudget;
  /** Zeros kept written ahead of the active segment under fsync `always` (partition-log.ts, RUNWAY_BYTES); 0: none. */
  runwayBytes?: number;
  /** For messages and reports. */
  topic?: string;
  partition?: number;
}

/** One cut made by recovery: bytes that were not a valid continuation of the log. */
export interface RecoveryCut {
  topic?: string;
  partition?: number;
  /** The .log file cut. */
  file: string;
  /** Where the cut starts (the file's new size). */
  position: number;
  /** Bytes removed from this file plus the bytes of every later segment deleted. */
  bytesCut: number;
  /** The first offset no longer in the log (the log's new end offset). */
  firstOffsetLost: number;
  /** Best effort from the headers of what was cut; null when none was readable. */
  lastOffsetLost: number | null;
  /** Why the scan stopped, e.g. "CRC-32C mismatch". */
  reason: string;
  /** Later segments deleted whole. */
  segmentsDeleted: string[];
}

/**
 * A range of a segment holding no servable batch (bit rot, lost bytes) that is NOT the torn tail
 * of the log: kept on disk, reported, never served (reads there fail with STORAGE), never cut —
 * the valid batches after it stay readable. Found by recovery's scan or by a read's CRC check.
 */
export interface DamagedRange {
  topic?: string;
  partition?: number;
  file: string;
  /** Bytes [position, end) of the .log; end === position when the bytes are missing at its end. */
  position: number;
  end: number;
  /** Offsets [firstOffset, endOffset) that were stored there (empty when none were). */
  firstOffset: number;
  endOffset: number;
  reason: string;
}

export interface PartitionRecovery {
  dir: string;
  topic?: string;
  partition?: number;
  /** Segments whose batches were all checked (the active one after an unclean stop, lost indexes). */
  segmentsScanned: number;
  bytesScanned: number;
  /** Index files rebuilt (missing, corrupt, or the active segment's after an unclean stop). */
  indexesRebuilt: string[];
  cuts: RecoveryCut[];
  /** Damage in the middle of the log: kept and reported, reads there fail. */
  damaged: DamagedRange[];
  /** Cleaning passes cut short and completed (recovery.ts, row 10): the .log files swapped in. */
  cleanerSwapsCompleted?: string[];
  /** Cleaned segments never committed, deleted (recovery.ts, row 9). */
  cleanerFilesRemoved?: string[];
}
