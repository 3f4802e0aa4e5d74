// What every Kafka listener of one broker shares so that no client can starve the others (issue
// #18, "fair under abuse"): one memory budget for the requests in flight, and a count of open
// connections per client address.
//
// Request memory (serve --max-request-memory, Kafka's queued.max.request.bytes): a frame counts
// against the budget from the moment its length prefix is read until its answer has been handed to
// the socket (or the connection closes). A connection whose next frame does not fit reads nothing
// more (net/kafka/connection.ts pauses its socket) and waits here, first come first served among
// the waiters, until enough is given back; a frame that fits goes ahead of waiting larger ones (a
// 95 MiB frame waiting must not stop 1 KiB ones that fit beside it). A frame larger than the whole
// budget can never fit: the connection's frame cap is min(request cap, budget), so the splitter
// refuses it at its length and the connection closes, as Kafka closes one whose request is larger
// than its pool.
//
// Connections per address (serve --max-connections-per-ip, Kafka's max.connections.per.ip): one
// client address may hold at most this many connections at once across every listener; the next
// is closed at once and counted (streamctl_connections_refused_total).
import type { BrokerLog } from "../../core/broker/broker.ts";
import { MAX_CONNECTIONS_PER_IP_DEFAULT, REFUSAL_LOG_INTERVAL_MS, REQUEST_MEMORY_BYTES_DEFAULT } from "./limits.ts";

interface Waiter {
  bytes: number;
  granted: () => void;
}

export class RequestMemory {
  /** Bytes of frames being read, queued, handled or answered right now. */
  used = 0;
  /** The most `used` has been (figures, tests). */
  peak = 0;
  private waiters: Waiter[] = [];

  constructor(readonly maxBytes: number = REQUEST_MEMORY_BYTES_DEFAULT) {}

  /** Counts `bytes` against the budget if they fit now. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** Calls `granted` once `bytes` are reserved for the caller (bytes ≤ maxBytes). Returns a
   * function that withdraws the wait (the connection closed first). */
  waitFor(bytes: number, granted: () => void): () => void {
    const w: Waiter = { bytes, granted };
    this.waiters.push(w);
    return () => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
    };
  }

  get waiting(): number {
    return this.waiters.length;
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.waiters.length === 0) return;
    // In arrival order, every waiter that fits now.
    const still: Waiter[] = [];
    const granted: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.tryReserve(w.bytes)) granted.push(w);
      else still.push(w);
    }
    this.waiters = still;
    for (const w of granted) w.granted();
  }
}

/** Open connections by client address, across every listener of the broker. */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerAddress: number = MAX_CONNECTIONS_PER_IP_DEFAULT) {}

  /** Counts a new connection from `address`, or returns false if it already has its share. */
  tryOpen(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (n >= this.maxPerAddress) return false;
    this.open.set(address, n + 1);
    return true;
  }

  close(address: string): void {
    const n = this.open.get(address) ?? 0;
    if (n <= 1) this.open.delete(address);
    else this.open.set(address, n - 1);
  }

  count(address: string): number {
    return this.open.get(address) ?? 0;
  }
}

/** One warning line per REFUSAL_LOG_INTERVAL_MS per kind, saying how many were not logged: an
 * attacker opening 10,000 connections a second must not also fill the log. */
export class RefusalLog {
  private lastAt = new Map<string, number>();
  private quiet = new Map<string, number>();

  constructor(
    private readonly log: BrokerLog,
    private readonly now: () => number = Date.now,
  ) {}

  warn(kind: string, line: string): void {
    const at = this.now();
    const last = this.lastAt.get(kind);
    if (last !== undefined && at - last < REFUSAL_LOG_INTERVAL_MS) {
      this.quiet.set(kind, (this.quiet.get(kind) ?? 0) + 1);
      return;
    }
    const skipped = this.quiet.get(kind) ?? 0;
    this.lastAt.set(kind, at);
    this.quiet.set(kind, 0);
    this.log.warn(skipped > 0 ? `${line} (and ${skipped} more like it since the last such line)` : line);
  }
}

/** The shared state of one broker's Kafka listeners. */
export class Admission {
  readonly memory: RequestMemory;
  readonly addresses: ConnectionsPerAddress;
  readonly refusals: RefusalLog;

  constructor(log: BrokerLog, maxRequestMemory = REQUEST_MEMORY_BYTES_DEFAULT, maxConnectionsPerIp = MAX_CONNECTIONS_PER_IP_DEFAULT) {
    this.memory = new RequestMemory(maxRequestMemory);
    this.addresses = new ConnectionsPerAddress(maxConnectionsPerIp);
    this.refusals = new RefusalLog(log);
  }
}
