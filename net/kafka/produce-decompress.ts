// A Produce request's compressed batches, decompressed ahead of their appends within the request's
// decompression budget and the event loop's time (core/batch/decompress-ahead.ts). Null when there
// is nothing to wait for (no compressed batch, or all inflated in this call: the common case);
// otherwise the handler tells its connection to dispatch nothing more until the promise settles
// (RequestContext.holdDispatch), so that appends still happen in arrival order, then awaits it.
import { DecompressionBudget, prepareDecompression } from "../../core/batch/decompress-ahead.ts";
import { ATTR_CODEC_MASK, BATCH_HEADER_BYTES, OFF_ATTRIBUTES } from "../../core/batch/header.ts";
import type { ProduceRequest } from "../protocol/messages/index.ts";

export function decompressAhead(req: ProduceRequest): Promise<void> | null {
  let compressed: Uint8Array[] | null = null;
  for (const t of req.topicData) {
    for (const p of t.partitionData) {
      const r = p.records;
      if (r !== null && r.length > BATCH_HEADER_BYTES && (r[OFF_ATTRIBUTES + 1]! & ATTR_CODEC_MASK) !== 0) (compressed ??= []).push(r);
    }
  }
  return compressed === null ? null : prepareDecompression(compressed, new DecompressionBudget());
}
