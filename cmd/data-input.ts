// Input for `produce`: byte chunks from stdin or a file, cut into records at a delimiter (default
// "\n"). Records are handed out as views into the chunk (no copy), except one that straddles two
// chunks, which is joined. A final record without a trailing delimiter still counts; the empty
// piece after a final delimiter does not. Bytes are never decoded or altered (no CR stripping).
import { createReadStream, statSync } from "node:fs";
import type { Readable } from "node:stream";
import { UsageError } from "./io.ts";

/** Chunk size for files: large reads mean few awaits per GiB. */
const FILE_CHUNK_BYTES = 4 * 1024 * 1024;

export interface InputSource {
  chunks: AsyncIterable<Uint8Array>;
  /** Total bytes when known (a regular file), for the progress ETA. */
  totalBytes: number | null;
  /** Stops reading (SIGINT): the iteration ends after the current chunk. */
  stop(): void;
}

export function openInput(stdin: Readable, file: string | undefined): InputSource {
  let stream: Readable;
  let totalBytes: number | null = null;
  if (file !== undefined) {
    try {
      const st = statSync(file);
      if (st.isFile()) totalBytes = st.size;
    } catch (err) {
      throw new UsageError(`--file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
    }
    stream = createReadStream(file, { highWaterMark: FILE_CHUNK_BYTES });
  } else stream = stdin;
  let stopped = false;
  let onStop: (() => void) | null = null;
  const stopSignal = new Promise<null>((r) => (onStop = () => r(null)));
  async function* chunks(): AsyncIterable<Uint8Array> {
    const it = (stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    for (;;) {
      // Race each read against stop(): stdin from a terminal or an idle pipe may never deliver.
      const next = await Promise.race([it.next(), stopSignal]);
      if (next === null || next.done) break;
      const chunk = next.value;
      yield typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      if (stopped) break;
    }
  }
  return {
    chunks: chunks(),
    totalBytes,
    stop: () => {
      stopped = true;
      onStop?.();
      if (file !== undefined) stream.destroy();
      else stream.destroy();
    },
  };
}

export type OnRecord = (buf: Uint8Array, start: number, end: number) => void;

export class RecordSplitter {
  private carry: Uint8Array | null = null;
  private readonly single: number;

  constructor(private readonly delimiter: Uint8Array) {
    if (delimiter.length === 0) throw new UsageError("--delimiter: must not be empty");
    this.single = delimiter.length === 1 ? delimiter[0]! : -1;
  }

  private find(buf: Uint8Array, from: number): number {
    if (this.single >= 0) return buf.indexOf(this.single, from);
    return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).indexOf(this.delimiter, from);
  }

  push(chunk: Uint8Array, onRecord: OnRecord): void {
    let buf = chunk;
    let pos = 0;
    if (this.carry !== null) {
      // Join the carried partial record with the start of this chunk, up to its first delimiter
      // (for a multi-byte delimiter it may itself straddle the join).
      const joined = new Uint8Array(this.carry.length + chunk.length);
      joined.set(this.carry);
      joined.set(chunk, this.carry.length);
      const at = this.find(joined, Math.max(0, this.carry.length - this.delimiter.length + 1));
      if (at < 0) {
        this.carry = joined;
        return;
      }
      onRecord(joined, 0, at);
      const consumedOfChunk = at + this.delimiter.length - this.carry.length;
      this.carry = null;
      buf = chunk;
      pos = consumedOfChunk;
    }
    const d = this.delimiter.length;
    for (;;) {
      const at = this.find(buf, pos);
      if (at < 0) break;
      onRecord(buf, pos, at);
      pos = at + d;
    }
    if (pos < buf.length) this.carry = buf.slice(pos);
  }

  /** The last record, if the input did not end with a delimiter. */
  end(onRecord: OnRecord): void {
    if (this.carry !== null && this.carry.length > 0) onRecord(this.carry, 0, this.carry.length);
    this.carry = null;
  }
}
