// A worker thread that inflates gzip and zstd (core/batch/inflate-threads.ts starts it). Its
// output is made here, every page of it touched on this thread, and handed to the main thread by
// transfer, without a copy: node:zlib's asynchronous calls, which the broker used before, held
// the main thread ~140 ms for a batch of 44 MiB of records (their output assembled there).
//
// Message in: { id, codec (1 gzip, 4 zstd), data: Uint8Array (transferred), max (bytes) }.
// Message out: { id, out: ArrayBuffer, offset, length } or { id, error, tooLarge }.
import * as zlib from "node:zlib";

declare const self: Worker;

self.onmessage = (e: MessageEvent) => {
  const { id, codec, data, max } = e.data as { id: number; codec: number; data: Uint8Array; max: number };
  try {
    const out = codec === 1 ? zlib.gunzipSync(data, { maxOutputLength: max }) : zlib.zstdDecompressSync(data, { maxOutputLength: max });
    const buffer = out.buffer as ArrayBuffer;
    self.postMessage({ id, out: buffer, offset: out.byteOffset, length: out.byteLength }, [buffer]);
  } catch (err) {
    self.postMessage({ id, error: String((err as Error)?.message ?? err), tooLarge: (err as { code?: string })?.code === "ERR_BUFFER_TOO_LARGE" });
  }
};

self.postMessage("ready");
