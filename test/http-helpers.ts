// Helpers for the control-plane tests: a JSON-aware fetch against a broker's HTTP listener, and the
// Prometheus text parser (test/prometheus-text.ts).
import { expect } from "bun:test";

export { parsePrometheusText, type PromFamily, type PromSample, sampleValue } from "./prometheus-text.ts";

export interface ApiResult<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export async function api<T = any>(base: string, path: string, init: RequestInit = {}): Promise<ApiResult<T>> {
  const res = await fetch(`http://${base}${path}`, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function postJson(base: string, path: string, body: unknown, method = "POST") {
  return api(base, path, { method, headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** The error shape every failure must have, with a 4xx status (never a 5xx for bad input). */
export function expectClientError(r: ApiResult, status: number, code?: string): void {
  expect({ status: r.status, body: r.json }).toMatchObject({ status, body: { error: { code: code ?? expect.any(String), message: expect.any(String) } } });
  expect(Object.keys(r.json)).toEqual(["error"]);
}

// --- committing offsets over the Kafka protocol ----------------------------------------------

/** A simple OffsetCommit (generation -1, no member) as an admin tool sends for a group without
 * members: the group comes into being with these committed offsets. Over a bare wire connection,
 * so the test does not go through our own control plane to set up what it checks. */
export async function commitOffsets(kafka: string, groupId: string, topic: string, offsets: Record<number, number>): Promise<void> {
  const { RawConnection } = await import("./raw-kafka.ts");
  const { OffsetCommit, defaultOffsetCommitRequest, defaultOffsetCommitRequestPartition } = await import("../net/protocol/messages/index.ts");
  const conn = await RawConnection.open(kafka);
  try {
    const res = await conn.request(OffsetCommit, 8, {
      ...defaultOffsetCommitRequest(),
      groupId,
      topics: [{ name: topic, partitions: Object.entries(offsets).map(([p, o]) => ({ ...defaultOffsetCommitRequestPartition(), partitionIndex: Number(p), committedOffset: BigInt(o) })) }],
    });
    const failed = res.topics.flatMap((t) => t.partitions).filter((p) => p.errorCode !== 0);
    if (failed.length > 0) throw new Error(`OffsetCommit failed: ${JSON.stringify(failed)}`);
  } finally {
    conn.close();
  }
}
