// Keeping an etcd lease alive, and saying when it may no longer be: the fencing contract.
//
// A lease is what makes a broker's registration, a controller's office or a partition leader's
// claim expire when its owner dies. The owner keeps it with keepalives; etcd ends it TTL seconds
// after the last keepalive it applied. The owner cannot know when that was, only when it *sent*
// the last keepalive that etcd acknowledged: etcd applied it at or after that moment, so the lease
// lives at least until
//
//     expiresAt = (send time of the last acknowledged keepalive, or of the grant) + TTL
//
// on the owner's monotonic clock (etcd only ever extends a lease on leader change). That is the
// one bound the keeper trusts. It sends a keepalive every TTL/3 and retries failures on the next
// endpoint; if no keepalive has been acknowledged by `expiresAt - margin`, or etcd says the lease
// is gone (TTL ≤ 0, or "lease not found"), the keeper is **lost**: its `signal` aborts with an
// EtcdError LEASE_LOST, `onLost` runs once, and keepalives stop for good. From then the owner must
// not act on what the lease guarded (answer as leader, write as controller): another broker may
// hold it soon. `alive` is the same check, synchronous, for use right before acting.
//
// Order of events in a keeper, written once: a keepalive's answer is applied (expiresAt moves,
// the deadline timer is re-armed) only if the keeper has not ended; the deadline timer and a
// "lease gone" answer both end it through lose(), which runs once; stop() ends it without a loss.
import { EtcdError, type EtcdTransport } from "./etcd-transport.ts";
import { int, type LeaseId } from "./etcd-wire.ts";
import { KEEPALIVE_PER_TTL, KEEPALIVE_RETRY_MS_MAX, LEASE_LOSS_MARGIN_FRACTION, LEASE_LOSS_MARGIN_MS_MIN } from "./etcd-limits.ts";

export interface Lease {
  id: LeaseId;
  /** The TTL etcd granted (it may differ from the one asked for). */
  ttlSeconds: number;
  /** performance.now() when the grant request was sent: the lease lives at least until this + TTL. */
  sentAtMs: number;
}

export interface KeepAliveOptions {
  /** Runs once when the lease is lost (not when the keeper is stopped). */
  onLost?: (err: EtcdError) => void;
  /** Each failed keepalive (the keeper retries until the deadline); for logs and metrics. */
  onKeepAliveError?: (err: unknown) => void;
  /** Aborting it stops the keeper, as stop() does. */
  signal?: AbortSignal;
  /** Tell the owner this long before the lease could expire (default a tenth of the TTL, ≥ 100 ms). */
  marginMs?: number;
  /** Timeout of one keepalive call (default the client's). */
  timeoutMs?: number;
}

const now = (): number => performance.now();

export class LeaseKeeper {
  readonly id: LeaseId;
  /** Resolves when the keeper ends: with the loss, or null when stopped. */
  readonly done: Promise<EtcdError | null>;
  private readonly controller = new AbortController();
  private resolveDone!: (e: EtcdError | null) => void;
  private ttlMs: number;
  private expiry: number;
  private marginMs: number;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly transport: EtcdTransport,
    lease: Lease | { id: LeaseId; ttlSeconds?: number; sentAtMs?: number },
    private readonly o: KeepAliveOptions = {},
  ) {
    this.id = lease.id;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.ttlMs = (lease.ttlSeconds ?? 0) * 1000;
    // Without the grant's send time nothing is known of the lease until a keepalive is answered.
    this.expiry = lease.sentAtMs !== undefined && lease.ttlSeconds ? lease.sentAtMs + this.ttlMs : -Infinity;
    this.marginMs = this.marginFor(this.ttlMs);
    if (o.signal?.aborted) {
      this.stop();
      return;
    }
    o.signal?.addEventListener("abort", () => this.stop(), { once: true });
    this.armDeadline();
    void this.run(Number.isFinite(this.expiry) ? lease.sentAtMs! + this.ttlMs / KEEPALIVE_PER_TTL : now());
  }

  /** Aborted when the lease is lost (reason: EtcdError LEASE_LOST) or the keeper is stopped. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The lease is sure to be live now, with the margin to spare: safe to act on it. */
  get alive(): boolean {
    return !this.ended && now() < this.expiry - this.marginMs;
  }

  /** performance.now() time until which the lease is sure to be live. */
  get expiresAtMs(): number {
    return this.expiry;
  }

  /** Stops keepalives (the lease then expires on its own, or revoke it). Not a loss: no onLost. */
  stop(): void {
    if (this.ended) return;
    this.end(new EtcdError("ABORTED", `lease ${this.id}: keeper stopped`, null));
    this.resolveDone(null);
  }

  private lose(why: string, endpoint: string | null, cause?: unknown): void {
    if (this.ended) return;
    const err = new EtcdError("LEASE_LOST", `lease ${this.id}: ${why}`, endpoint, { cause });
    this.end(err);
    try {
      this.o.onLost?.(err);
    } finally {
      this.resolveDone(err);
    }
  }

  private end(reason: EtcdError): void {
    this.ended = true;
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.wakeTimer);
    this.controller.abort(reason);
    this.wake?.();
  }

  private marginFor(ttlMs: number): number {
    return this.o.marginMs ?? Math.max(LEASE_LOSS_MARGIN_MS_MIN, ttlMs * LEASE_LOSS_MARGIN_FRACTION);
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const known = Number.isFinite(this.expiry);
    const delay = known ? this.expiry - this.marginMs - now() : (this.o.timeoutMs ?? this.transport.timeoutMs);
    this.deadlineTimer = setTimeout(() => {
      const why = known
        ? `no keepalive acknowledged in time: the lease may expire within ${this.marginMs.toFixed(0)} ms`
        : "the first keepalive was not acknowledged";
      this.lose(why, this.transport.endpoint);
    }, Math.max(0, delay));
  }

  private sleepUntil(t: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.wakeTimer = setTimeout(resolve, Math.max(0, t - now()));
    });
  }

  private async run(firstAt: number): Promise<void> {
    let next = firstAt;
    while (!this.ended) {
      await this.sleepUntil(next);
      if (this.ended) return;
      const sentAt = now();
      try {
        const remaining = Number.isFinite(this.expiry) ? this.expiry - this.marginMs - sentAt : Infinity;
        const timeoutMs = Math.max(1, Math.min(this.o.timeoutMs ?? this.transport.timeoutMs, remaining));
        const result = await this.transport.call("/v3/lease/keepalive", { ID: this.id }, { streamed: true, retrySafe: true, timeoutMs, signal: this.controller.signal });
        if (this.ended) return;
        const ttl = int(result.TTL, "TTL");
        if (ttl <= 0) return this.lose("etcd says the lease is gone (expired or revoked)", this.transport.endpoint);
        this.ttlMs = ttl * 1000;
        this.marginMs = this.marginFor(this.ttlMs);
        this.expiry = Math.max(this.expiry, sentAt + this.ttlMs);
        this.armDeadline();
        next = sentAt + this.ttlMs / KEEPALIVE_PER_TTL;
      } catch (err) {
        if (this.ended) return;
        if (err instanceof EtcdError && err.code === "LEASE_NOT_FOUND") return this.lose("etcd says the lease is gone", err.endpoint, err);
        this.o.onKeepAliveError?.(err);
        // Anything else: try again soon (the transport already moved to the next endpoint).
        next = now() + Math.min(KEEPALIVE_RETRY_MS_MAX, Math.max(10, this.ttlMs / 10));
      }
    }
  }
}
