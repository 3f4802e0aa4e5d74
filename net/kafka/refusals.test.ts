// The refusal log's rate limit per client, its count of held-back refusals, its memory bound and
// its counters (issue #21), with a hand-driven clock.
import { describe, expect, test } from "bun:test";
import { BrokerMetrics } from "../../core/broker/metrics.ts";
import { type Refusal, REFUSAL_CLIENTS_MAX, REFUSAL_LOG_WINDOW_MS, RefusalLog } from "./refusals.ts";

function harness() {
  let now = 1_000_000;
  const lines: string[] = [];
  const metrics = new BrokerMetrics();
  const log = new RefusalLog({ metrics, log: { warn: (l) => lines.push(l) } }, () => now);
  return { log, lines, metrics, advance: (ms: number) => (now += ms) };
}

const fetchV17 = (remoteAddress = "10.0.0.7", clientId: string | null = "rdkafka"): Refusal => ({
  reason: "unsupported_version",
  apiKey: 1,
  apiVersion: 17,
  clientId,
  remoteAddress,
  outcome: "closed",
  detail: "this broker serves v0-16",
});

describe("refusal log", () => {
  test("one line names the client's address, client id, API and version, and what happened", () => {
    const h = harness();
    h.log.refuse(fetchV17());
    expect(h.lines).toEqual(['refused Fetch v17 from 10.0.0.7 client_id="rdkafka": unsupported version (this broker serves v0-16); connection closed']);
  });

  test("at most one line per client per window; the next one counts those held back", () => {
    const h = harness();
    for (let i = 0; i < 5; i++) h.log.refuse(fetchV17());
    expect(h.lines.length).toBe(1);
    h.advance(REFUSAL_LOG_WINDOW_MS - 1);
    h.log.refuse(fetchV17());
    expect(h.lines.length).toBe(1);
    h.advance(1);
    h.log.refuse(fetchV17());
    expect(h.lines.length).toBe(2);
    expect(h.lines[1]).toEndWith("connection closed, and 5 more refusals from this client in the last 10 s");
    h.advance(REFUSAL_LOG_WINDOW_MS);
    h.log.refuse(fetchV17());
    expect(h.lines[2]).toEndWith("; connection closed"); // nothing held back since the last line
  });

  test("clients are told apart by address (a client id is the client's to vary); every refusal is counted by reason and API", () => {
    const h = harness();
    h.log.refuse(fetchV17());
    h.log.refuse(fetchV17("10.0.0.8"));
    h.log.refuse(fetchV17("10.0.0.7", "other"));
    h.log.refuse({ reason: "unsupported_api", apiKey: 999, apiVersion: 0, clientId: null, remoteAddress: "10.0.0.9", outcome: "closed" });
    h.log.refuse({ reason: "malformed_frame", apiKey: -1, apiVersion: -1, clientId: null, remoteAddress: "10.0.0.9", outcome: "closed", detail: "frame length -5 outside 0…104857600" });
    expect(h.lines.length).toBe(3); // 10.0.0.7 once whatever its client ids, 10.0.0.8, 10.0.0.9 once
    expect(h.lines[2]).toBe("refused API 999 v0 from 10.0.0.9 no client_id: unknown API; connection closed");
    expect([...h.metrics.refusals.values()]).toEqual([
      { reason: "unsupported_version", api: "Fetch", count: 3 },
      { reason: "unsupported_api", api: "unknown", count: 1 },
      { reason: "malformed_frame", api: "unknown", count: 1 },
    ]);
  });

  test("remembers at most REFUSAL_CLIENTS_MAX clients, forgetting the oldest", () => {
    const h = harness();
    for (let i = 0; i < REFUSAL_CLIENTS_MAX + 10; i++) h.log.refuse(fetchV17(`10.1.${i >> 8}.${i & 255}`));
    expect(h.log.remembered).toBe(REFUSAL_CLIENTS_MAX);
    expect(h.lines.length).toBe(REFUSAL_CLIENTS_MAX + 10);
    h.log.refuse(fetchV17("10.1.0.0")); // forgotten: a line again
    expect(h.lines.length).toBe(REFUSAL_CLIENTS_MAX + 11);
    h.log.refuse(fetchV17(`10.1.${(REFUSAL_CLIENTS_MAX + 9) >> 8}.${(REFUSAL_CLIENTS_MAX + 9) & 255}`)); // remembered: held back
    expect(h.lines.length).toBe(REFUSAL_CLIENTS_MAX + 11);
  });
});
