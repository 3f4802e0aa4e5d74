// One broker per data dir. Two brokers on one dir each run recovery over the other's live files
// and each writes its own clean-shutdown marker: acknowledged records are lost. So the broker
// holds an exclusive flock(2) on `DATA/.lock` for as long as it runs. The kernel drops the lock
// when the process ends however it ends (kill -9, power loss), so a stale lock cannot keep a
// broker from starting, and the file itself is never removed (unlinking a lock file races with
// the next broker taking it). The holder writes its pid into the file so that a refused broker
// can say who holds the dir.
import { dlopen, FFIType, read } from "bun:ffi";
import * as nodeFs from "node:fs";
import { CoreError } from "./errors.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

interface Libc {
  flock(fd: number, op: number): number;
  errno(): number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  const name = process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6";
  const lib = dlopen(name, {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    [process.platform === "darwin" ? "__error" : "__errno_location"]: { args: [], returns: FFIType.ptr },
  });
  const errnoLocation = (lib.symbols as Record<string, () => number | null>)[process.platform === "darwin" ? "__error" : "__errno_location"]!;
  libc = {
    flock: (fd, op) => lib.symbols.flock(fd, op) as number,
    errno: () => {
      const p = errnoLocation();
      return p === null ? 0 : read.i32(p as never, 0);
    },
  };
  return libc;
}

export const LOCK_FILE = ".lock";

export class DataDirLock {
  private constructor(
    readonly dir: string,
    private fd: number | null,
  ) {}

  /**
   * Takes the data dir (creating it if missing) or throws CoreError("DATA_DIR_LOCKED") naming the
   * process that holds it. Never waits.
   */
  static acquire(dir: string): DataDirLock {
    nodeFs.mkdirSync(dir, { recursive: true });
    const path = `${dir}/${LOCK_FILE}`;
    const fd = nodeFs.openSync(path, nodeFs.constants.O_RDWR | nodeFs.constants.O_CREAT, 0o644);
    const c = loadLibc();
    if (c.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      const errno = c.errno();
      const holder = readHolder(fd);
      nodeFs.closeSync(fd);
      if (errno === EWOULDBLOCK || errno === 35 /* EWOULDBLOCK on macOS */) {
        const who = holder === null ? "another process" : `another streamctl (pid ${holder})`;
        throw new CoreError("DATA_DIR_LOCKED", `data dir ${dir} is in use by ${who}; stop it first or choose another --data-dir`);
      }
      throw new CoreError("STORAGE", `cannot lock data dir ${dir}: flock failed (errno ${errno})`);
    }
    nodeFs.ftruncateSync(fd, 0);
    nodeFs.writeSync(fd, `${process.pid}\n`, 0);
    return new DataDirLock(dir, fd);
  }

  /** Gives the dir up (closing the file drops the flock). Idempotent. */
  release(): void {
    if (this.fd === null) return;
    nodeFs.closeSync(this.fd);
    this.fd = null;
  }
}

function readHolder(fd: number): number | null {
  const buf = Buffer.alloc(32);
  const n = nodeFs.readSync(fd, buf, 0, buf.length, 0);
  const pid = Number(buf.subarray(0, n).toString("utf8").trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}
