// Test-only: the file layers every log test runs against, and a small opener.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "./manual-time.ts";
import { type FileLayer, NodeFileLayer } from "../fs.ts";
import { MemoryFileLayer } from "./memory-fs.ts";
import { type FsyncPolicy, SyncScheduler } from "../log/durability.ts";
import { PartitionLog } from "../log/partition-log.ts";
import type { TailCacheBudget } from "../log/tail-cache.ts";
import { DEFAULT_LOG_CONFIG, type LogConfig, type Logger } from "../log/types.ts";

export interface Env {
  fs: FileLayer;
  root: string;
  cleanup(): void;
}

export const LAYERS: Array<[string, () => Env]> = [
  ["memory", () => ({ fs: new MemoryFileLayer(), root: "/data", cleanup() {} })],
  [
    "disk",
    () => {
      const root = mkdtempSync(join(tmpdir(), "streamctl-log-"));
      return { fs: new NodeFileLayer(), root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
    },
  ],
];

export class MemoryLogger implements Logger {
  lines: string[] = [];
  info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
}

/** `fs` as it is, except that every call of a method named in `names` is reported to `seen` (after it ran). */
export function watchedFs(fs: FileLayer, names: Array<keyof FileLayer>, seen: (name: keyof FileLayer, args: unknown[], result: unknown) => void): FileLayer {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      if (!names.includes(prop as keyof FileLayer)) return v.bind(target);
      return (...args: unknown[]) => {
        const result = v.apply(target, args);
        seen(prop as keyof FileLayer, args, result);
        return result;
      };
    },
  });
}

export interface OpenOptions {
  config?: Partial<LogConfig>;
  policy?: FsyncPolicy;
  clean?: boolean;
  clock?: ManualClock;
  logger?: Logger;
  fs?: FileLayer;
  /** LogDeps.runwayBytes (default: the log's own). */
  runwayBytes?: number;
  /** LogDeps.tailCache (default: none, every read from the files). */
  tailCache?: TailCacheBudget;
  /** Another log's scheduler, to share its sync rounds (default: a new one, with `policy`). */
  scheduler?: SyncScheduler;
  /** The log's directory under env.root (default "t/0"). */
  dir?: string;
}

export async function openLog(env: Env, opts: OpenOptions = {}): Promise<{ log: PartitionLog; scheduler: SyncScheduler; clock: ManualClock }> {
  const clock = opts.clock ?? new ManualClock();
  const scheduler = opts.scheduler ?? new SyncScheduler(opts.policy ?? { mode: "always" });
  const log = await PartitionLog.open(`${env.root}/${opts.dir ?? "t/0"}`, { ...DEFAULT_LOG_CONFIG, ...opts.config }, {
    fs: opts.fs ?? env.fs,
    clock,
    durability: scheduler,
    logger: opts.logger ?? new MemoryLogger(),
    clean: opts.clean ?? false,
    runwayBytes: opts.runwayBytes,
    tailCache: opts.tailCache,
    topic: "t",
    partition: 0,
  });
  return { log, scheduler, clock };
}

/** SEED from the environment, else a fresh one; printed by callers on failure. */
export function testSeed(): number {
  const env = process.env.SEED;
  return env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}
