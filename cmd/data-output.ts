// Output for the data commands: records are rendered into a large buffer and handed to stdout a
// buffer at a time (one write per ~256 KiB, not one per record). Backpressure: when stdout's
// write() says its buffer is full, `ready()` waits for 'drain', and the consume loop awaits
// `ready()` between fetch responses, so memory stays bounded by one response.
//
// A closed pipe (`consume | head -1`): the write fails with EPIPE (or the stream is destroyed);
// the sink marks itself closed, swallows the error, and the command stops quietly with exit 0 and
// nothing on stderr, as `cat` does. When nothing is being written (an idle topic), `watchReader`
// notices the reader going away all the same (stdout-watch.ts).
//
// `beforeWrite` runs before each hand-over to stdout: a progress line on a terminal stderr clears
// itself there, so records never land on the end of it.
import type { Writable } from "node:stream";
import { watchReaderGone } from "./stdout-watch.ts";

const BUFFER_BYTES = 256 * 1024;
const encoder = new TextEncoder();

export class OutputSink {
  private buf = new Uint8Array(BUFFER_BYTES);
  pos = 0;
  closed = false;
  private blocked: Promise<void> | null = null;
  private onClosed: (() => void)[] = [];
  private stopWatching: (() => void) | null = null;
  /** Called before bytes go to stdout. */
  beforeWrite: (() => void) | null = null;

  constructor(private readonly out: Writable) {
    out.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED" || err.code === "ECONNRESET") this.markClosed();
      else this.markClosed();
    });
    out.on("close", () => this.markClosed());
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.onClosed) f();
    this.onClosed = [];
  }

  /** Watches stdout's reader (when stdout is the process's pipe or socket); `onGone` runs once it
   * is gone, after the sink marks itself closed. */
  watchReader(onGone: () => void): void {
    const fd = (this.out as { fd?: unknown }).fd;
    if (typeof fd !== "number" || this.out !== process.stdout) return;
    this.stopWatching = watchReaderGone(fd, () => {
      this.markClosed();
      onGone();
    });
  }

  unwatch(): void {
    this.stopWatching?.();
    this.stopWatching = null;
  }

  /** Resolves when stdout closes (for commands that otherwise wait forever, like tail -f). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => this.onClosed.push(r));
  }

  /** Room for `n` more bytes in the buffer (flushing first if needed). */
  reserve(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = new Uint8Array(n);
    }
    return this.buf;
  }

  bytes(b: Uint8Array, start = 0, end = b.length): void {
    const n = end - start;
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.emit(b.slice(start, end));
        return;
      }
    }
    const buf = this.buf;
    if (n < 32) for (let i = 0; i < n; i++) buf[this.pos + i] = b[start + i]!;
    else buf.set(b.subarray(start, end), this.pos);
    this.pos += n;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.flush();
    this.buf[this.pos++] = c;
  }

  text(s: string): void {
    const max = s.length * 3;
    const buf = this.reserve(max);
    if (max > buf.length - this.pos) {
      this.emit(encoder.encode(s));
      return;
    }
    this.pos += encoder.encodeInto(s, buf.subarray(this.pos)).written;
  }

  /** Hands the buffered bytes to stdout. */
  flush(): void {
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(BUFFER_BYTES);
    this.pos = 0;
    this.emit(chunk);
  }

  private emit(chunk: Uint8Array): void {
    if (this.closed) return;
    this.beforeWrite?.();
    let ok: boolean;
    try {
      ok = this.out.write(chunk);
    } catch {
      this.markClosed();
      return;
    }
    if (!ok && this.blocked === null) {
      this.blocked = new Promise<void>((resolve) => {
        const done = () => {
          this.out.off("drain", done);
          this.blocked = null;
          resolve();
        };
        this.out.on("drain", done);
        this.onClosed.push(done);
      });
    }
  }

  /** Waits while stdout is applying backpressure. */
  async ready(): Promise<void> {
    while (this.blocked !== null && !this.closed) await this.blocked;
  }

  /** Flushes and waits until stdout has taken everything (or closed). */
  async end(): Promise<void> {
    this.flush();
    await this.ready();
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      // An empty write's callback runs once everything queued before it is flushed.
      try {
        this.out.write(new Uint8Array(0), () => resolve());
      } catch {
        resolve();
      }
      this.onClosed.push(resolve);
    });
  }
}
