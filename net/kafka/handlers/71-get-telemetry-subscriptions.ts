// GetTelemetrySubscriptions (key 71), v0 (KIP-714). This broker collects no client metrics, so it
// answers "no subscription": no requested metrics, which tells a client to push nothing and ask
// again after push_interval_ms (Kafka's ClientMetricsManager answers the same when no
// subscription matches, with its default interval of 5 minutes). A zero client instance id gets
// a new one, as Kafka assigns it; any other is echoed. Newer Java clients ask at startup: an
// answer keeps them from logging about a broker without it.
import {
  GetTelemetrySubscriptions,
  type GetTelemetrySubscriptionsRequest,
  type GetTelemetrySubscriptionsResponse,
  defaultGetTelemetrySubscriptionsResponse,
} from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";

/** Kafka's ClientMetricsConfigs.DEFAULT_INTERVAL_MS. */
const PUSH_INTERVAL_MS = 300_000;
/** Kafka's telemetry.max.bytes default. */
const TELEMETRY_MAX_BYTES = 1024 * 1024;
/** CompressionType ids Kafka accepts for pushed metrics: zstd, lz4, gzip, snappy. */
const ACCEPTED_COMPRESSION_TYPES = [4, 3, 1, 2];

export const getTelemetrySubscriptionsHandler = defineHandler<GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse>({
  api: GetTelemetrySubscriptions,
  minVersion: 0,
  maxVersion: 0,
  handle(req) {
    const given = req.clientInstanceId;
    const clientInstanceId = given.some((b) => b !== 0) ? given : newUuid();
    return {
      ...defaultGetTelemetrySubscriptionsResponse(),
      throttleTimeMs: 0,
      errorCode: 0,
      clientInstanceId,
      subscriptionId: 0,
      acceptedCompressionTypes: ACCEPTED_COMPRESSION_TYPES,
      pushIntervalMs: PUSH_INTERVAL_MS,
      telemetryMaxBytes: TELEMETRY_MAX_BYTES,
      deltaTemporality: true,
      requestedMetrics: [],
    };
  },
});

function newUuid(): Uint8Array {
  return new Uint8Array(Buffer.from(crypto.randomUUID().replaceAll("-", ""), "hex"));
}
