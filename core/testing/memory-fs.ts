// The simulated disk: a `FileLayer` (core/fs.ts) in memory that remembers what was synced and can
// lose the rest (`crash`) or fail a write (`injectFault`, `setCapacity`) on demand, so the log,
// recovery and registry tests run once against it and once against the real disk. A test double:
// production code never imports it (test/no-testing-imports.test.ts checks).
//
// What survives `crash(seed)`, per object:
//
// | object                         | synced by                   | after a crash                            |
// |--------------------------------|-----------------------------|------------------------------------------|
// | file bytes below the synced    | fdatasync(file)             | kept (as last written)                   |
// |   size                         |                             |                                          |
// | file bytes past the synced     | —                           | a seeded prefix kept, the rest dropped;  |
// |   size (the unsynced tail)     |                             |   sometimes part of the kept tail zeroed |
// | a shrink (truncate) not synced | fdatasync(file)             | may be undone (old bytes come back)      |
// | directory entries (create,     | fsyncDir(dir)               | journal order: a seeded prefix of the    |
// |   rename, unlink, mkdir)       |   commits every earlier op  |   unsynced ops survives, the rest undone |
//
// Directory operations form one ordered journal, as on ext4: syncing a directory commits every
// operation before its last one, in any directory.
import type { FileHandle, FileLayer, FileStat } from "../fs.ts";
import { seededRandom } from "./seed.ts";

class MemFile {
  readonly kind = "file";
  data = new Uint8Array(0);
  size = 0;
  durable = new Uint8Array(0);
  /** Syncs started and the latest one whose snapshot is `durable` (an older sync that finishes later keeps the newer). */
  syncsStarted = 0;
  durableSync = 0;
}

class MemDir {
  readonly kind = "dir";
  readonly children = new Map<string, MemNode>();
}

type MemNode = MemFile | MemDir;

interface DirOp {
  dir: MemDir;
  name: string;
  before: MemNode | undefined;
}

export interface FaultSpec {
  op: "pwrite" | "fdatasync" | "fsyncDir" | "open" | "rename" | "truncate" | "unlink";
  code: "ENOSPC" | "EIO";
  /** Only paths containing this. */
  pathIncludes?: string;
  /** How many calls fail (default 1). */
  times?: number;
}

