// Noticing that nobody reads stdout any more while nothing is being written to it.
//
// `consume logs | head -1` on an idle topic: head exits after its line, but a process learns that
// its pipe's reader is gone only when it next writes (EPIPE), and an idle topic gives it nothing
// to write, so the consumer waited for the next record, forever (issue #22). Writing zero bytes
// does not tell (Linux's pipe_write returns 0 before it looks for readers), and neither Bun nor
// Node report a pipe's reader going away on a writable stream. poll(2) does: the write end of a
// pipe whose readers are all gone polls POLLERR, a socket whose peer closed polls POLLHUP. So a
// timer asks poll(2), with a zero timeout, every WATCH_INTERVAL_MS, through bun:ffi.
//
// Only pipes and sockets are watched (a file or a terminal never loses its reader this way). When
// libc cannot be opened (not glibc or macOS), nothing is watched and the old behaviour stays: the
// next write notices.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { fstatSync } from "node:fs";

/** How often stdout is looked at: a closed pipe ends the command within about this long. */
const WATCH_INTERVAL_MS = 250;
const POLLERR = 0x8;
const POLLHUP = 0x10;

type PollFn = (fds: Uint8Array, nfds: bigint, timeoutMs: number) => number;

let poll: PollFn | null | undefined;

function loadPoll(): PollFn | null {
  if (poll !== undefined) return poll;
  poll = null;
  const names = process.platform === "darwin" ? ["libSystem.B.dylib"] : process.platform === "linux" ? ["libc.so.6"] : [];
  for (const name of names) {
    try {
      // Opened on first use, so a command that never watches stdout never loads libc.
      const lib = dlopen(name, { poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 } });
      poll = (fds, nfds, timeoutMs) => lib.symbols.poll(ptr(fds), nfds, timeoutMs) as number;
      break;
    } catch {
      // no such library here: leave poll null
    }
  }
  return poll;
}

/** True when `stream` is the process's stdout and that is a pipe or a socket (another program reads it). */
export function isPiped(stream: unknown): boolean {
  const fd = (stream as { fd?: unknown }).fd;
  if (stream !== process.stdout || typeof fd !== "number") return false;
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

/**
 * Calls `onClosed` once the reader of `fd` (a pipe or socket) is gone. Returns a function that stops
 * watching. The timer is unref'd: it never keeps the process alive by itself.
 */
export function watchReaderGone(fd: number, onClosed: () => void): () => void {
  let kind: { isFIFO(): boolean; isSocket(): boolean };
  try {
    kind = fstatSync(fd);
  } catch {
    return () => {};
  }
  if (!kind.isFIFO() && !kind.isSocket()) return () => {};
  const p = loadPoll();
  if (p === null) return () => {};
  // struct pollfd { int fd; short events; short revents; }: events 0, POLLERR/POLLHUP always report.
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  const timer = setInterval(() => {
    view.setInt16(6, 0, true);
    const n = p(pfd, 1n, 0);
    if (n > 0 && (view.getInt16(6, true) & (POLLERR | POLLHUP)) !== 0) {
      clearInterval(timer);
      onClosed();
    }
  }, WATCH_INTERVAL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
