// The disk behind a seam. The log, the recovery code and the topic registry touch files only
// through `FileLayer`, so the same tests run against the real disk (`NodeFileLayer`) and against
// `MemoryFileLayer` (core/testing/memory-fs.ts), which remembers what was synced and can lose the
// rest (`crash`) or fail a write (`injectFault`, `setCapacity`) on demand.
//
// Calls are synchronous except the two that wait for the device (`fdatasync`, `fsyncDir`): a
// pwrite lands in the page cache in microseconds, a sync takes milliseconds and must not stall the
// event loop. Failures are thrown as errors carrying an errno-style `code` (ENOENT, ENOSPC, EIO…);
// callers turn them into CoreError("STORAGE") with context.
import * as nodeFs from "node:fs";

export interface FileHandle {
  readonly path: string;
}

export interface FileStat {
  size: number;
  isDirectory: boolean;
}

export interface FileLayer {
  /** Opens a file read-write; `create` makes it if missing, `truncate` empties it. */
  open(path: string, options?: { create?: boolean; truncate?: boolean }): FileHandle;
  close(file: FileHandle): void;
  /** Writes all of `data` at `position` or throws (some bytes may have landed). */
  pwrite(file: FileHandle, data: Uint8Array, position: number): void;
  /** Reads up to `into.length` bytes at `position`; returns how many (fewer only at end of file). */
  pread(file: FileHandle, into: Uint8Array, position: number): number;
  size(file: FileHandle): number;
  truncate(file: FileHandle, size: number): void;
  /** Makes the file's data (and its size) durable. */
  fdatasync(file: FileHandle): Promise<void>;
  /**
   * `fdatasync` with a callback instead of a promise (optional): `done(null)` once durable, else
   * `done(error)`, always later, never during the call. The log's sync per ack passes the same
   * function every time, so a sync makes no promise or closure (issue #23).
   */
  fdatasyncThen?(file: FileHandle, done: (error: Error | null) => void): void;
  /**
   * fdatasync on the calling thread, blocking it until the data is on disk (throws on failure).
   * For small syncs, where two thread hops cost more than the sync (PartitionLog.startSync).
   */
  fdatasyncSync?(file: FileHandle): void;
  /** Makes a directory's entries (creates, renames, unlinks inside it) durable. */
  fsyncDir(path: string): Promise<void>;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  readdir(path: string): string[];
  mkdirp(path: string): void;
  stat(path: string): FileStat | null;
  /** Removes a file or a directory tree; missing is fine. */
  rmrf(path: string): void;
  /** Read-only view of a whole file without copying (an mmap on disk). Never truncate a mapped file. */
  map(path: string): Uint8Array;
  readFile(path: string): Uint8Array;
}

/** The errno-style code of an error thrown by a FileLayer, if any. */
export function fsErrorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}

export function joinPath(...parts: string[]): string {
  return parts.join("/").replace(/\/+/g, "/");
}

/**
 * Metadata files: write to `<path>.tmp`, fdatasync, rename over `path`, fsync the directory. A
 * crash at any step leaves either the old file or the new one, never a mix.
 */
export async function writeFileAtomic(fs: FileLayer, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  // A leftover temp may be a second name of `path` itself (a crash in the middle of the rename
  // below: POSIX allows it, MemoryFileLayer does it); truncating it would truncate `path`.
  if (fs.stat(tmp) !== null) fs.unlink(tmp);
  const file = fs.open(tmp, { create: true, truncate: true });
  try {
    fs.pwrite(file, data, 0);
    await fs.fdatasync(file);
  } finally {
    fs.close(file);
  }
  fs.rename(tmp, path);
  await fs.fsyncDir(dirname(path));
}

// ---------------------------------------------------------------------------------------------
// The real disk.

interface NodeHandle extends FileHandle {
  fd: number;
}

export class NodeFileLayer implements FileLayer {
  open(path: string, options: { create?: boolean; truncate?: boolean } = {}): FileHandle {
    const flags = options.truncate ? "w+" : options.create ? nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT : "r+";
    const handle: NodeHandle = { path, fd: nodeFs.openSync(path, flags, 0o644) };
    return handle;
  }
  close(file: FileHandle): void {
    nodeFs.closeSync((file as NodeHandle).fd);
  }
  pwrite(file: FileHandle, data: Uint8Array, position: number): void {
    const fd = (file as NodeHandle).fd;
    let done = 0;
    while (done < data.length) {
      done += nodeFs.writeSync(fd, data, done, data.length - done, position + done);
    }
  }
  pread(file: FileHandle, into: Uint8Array, position: number): number {
    const fd = (file as NodeHandle).fd;
    let done = 0;
    while (done < into.length) {
      const n = nodeFs.readSync(fd, into, done, into.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
  size(file: FileHandle): number {
    return nodeFs.fstatSync((file as NodeHandle).fd).size;
  }
  truncate(file: FileHandle, size: number): void {
    nodeFs.ftruncateSync((file as NodeHandle).fd, size);
  }
  fdatasync(file: FileHandle): Promise<void> {
    const fd = (file as NodeHandle).fd;
    return new Promise((resolve, reject) => nodeFs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }
  fdatasyncThen(file: FileHandle, done: (error: Error | null) => void): void {
    nodeFs.fdatasync((file as NodeHandle).fd, done);
  }
  fdatasyncSync(file: FileHandle): void {
    nodeFs.fdatasyncSync((file as NodeHandle).fd);
  }
  async fsyncDir(path: string): Promise<void> {
    const dir = await nodeFs.promises.open(path, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
  rename(from: string, to: string): void {
    nodeFs.renameSync(from, to);
  }
  unlink(path: string): void {
    nodeFs.unlinkSync(path);
  }
  readdir(path: string): string[] {
    return nodeFs.readdirSync(path);
  }
  mkdirp(path: string): void {
    nodeFs.mkdirSync(path, { recursive: true });
  }
  stat(path: string): FileStat | null {
    try {
      const s = nodeFs.statSync(path);
      return { size: s.size, isDirectory: s.isDirectory() };
    } catch (e) {
      if (fsErrorCode(e) === "ENOENT") return null;
      throw e;
    }
  }
  rmrf(path: string): void {
    nodeFs.rmSync(path, { recursive: true, force: true });
  }
  map(path: string): Uint8Array {
    // Bun.mmap refuses empty files (EINVAL).
    if (nodeFs.statSync(path).size === 0) return new Uint8Array(0);
    return Bun.mmap(path, { shared: false });
  }
  readFile(path: string): Uint8Array {
    return new Uint8Array(nodeFs.readFileSync(path));
  }
}