function fsError(code: string, op: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${op} '${path}'`), { code });
}

/** The platters: shared by every MemoryFileLayer "process" that mounts it. */
export class MemoryDisk {
  readonly root = new MemDir();
  journal: DirOp[] = [];
  capacityBytes: number | null = null;
  faults: FaultSpec[] = [];
  syncCount = 0;
  /**
   * Turns of the event loop each fdatasync/fsyncDir takes (default 1). A seeded function lets a
   * test make syncs finish out of the order they were started in, as on a real disk.
   */
  syncTurns: (() => number) | null = null;
  /** Offer FileLayer.fdatasyncSync (a sync on the caller's thread, taking no turn): the logs then
   * sync small writes that way, as on the real disk layer. Off by default. */
  syncOnLoop = false;

  usedBytes(node: MemNode = this.root): number {
    if (node.kind === "file") return node.size;
    let n = 0;
    for (const child of node.children.values()) n += this.usedBytes(child);
    return n;
  }

  crash(seed: number): void {
    const rand = seededRandom(seed);
    const keep = rand(this.journal.length + 1);
    for (let i = this.journal.length - 1; i >= keep; i--) {
      const op = this.journal[i]!;
      if (op.before === undefined) op.dir.children.delete(op.name);
      else op.dir.children.set(op.name, op.before);
    }
    this.journal = [];
    const files = new Set<MemFile>();
    const walk = (dir: MemDir): void => {
      for (const child of dir.children.values()) {
        if (child.kind === "file") files.add(child);
        else walk(child);
      }
    };
    walk(this.root);
    for (const f of files) crashFile(f, rand);
  }
}

function crashFile(f: MemFile, rand: (n: number) => number): void {
  const durableSize = f.durable.length;
  const lo = Math.min(durableSize, f.size);
  const hi = Math.max(durableSize, f.size);
  const cut = lo + rand(hi - lo + 1);
  const out = new Uint8Array(cut);
  out.set(f.data.subarray(0, Math.min(cut, f.size)));
  if (cut > f.size) out.set(f.durable.subarray(f.size, cut), f.size);
  // The size reached the disk but some data blocks did not: zeros.
  if (cut > durableSize && rand(4) === 0) out.fill(0, durableSize + rand(cut - durableSize), cut);
  f.data = out;
  f.size = cut;
  f.durable = out.slice();
}

interface MemHandle extends FileHandle {
  file: MemFile;
  layer: MemoryFileLayer;
  closed: boolean;
}

export class MemoryFileLayer implements FileLayer {
  private dead = false;
  constructor(readonly disk: MemoryDisk = new MemoryDisk()) {}

  /**
   * Power loss: every unsynced byte and directory change may be lost (seeded). This layer dies
   * with the "process" (every later call throws EIO, in-flight syncs never complete); mount the
   * returned one to "reboot".
   */
  crash(seed: number): MemoryFileLayer {
    this.dead = true;
    this.disk.crash(seed);
    return new MemoryFileLayer(this.disk);
  }

  /** Fail the next matching call(s) with ENOSPC or EIO. */
  injectFault(fault: FaultSpec): void {
    this.disk.faults.push({ times: 1, ...fault });
  }

  /** Total bytes the disk holds; a pwrite past it writes what fits, then throws ENOSPC. */
  setCapacity(bytes: number | null): void {
    this.disk.capacityBytes = bytes;
  }

  /** Bytes of a file as they would be after a crash that keeps nothing unsynced (for tests). */
  durableBytes(path: string): Uint8Array | null {
    const node = this.lookup(path);
    return node?.kind === "file" ? node.durable.slice() : null;
  }

  private async syncTime(): Promise<void> {
    const turns = this.disk.syncTurns?.() ?? 1;
    for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private check(op: FaultSpec["op"] | "other", path: string): void {
    if (this.dead) throw fsError("EIO", op, path);
    const i = this.disk.faults.findIndex((f) => f.op === op && (f.pathIncludes === undefined || path.includes(f.pathIncludes)));
    if (i < 0) return;
    const fault = this.disk.faults[i]!;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.disk.faults.splice(i, 1);
    throw fsError(fault.code, op, path);
  }

  private parts(path: string): string[] {
    return path.split("/").filter((p) => p !== "" && p !== ".");
  }

  private lookup(path: string): MemNode | undefined {
    let node: MemNode = this.disk.root;
    for (const name of this.parts(path)) {
      if (node.kind !== "dir") return undefined;
      const next: MemNode | undefined = node.children.get(name);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  private parentOf(path: string): { dir: MemDir; name: string } {
    const parts = this.parts(path);
    const name = parts.pop();
    const dir = this.lookup(parts.join("/"));
    if (name === undefined || dir === undefined) throw fsError("ENOENT", "lookup", path);
    if (dir.kind !== "dir") throw fsError("ENOTDIR", "lookup", path);
    return { dir, name };
  }

  private setEntry(dir: MemDir, name: string, node: MemNode | undefined): void {
    this.disk.journal.push({ dir, name, before: dir.children.get(name) });
    if (node === undefined) dir.children.delete(name);
    else dir.children.set(name, node);
  }

  private handle(file: FileHandle): MemHandle {
    const h = file as MemHandle;
    if (this.dead || h.layer !== this || h.closed) throw fsError(this.dead ? "EIO" : "EBADF", "use", file.path);
    return h;
  }

  open(path: string, options: { create?: boolean; truncate?: boolean } = {}): FileHandle {
    this.check("open", path);
    let node = this.lookup(path);
    if (node === undefined) {
      if (!options.create && !options.truncate) throw fsError("ENOENT", "open", path);
      const { dir, name } = this.parentOf(path);
      node = new MemFile();
      this.setEntry(dir, name, node);
    }
    if (node.kind !== "file") throw fsError("EISDIR", "open", path);
    if (options.truncate) {
      node.size = 0;
    }
    const handle: MemHandle = { path, file: node, layer: this, closed: false };
    return handle;
  }
  close(file: FileHandle): void {
    this.handle(file).closed = true;
  }
  pwrite(file: FileHandle, data: Uint8Array, position: number): void {
    const h = this.handle(file);
    this.check("pwrite", file.path);
    const f = h.file;
    let length = data.length;
    let full = true;
    const capacity = this.disk.capacityBytes;
    if (capacity !== null) {
      const growth = Math.max(0, position + length - f.size);
      const free = capacity - this.disk.usedBytes();
      if (growth > free) {
        length = Math.max(0, length - (growth - Math.max(0, free)));
        full = false;
      }
    }
    const end = position + length;
    if (end > f.data.length) {
      const grown = new Uint8Array(Math.max(end, f.data.length * 2, 4096));
      grown.set(f.data.subarray(0, f.size));
      f.data = grown;
    }
    if (position > f.size) f.data.fill(0, f.size, position);
    f.data.set(data.subarray(0, length), position);
    f.size = Math.max(f.size, end);
    if (!full) throw fsError("ENOSPC", "pwrite", file.path);
  }
  pread(file: FileHandle, into: Uint8Array, position: number): number {
    const f = this.handle(file).file;
    const n = Math.max(0, Math.min(into.length, f.size - position));
    into.set(f.data.subarray(position, position + n));
    return n;
  }
  size(file: FileHandle): number {
    return this.handle(file).file.size;
  }
  truncate(file: FileHandle, size: number): void {
    const f = this.handle(file).file;
    this.check("truncate", file.path);
    if (size > f.size) {
      const grown = new Uint8Array(size);
      grown.set(f.data.subarray(0, f.size));
      f.data = grown;
    }
    f.size = size;
  }
  /** Present while the disk's syncOnLoop is set (see there). */
  get fdatasyncSync(): ((file: FileHandle) => void) | undefined {
    return this.disk.syncOnLoop ? this.syncNow : undefined;
  }
  private readonly syncNow = (file: FileHandle): void => {
    const f = this.handle(file).file;
    this.check("fdatasync", file.path);
    const sync = ++f.syncsStarted;
    if (sync > f.durableSync) {
      f.durable = f.data.slice(0, f.size);
      f.durableSync = sync;
    }
    this.disk.syncCount++;
  };
  async fdatasync(file: FileHandle): Promise<void> {
    const f = this.handle(file).file;
    this.check("fdatasync", file.path);
    const snapshot = f.data.slice(0, f.size);
    const sync = ++f.syncsStarted;
    // A sync takes time: later writes queue behind it (group commit is observable).
    await this.syncTime();
    if (this.dead) return new Promise<void>(() => {}); // the machine is off: never completes
    if (sync > f.durableSync) {
      f.durable = snapshot;
      f.durableSync = sync;
    }
    this.disk.syncCount++;
  }
  async fsyncDir(path: string): Promise<void> {
    this.check("fsyncDir", path);
    const dir = this.lookup(path);
    if (dir === undefined) throw fsError("ENOENT", "fsyncDir", path);
    if (dir.kind !== "dir") throw fsError("ENOTDIR", "fsyncDir", path);
    await this.syncTime();
    if (this.dead) return new Promise<void>(() => {});
    // Commit the journal up to the last op that touched this directory (ordered journal).
    let last = -1;
    this.disk.journal.forEach((op, i) => {
      if (op.dir === dir) last = i;
    });
    this.disk.journal.splice(0, last + 1);
  }
  rename(from: string, to: string): void {
    this.check("rename", from);
    const src = this.parentOf(from);
    const node = src.dir.children.get(src.name);
    if (node === undefined) throw fsError("ENOENT", "rename", from);
    const dst = this.parentOf(to);
    if (dst.dir.children.get(dst.name)?.kind === "dir" && node.kind === "dir") {
      const target = dst.dir.children.get(dst.name) as MemDir;
      if (target.children.size > 0) throw fsError("ENOTEMPTY", "rename", to);
    }
    this.setEntry(dst.dir, dst.name, node);
    this.setEntry(src.dir, src.name, undefined);
  }
  unlink(path: string): void {
    this.check("unlink", path);
    const { dir, name } = this.parentOf(path);
    const node = dir.children.get(name);
    if (node === undefined) throw fsError("ENOENT", "unlink", path);
    if (node.kind === "dir") throw fsError("EISDIR", "unlink", path);
    this.setEntry(dir, name, undefined);
  }
  readdir(path: string): string[] {
    if (this.dead) throw fsError("EIO", "readdir", path);
    const dir = this.lookup(path);
    if (dir === undefined) throw fsError("ENOENT", "readdir", path);
    if (dir.kind !== "dir") throw fsError("ENOTDIR", "readdir", path);
    return [...dir.children.keys()].sort();
  }
  mkdirp(path: string): void {
    if (this.dead) throw fsError("EIO", "mkdir", path);
    let node: MemDir = this.disk.root;
    for (const name of this.parts(path)) {
      const next = node.children.get(name);
      if (next === undefined) {
        const dir = new MemDir();
        this.setEntry(node, name, dir);
        node = dir;
      } else if (next.kind === "dir") {
        node = next;
      } else {
        throw fsError("ENOTDIR", "mkdir", path);
      }
    }
  }
  stat(path: string): FileStat | null {
    if (this.dead) throw fsError("EIO", "stat", path);
    const node = this.lookup(path);
    if (node === undefined) return null;
    return { size: node.kind === "file" ? node.size : 0, isDirectory: node.kind === "dir" };
  }
  rmrf(path: string): void {
    if (this.dead) throw fsError("EIO", "rm", path);
    if (this.lookup(path) === undefined) return;
    const { dir, name } = this.parentOf(path);
    this.setEntry(dir, name, undefined);
  }
  map(path: string): Uint8Array {
    if (this.dead) throw fsError("EIO", "map", path);
    const node = this.lookup(path);
    if (node === undefined) throw fsError("ENOENT", "map", path);
    if (node.kind !== "file") throw fsError("EISDIR", "map", path);
    return node.data.subarray(0, node.size);
  }
  readFile(path: string): Uint8Array {
    const node = this.lookup(path);
    if (this.dead) throw fsError("EIO", "readFile", path);
    if (node === undefined) throw fsError("ENOENT", "readFile", path);
    if (node.kind !== "file") throw fsError("EISDIR", "readFile", path);
    return node.data.slice(0, node.size);
  }
}
