// GET /v1/topics/{name}/stream[?partition=N][&from=end|beginning|OFFSET] — Server-Sent Events.
//
//   event: ready   data: {"topic","partitions":[{"partition","offset"}]}   once, when subscribed
//   (unnamed)      id: <partition>:<offset>  data: <envelope>            one per record
//   : keep-alive                                                         every SSE_HEARTBEAT_MS
//   event: end     data: {"reason"}                                      topic deleted / broker stopping
//
// Records are unnamed events so a browser's EventSource.onmessage gets them. `from` defaults to
// `end` (only new records); OFFSET applies to every partition streamed and is clamped to each
// partition's [start, high watermark]. The stream sleeps until a partition's high watermark rises
// (Broker.waitForData): no polling. Backpressure: the next read happens only when the
// client has taken the previous chunk (ReadableStream pull).
import { partitionOf } from "../../core/broker/broker.ts";
import { CoreError } from "../../core/errors.ts";
import type { PartitionLog } from "../../core/log/partition-log.ts";
import { badRequest } from "./errors.ts";
import { READ_BYTES_STEP, SSE_HEARTBEAT_MS } from "./limits.ts";
import { intParam, readRecords } from "./records.ts";
import type { Route, RouteContext } from "./router.ts";
import { onPathTopic, pathTopic } from "./topics.ts";

/** Records per pull: bounds one SSE chunk. */
const RECORDS_PER_PULL = 1000;

function startOffset(log: PartitionLog, from: string): number {
  if (from === "end") return log.highWatermark;
  if (from === "beginning") return log.startOffset;
  if (!/^\d+$/.test(from)) throw badRequest(`from must be end, beginning or an offset, got '${from}'`);
  return Math.min(Math.max(Number(from), log.startOffset), log.highWatermark);
}

function stream(ctx: RouteContext): Response {
  const { broker } = ctx;
  const topic = pathTopic(ctx);
  const only = intParam(ctx.url, "partition", undefined);
  const indexes = only === undefined ? topic.partitions.map((_, i) => i) : [only];
  const from = ctx.url.searchParams.get("from") ?? "end";
  const cursors = indexes.map((p) => {
    const log = partitionOf(topic, p);
    return { partition: p, log, offset: startOffset(log, from) };
  });
  const logs = cursors.map((c) => c.log);
  ctx.server.timeout(ctx.req, 0); // a stream is idle by nature; heartbeats keep it honest
  const encoder = new TextEncoder();
  // Ends the wait for data when the client goes or the topic is deleted (by any door); the
  // broker's own shutdown ends it too (waitForData listens to it).
  const ending = new AbortController();
  let topicDeleted = false;
  const onAbort = () => ending.abort();
  ctx.req.signal.addEventListener("abort", onAbort);
  const unsubscribe = broker.onTopicDeleted((name) => {
    if (name !== topic.name) return;
    topicDeleted = true;
    ending.abort();
  });
  const cleanup = () => {
    unsubscribe();
    ctx.req.signal.removeEventListener("abort", onAbort);
    ending.abort();
  };
  /** Why the stream ends, or null while it goes on. */
  const endReason = (): string | null => {
    if (topicDeleted || broker.topic(topic.name) !== topic) return "topic deleted";
    if (broker.shutdown.aborted) return "broker stopping";
    if (ending.signal.aborted) return "client gone";
    return null;
  };

  const readAvailable = (): string => {
    let out = "";
    let budget = RECORDS_PER_PULL;
    for (const c of cursors) {
      if (budget <= 0) break;
      if (c.offset < c.log.startOffset) c.offset = c.log.startOffset; // retention moved past us
      if (c.offset >= c.log.highWatermark) continue;
      const r = readRecords(broker, topic, c.partition, c.log, c.offset, budget, READ_BYTES_STEP);
      c.offset = r.nextOffset;
      budget -= r.envelopes.length;
      for (const e of r.envelopes) out += `id: ${e.partition}:${e.offset}\ndata: ${JSON.stringify(e)}\n\n`;
    }
    return out;
  };

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const ready = { topic: topic.name, partitions: cursors.map((c) => ({ partition: c.partition, offset: c.offset })) };
      controller.enqueue(encoder.encode(`: streamctl ${topic.name}\nretry: 2000\nevent: ready\ndata: ${JSON.stringify(ready)}\n\n`));
    },
    async pull(controller) {
      for (;;) {
        let ended = endReason();
        let text = "";
        if (ended === null) {
          try {
            text = readAvailable();
          } catch (err) {
            // The topic was deleted under us (its logs are closed), or the disk failed.
            ended = err instanceof CoreError && err.code === "CLOSED" ? "topic deleted" : `read failed: ${(err as Error).message}`;
          }
        }
        if (ended !== null) {
          if (ended !== "client gone") controller.enqueue(encoder.encode(`event: end\ndata: ${JSON.stringify({ reason: ended })}\n\n`));
          cleanup();
          controller.close();
          return;
        }
        if (text !== "") {
          controller.enqueue(encoder.encode(text));
          return;
        }
        if ((await broker.waitForData(logs, SSE_HEARTBEAT_MS, ending.signal)) === "timeout") {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
          return;
        }
      }
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" },
  });
}

export const streamRoutes: Route[] = [{ method: "GET", path: "/v1/topics/:name/stream", access: onPathTopic("READ"), handle: stream }];
