// Watching a key or a prefix over the gateway's streaming POST /v3/watch, across dropped
// connections, without missing or repeating an event.
//
// The request is one WatchRequest, `{"create_request":{"key","range_end","start_revision",
// "prev_kv","progress_notify"}}`; the answer never ends by itself: one JSON object a line, each
// `{"result": WatchResponse}` (or `{"error": …}`):
//
//   {"result":{"header":{"revision":"8"},"created":true}}                   the watch exists; the store was at 8
//   {"result":{"header":{…},"events":[{"kv":{…}},{"type":"DELETE","kv":{…}}]}}  events, a revision at a time
//   {"result":{"header":{…},"canceled":true,"compact_revision":"9"}}         start_revision was compacted away
//   {"result":{"header":{"revision":"12"}}}                                 progress: nothing missed up to 12
//
// (a PUT's type and watch_id 0 are absent, as every zero value). After a compaction cancel etcd
// keeps the HTTP stream open: we close it.
//
// Resuming. `nextRevision` is the first revision not yet delivered: the start revision asked for;
// else, once created, the store's revision then + 1; after events, the last event's mod_revision
// + 1 (etcd sends a revision's events in one response, so none is split); after a progress
// notification, its revision + 1 (etcd notifies only watchers that have caught up). A dropped
// stream reconnects with start_revision = nextRevision, on the next endpoint, after a backoff. If
// that revision has been compacted meanwhile the watch ends with `compacted`: the caller must
// re-read with range (which tells it the revision R it read at) and watch again from R + 1.
//
// A stream can also go silent without breaking (a member frozen or cut off with the TCP
// connection half open). `idleTimeoutMs` reconnects a stream that said nothing for that long;
// pair it with `progressNotify` so that a quiet but healthy etcd still speaks (etcd 3.4 notifies
// every 10 minutes unless started with --experimental-watch-progress-notify-interval).
import { WATCH_BACKOFF_MS_MAX, WATCH_BACKOFF_MS_MIN } from "./etcd-limits.ts";
import { EtcdError, type EtcdTransport, grpcError } from "./etcd-transport.ts";
import { type Bytes, decodeKeyValue, headerRevision, int, type KeyValue, prefixEnd, toBase64 } from "./etcd-wire.ts";

export interface WatchEvent {
  type: "put" | "delete";
  /** A delete's kv holds the key and the delete's revision (mod_revision) only. */
  kv: KeyValue;
  /** The key before this event, with `prevKv: true`. */
  prevKv: KeyValue | null;
}

export interface WatchOptions {
  prefix?: boolean;
  rangeEnd?: Bytes;
  /** First revision to deliver (default: changes after the watch is created). */
  startRevision?: number;
  prevKv?: boolean;
  progressNotify?: boolean;
  /** Reconnect (resuming) after this long without a message; 0 (default): never. */
  idleTimeoutMs?: number;
  /** Bound on the wait for each connection's answer (default the client's timeout). */
  timeoutMs?: number;
  /** The watch ended because its next revision was compacted: re-read with range, watch again. */
  onCompacted?: (compactRevision: number) => void;
  /** A stream dropped (the watch reconnects on its own); for logs and tests. */
  onError?: (err: EtcdError) => void;
}

/** Called with each response's events in revision order; the next response waits for it. */
export type WatchHandler = (events: WatchEvent[], revision: number) => void | Promise<void>;

export type WatchEnd = { reason: "cancelled" } | { reason: "compacted"; compactRevision: number } | { reason: "failed"; error: unknown };

class HandlerFailed {
  constructor(readonly error: unknown) {}
}

export class Watch {
  /** The store's revision when the watch was first created (never settles if cancelled before). */
  readonly created: Promise<number>;
  /** How the watch ended: cancel(), a compacted start revision, or the handler threw. */
  readonly done: Promise<WatchEnd>;
  /** Connection attempts after the first (each a resume from `nextRevision`). */
  reconnects = 0;
  private next: number | undefined;
  private readonly controller = new AbortController();
  private resolveCreated!: (revision: number) => void;
  private resolveDone!: (end: WatchEnd) => void;
  private wasCreated = false;

  constructor(
    private readonly transport: EtcdTransport,
    private readonly key: Bytes,
    private readonly o: WatchOptions,
    private readonly onEvents: WatchHandler,
  ) {
    this.next = o.startRevision;
    this.created = new Promise((resolve) => (this.resolveCreated = resolve));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    void this.run();
  }

  /** The first revision not yet delivered (undefined until the watch is created without a start). */
  get nextRevision(): number | undefined {
    return this.next;
  }

  cancel(): void {
    this.controller.abort(new EtcdError("ABORTED", "watch cancelled", null));
  }

