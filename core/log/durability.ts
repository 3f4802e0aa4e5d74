// The fsync policy and the one sync scheduler shared by every partition log of a broker.
//
// | policy        | append resolves                | high watermark (what readers see) |
// |---------------|--------------------------------|-----------------------------------|
// | always        | after the fdatasync covering it | end of synced data                |
// | interval=MS   | after the write (page cache)   | end offset                        |
// | never         | after the write (page cache)   | end offset                        |
//
// Group commit: an append writes at once and joins the next sync of its log's active segment.
// While that log's fdatasync is in flight, later appends wait for the one after, so any number
// of concurrent appends share a sync. The scheduler starts the syncs of every log that became
// dirty in the same turn of the event loop together (many partitions, one round of syncs, run
// in parallel by the thread pool). Under `interval`, a timer syncs every dirty log every MS.
//
// One sync per log at a time, as a pipeline: a sync covers the bytes written before it started;
// bytes written while it runs wait for the next one, which the log starts from the first one's
// completion (partition-log.ts `synced`), not a turn later. So an ack waits for at most one
// fdatasync that began after its write. Overlapping syncs of one file were tried and not kept: a
// C probe on this machine's ext4 (bench/what-we-changed.md, fourth pass) measured p99 12–14 ms
// with two or four in flight against 0.75–4.2 ms one at a time over the same overwritten blocks.
import { CoreError } from "../errors.ts";

export type FsyncPolicy = { mode: "always" } | { mode: "interval"; ms: number } | { mode: "never" };

export const DEFAULT_FSYNC_POLICY: FsyncPolicy = { mode: "always" };

/** Parses the CLI form: `always`, `interval=MS`, `never`. */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  const t = text.trim();
  if (t === "always") return { mode: "always" };
  if (t === "never") return { mode: "never" };
  const m = /^interval=(\d+)$/.exec(t);
  if (m) {
    const ms = Number(m[1]);
    if (ms >= 1 && Number.isSafeInteger(ms)) return { mode: "interval", ms };
  }
  throw new CoreError("INVALID_CONFIG", `fsync policy '${text}': expected always, interval=MS (MS ≥ 1) or never`);
}

export function formatFsyncPolicy(policy: FsyncPolicy): string {
  return policy.mode === "interval" ? `interval=${policy.ms}` : policy.mode;
}

/** What the scheduler drives: a log that can start one sync of what it has written. */
export interface Syncable {
  /** Starts a sync if there are waiters and none is in flight; `alone`: the only log of its round. */
  startSync(alone?: boolean): void;
  /** Background sync for `interval`: everything written so far. Never rejects. */
  syncInBackground(): void;
}

export class SyncScheduler {
  private readonly dirty = new Set<Syncable>();
  private scheduled = false;
  /** A round's logs, reused: a round per ack at a steady rate makes no array or closure. */
  private readonly round: Syncable[] = [];
  private readonly startRound = (): void => {
    this.scheduled = false;
    const logs = this.round;
    for (const l of this.dirty) logs.push(l);
    this.dirty.clear();
    const alone = logs.length === 1;
    for (const l of logs) l.startSync(alone);
    logs.length = 0;
  };
  private readonly logs = new Set<Syncable>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly policy: FsyncPolicy = DEFAULT_FSYNC_POLICY) {
    if (policy.mode === "interval") {
      this.timer = setInterval(() => {
        for (const log of this.logs) log.syncInBackground();
      }, policy.ms);
      this.timer.unref?.();
    }
  }

  /** Whether an append must wait for its sync (and readers for it too). */
  get syncsEachAppend(): boolean {
    return this.policy.mode === "always";
  }

  register(log: Syncable): void {
    this.logs.add(log);
  }

  unregister(log: Syncable): void {
    this.logs.delete(log);
    this.dirty.delete(log);
  }

  /** `log` has waiters: start its sync with every other log dirtied in this turn. */
  request(log: Syncable): void {
    this.dirty.add(log);
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: appends arriving in the same I/O callback batch join.
    setImmediate(this.startRound);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
