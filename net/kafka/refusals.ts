// Refusals: every request the Kafka door turns away before a handler sees it — an API or version
// it does not serve, a header or body that does not decode, a frame whose length is impossible, a
// request the SASL phase does not allow — and one cut off by closing the connection (a Produce with
// acks=0 that failed) leaves one line on stderr and counts in /metrics
// (streamctl_kafka_refusals_total{reason,api}), so that a client that "spins silently" is visible
// from the broker's side (issue #21):
//
//   streamctl: warning: refused Fetch v17 from 10.0.0.7 client_id=rdkafka: unsupported version
//   (this broker serves v0-16); connection closed
//
// Rate-limited per client address (not per client id, which a client writes as it likes: a fuzzer
// varying it would otherwise get a line per request): at most one line per REFUSAL_LOG_WINDOW_MS;
// the refusals held back meanwhile are counted in the next line (", and 41 more refusals from this
// client in the last 10 s"). At most REFUSAL_CLIENTS_MAX clients are remembered (the oldest go
// first), so a flood from many addresses costs bounded memory and at most that many lines per
// window. Refusals are counted in /metrics whether or not a line is written.
import type { Broker } from "../../core/broker/broker.ts";
import type { BrokerMetrics } from "../../core/broker/metrics.ts";
import { apiByKey } from "../protocol/messages/index.ts";

export const REFUSAL_LOG_WINDOW_MS = 10_000;
export const REFUSAL_CLIENTS_MAX = 4096;

export type RefusalReason =
  | "unsupported_api"
  | "unsupported_version"
  | "malformed_header"
  | "malformed_body"
  | "malformed_frame"
  | "not_allowed_in_sasl_phase"
  | "failed_without_answer";

const WHAT: Record<RefusalReason, string> = {
  unsupported_api: "unknown API",
  unsupported_version: "unsupported version",
  malformed_header: "the request header does not decode",
  malformed_body: "the request body does not decode",
  malformed_frame: "malformed frame",
  not_allowed_in_sasl_phase: "not allowed before SASL authentication completes",
  failed_without_answer: "it failed and has no answer to carry the error (acks=0), so Kafka's rule is to close the connection",
};

export interface Refusal {
  reason: RefusalReason;
  /** -1 when no header could be read. */
  apiKey: number;
  apiVersion: number;
  clientId: string | null;
  remoteAddress: string | undefined;
  /** What the client gets: an error answer, or the connection closed. */
  outcome: "answered" | "closed";
  /** More about it (the versions served, the frame's problem). */
  detail?: string;
}

interface ClientWindow {
  start: number;
  suppressed: number;
}

/** Where refusals go: the broker's counters and its log (a Broker is one). */
export interface RefusalSink {
  metrics: Pick<BrokerMetrics, "requestRefused">;
  log: { warn(line: string): void };
}

export class RefusalLog {
  private readonly clients = new Map<string, ClientWindow>();

  constructor(
    private readonly broker: RefusalSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** Clients with a window open (tests: the bound). */
  get remembered(): number {
    return this.clients.size;
  }

  refuse(r: Refusal): void {
    const api = r.apiKey >= 0 ? (apiByKey.get(r.apiKey)?.name ?? null) : null;
    this.broker.metrics.requestRefused(r.reason, api ?? "unknown");
    const key = r.remoteAddress ?? "?";
    const now = this.now();
    const w = this.clients.get(key);
    if (w !== undefined && now - w.start < REFUSAL_LOG_WINDOW_MS) {
      w.suppressed++;
      return;
    }
    const suppressed = w?.suppressed ?? 0;
    this.clients.delete(key); // re-inserted last: the map's order is oldest window first
    if (this.clients.size >= REFUSAL_CLIENTS_MAX) this.clients.delete(this.clients.keys().next().value!);
    this.clients.set(key, { start: now, suppressed: 0 });
    const what = r.apiKey < 0 ? "a request" : api !== null ? `${api} v${r.apiVersion}` : `API ${r.apiKey} v${r.apiVersion}`;
    const client = r.clientId === null ? "no client_id" : `client_id=${JSON.stringify(r.clientId)}`;
    const more = suppressed > 0 ? `, and ${suppressed} more refusal${suppressed === 1 ? "" : "s"} from this client in the last ${REFUSAL_LOG_WINDOW_MS / 1000} s` : "";
    const outcome = r.outcome === "closed" ? "connection closed" : "answered with an error";
    this.broker.log.warn(`refused ${what} from ${r.remoteAddress ?? "an unknown address"} ${client}: ${WHAT[r.reason]}${r.detail ? ` (${r.detail})` : ""}; ${outcome}${more}`);
  }
}

const logs = new WeakMap<Broker, RefusalLog>();

/** Counts a refusal and writes its line unless this client had one in the window. */
export function refuse(broker: Broker, r: Refusal): void {
  let log = logs.get(broker);
  if (log === undefined) logs.set(broker, (log = new RefusalLog(broker)));
  log.refuse(r);
}
