// Issue 6: /metrics parsed by a strict Prometheus text-format parser (test/http-helpers.ts) after
// real traffic (kcat produce and consume, HTTP records), and /v1/stats with its rates.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type BrokerProcess, kcat, removeDir, startBroker } from "./harness.ts";
import { api, parsePrometheusText, postJson, sampleValue } from "./http-helpers.ts";

let broker: BrokerProcess;
let http: string;

beforeAll(async () => {
  broker = await startBroker();
  http = broker.http;
  expect((await postJson(http, "/v1/topics", { name: "metered", partitions: 2 })).status).toBe(201);
  const produced = await kcat(broker.kafka, ["-P", "-t", "metered", "-p", "0"], { input: "a\nb\nc\n" });
  expect(produced.code).toBe(0);
  const posted = await api(http, "/v1/topics/metered/records?partition=1", { method: "POST", body: "d\ne\n", headers: { "content-type": "text/plain" } });
  expect(posted.status).toBe(200);
  const consumed = await kcat(broker.kafka, ["-C", "-t", "metered", "-p", "0", "-o", "beginning", "-e"]);
  expect(consumed.stdout).toBe("a\nb\nc\n");
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

test("/metrics is valid Prometheus text with the families the issue lists", async () => {
  const r = await api(http, "/metrics");
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const families = parsePrometheusText(r.text);
  const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
  expect(types).toMatchObject({
    streamctl_uptime_seconds: "gauge",
    streamctl_topic_bytes_in_total: "counter",
    streamctl_topic_records_in_total: "counter",
    streamctl_topic_bytes_out_total: "counter",
    streamctl_topic_records_out_total: "counter",
    streamctl_partition_end_offset: "gauge",
    streamctl_partition_size_bytes: "gauge",
    streamctl_disk_bytes: "gauge",
    streamctl_kafka_requests_total: "counter",
    streamctl_kafka_request_duration_seconds: "histogram",
    streamctl_connections_open: "gauge",
    streamctl_connections_total: "counter",
    streamctl_group_lag: "gauge",
    streamctl_fsync_duration_seconds: "histogram",
    streamctl_tail_cache_bytes: "gauge",
  });
  for (const f of families.values()) expect(f.help, f.name).toEqual(expect.any(String));
  expect(sampleValue(families, "streamctl_topic_records_in_total", { topic: "metered" })).toBe(5);
  expect(sampleValue(families, "streamctl_partition_end_offset", { topic: "metered", partition: "0" })).toBe(3);
  expect(sampleValue(families, "streamctl_partition_end_offset", { topic: "metered", partition: "1" })).toBe(2);
  expect(sampleValue(families, "streamctl_topic_bytes_out_total", { topic: "metered" })).toBeGreaterThan(0);
  expect(sampleValue(families, "streamctl_topic_records_out_total", { topic: "metered" })).toBeGreaterThan(0);
  // fsync=always: the produce above waited for at least one fdatasync.
  expect(sampleValue(families, "streamctl_fsync_duration_seconds_count", {}, "streamctl_fsync_duration_seconds")).toBeGreaterThanOrEqual(1);
  const topicBytes = (await api(http, "/v1/topics/metered")).json.partitions.reduce((n: number, p: { bytes: number }) => n + p.bytes, 0);
  expect(sampleValue(families, "streamctl_disk_bytes")).toBe(topicBytes);
  // The records produced above are small: each partition keeps its latest in one 64 KiB chunk.
  expect(sampleValue(families, "streamctl_tail_cache_bytes")).toBe(2 * 64 * 1024);
  expect(sampleValue(families, "streamctl_kafka_requests_total", { api: "Produce" })).toBeGreaterThanOrEqual(1);
  expect(sampleValue(families, "streamctl_kafka_request_duration_seconds_count", { api: "Fetch" }, "streamctl_kafka_request_duration_seconds")).toBeGreaterThanOrEqual(1);
  expect(sampleValue(families, "streamctl_connections_total")).toBeGreaterThanOrEqual(2);
});

test("the parser is strict: it refuses what Prometheus refuses", () => {
  const bad = [
    "x 1", // no final newline
    "# TYPE x counter\nx{a=\"1\"} 1\ny 2\nx{a=\"2\"} 3\n", // family split in two
    "x{a=\"\\q\"} 1\n", // bad escape
    "x{a=1} 1\n", // unquoted label value
    "x 1\nx 2\n", // duplicate series
    "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", // not cumulative
    "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", // +Inf ≠ count
    "1x 1\n", // bad name
    "x one\n", // bad value
  ];
  for (const text of bad) expect(() => parsePrometheusText(text), JSON.stringify(text)).toThrow();
  expect(parsePrometheusText('# HELP x with "quotes" \\\\ ok\n# TYPE x gauge\nx{a="q\\"\\n"} -Inf\n').get("x")!.samples[0]!.labels.a).toBe('q"\n');
});

test("/v1/stats has counters per topic and partition, rates once a window exists", async () => {
  const stats = (await api(http, "/v1/stats")).json;
  expect(stats).toMatchObject({ uptimeMs: expect.any(Number), fsync: "always", connections: { open: expect.any(Number) }, groups: [] });
  const t = stats.topics.find((x: { name: string }) => x.name === "metered");
  expect(t).toMatchObject({ name: "metered", end: 5, records: 5, recordsIn: 5 });
  expect(t.partitions.map((p: { end: number }) => p.end)).toEqual([3, 2]);
  expect(Object.keys(t.rates)).toEqual(["bytesIn", "recordsIn", "bytesOut", "recordsOut"]);
  expect(stats.apis.map((a: { api: string }) => a.api)).toContain("Produce");
});