  private request(): Record<string, unknown> {
    const o = this.o;
    const rangeEnd = o.rangeEnd !== undefined ? toBase64(o.rangeEnd) : o.prefix ? toBase64(prefixEnd(this.key)) : undefined;
    return {
      create_request: {
        key: toBase64(this.key),
        range_end: rangeEnd,
        start_revision: this.next !== undefined ? String(this.next) : undefined,
        prev_kv: o.prevKv || undefined,
        progress_notify: o.progressNotify || undefined,
      },
    };
  }

  private async run(): Promise<void> {
    let backoffMs = WATCH_BACKOFF_MS_MIN;
    let opened = 0;
    while (!this.controller.signal.aborted) {
      const stream = new AbortController();
      const signal = AbortSignal.any([this.controller.signal, stream.signal]);
      let idle: ReturnType<typeof setTimeout> | undefined;
      const touch = () => {
        clearTimeout(idle);
        if (this.o.idleTimeoutMs) idle = setTimeout(() => stream.abort(new EtcdError("TIMEOUT", `watch silent for ${this.o.idleTimeoutMs} ms`, null)), this.o.idleTimeoutMs);
      };
      try {
        if (opened++ > 0) this.reconnects++;
        const { endpoint, messages } = await this.transport.stream("/v3/watch", this.request(), { timeoutMs: this.o.timeoutMs, signal });
        touch();
        for await (const m of messages) {
          touch();
          const end = await this.handle(m, endpoint);
          if (end === "created") backoffMs = WATCH_BACKOFF_MS_MIN;
          else if (end) return this.finish(end);
        }
        throw new EtcdError("UNAVAILABLE", "/v3/watch: stream closed by the server", endpoint);
      } catch (err) {
        if (err instanceof HandlerFailed) return this.finish({ reason: "failed", error: err.error });
        if (this.controller.signal.aborted) break;
        const reason = stream.signal.aborted ? stream.signal.reason : err;
        this.o.onError?.(reason instanceof EtcdError ? reason : new EtcdError("UNAVAILABLE", `/v3/watch: ${(reason as Error)?.message ?? reason}`, null, { cause: reason }));
        await this.sleep(backoffMs);
        backoffMs = Math.min(WATCH_BACKOFF_MS_MAX, backoffMs * 2);
      } finally {
        clearTimeout(idle);
        stream.abort();
      }
    }
    this.finish({ reason: "cancelled" });
  }

  /** One message of the stream: "created", an end, or null to read on. Throws to reconnect. */
  private async handle(m: Record<string, unknown>, endpoint: string): Promise<WatchEnd | "created" | null> {
    if (m.error) throw grpcError(m.error as Record<string, unknown>, endpoint, "/v3/watch", false);
    const r = m.result as Record<string, unknown> | undefined;
    if (!r) throw new EtcdError("BAD_RESPONSE", `/v3/watch: neither result nor error: ${JSON.stringify(m).slice(0, 200)}`, endpoint);
    const compactRevision = int(r.compact_revision, "compact_revision");
    if (r.canceled) {
      if (compactRevision > 0) return { reason: "compacted", compactRevision };
      throw new EtcdError("SERVER", `/v3/watch: cancelled by etcd: ${String(r.cancel_reason ?? "no reason given")}`, endpoint);
    }
    const revision = headerRevision(r);
    if (r.created) {
      if (this.next === undefined) this.next = revision + 1;
      if (!this.wasCreated) {
        this.wasCreated = true;
        this.resolveCreated(revision);
      }
      return "created";
    }
    const events = Array.isArray(r.events) ? r.events.map(decodeEvent) : [];
    if (events.length === 0) {
      if (revision > 0 && (this.next === undefined || revision + 1 > this.next)) this.next = revision + 1; // progress notification
      return null;
    }
    this.next = events[events.length - 1]!.kv.modRevision + 1;
    try {
      await this.onEvents(events, revision);
    } catch (err) {
      throw new HandlerFailed(err);
    }
    return null;
  }

  private finish(end: WatchEnd): void {
    this.controller.abort(new EtcdError("ABORTED", `watch ended: ${end.reason}`, null));
    try {
      if (end.reason === "compacted") this.o.onCompacted?.(end.compactRevision);
    } finally {
      this.resolveDone(end);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.controller.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

function decodeEvent(j: unknown): WatchEvent {
  const e = j as Record<string, unknown>;
  return {
    type: e.type === "DELETE" ? "delete" : "put",
    kv: decodeKeyValue((e.kv ?? {}) as Record<string, unknown>),
    prevKv: e.prev_kv ? decodeKeyValue(e.prev_kv as Record<string, unknown>) : null,
  };
}
