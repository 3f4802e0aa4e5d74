// The Kafka door's limits, each with its reason (core's are in core/limits.ts). The relations
// between them and core's are asserted when a listener starts (checkKafkaDoorLimits).
import { checkLimits, type LimitRelation, MESSAGE_BYTES_MAX_DEFAULT, RECYCLE_MIN_BYTES, REQUEST_BODY_TIMEOUT_MS_DEFAULT, REQUEST_BYTES_MAX } from "../../core/limits.ts";

/** Requests of one connection being handled at once; past that, reading pauses until answers go
 * out. Clients pipeline a handful (librdkafka: 5 per partition leader); 64 lets them while
 * bounding what one connection can have pending. */
export const IN_FLIGHT_MAX = 64;
/** Clients send one fetch at a time per connection (librdkafka, kafkajs); more waits its turn:
 * each fetch copies up to its max bytes before anything reaches the output queue. */
export const FETCH_IN_FLIGHT_MAX = 1;
/** Bytes one connection may read before it lets the event loop turn (issue #18: fair under abuse).
 * Bun reads a socket again and again while each read fills its 512 KiB buffer (uSockets'
 * repeat-read, bounded only when more than two sockets are ready), so one fast sender of a 95 MiB
 * frame held the loop for most of its frame while another client's request waited. Past this much
 * the connection pauses until the next turn (setImmediate): other sockets and timers run between. */
export const READ_BYTES_PER_TURN = 1024 * 1024;
/** Bytes all connections together read in one turn, about (net/kafka/connection.ts): with many
 * senders each reading its own share, 16 × 512 KiB in a turn held the loop 20–30 ms. */
export const TURN_BYTES_MAX = 512 * 1024;
/** Answers queued in userland for a client that stopped reading; past this, reading pauses, so a
 * client that stops reading stops being read (issue #7). */
export const OUTPUT_BYTES_HIGH = 32 * 1024 * 1024;
/** Connections accepted at once (serve --max-connections). */
export const MAX_CONNECTIONS_DEFAULT = 10_000;
/** A connection with nothing read for this long is closed (serve --idle-timeout-ms; Kafka's
 * connections.max.idle.ms is 10 minutes too). A long-polling fetch is not idle. */
export const IDLE_TIMEOUT_MS_DEFAULT = 600_000;

/** A SASL connection must log in within this (issue #18), and a TLS one finish its handshake: a
 * client that does neither holds a connection slot for nothing. */
export const AUTH_TIMEOUT_MS = 10_000;
/** The largest frame read before a SASL login (Kafka's sasl.server.max.receive.size): whoever has
 * not logged in cannot make the broker hold 100 MiB for them. */
export const SASL_FRAME_BYTES_MAX = 512 * 1024;
/** Fetch v0-3 (old message formats): the stored bytes one request down-converts, over all its
 * partitions (the first message of the answer whole beyond it). Conversion is synchronous CPU work
 * (decode, and compress again for compressed batches): 1 MiB is tens of ms, where v0-2's missing
 * request limit and a large partition_max_bytes would otherwise let one request convert a whole
 * log while every other client waits. Old clients fetch 1 MiB per partition by default. */
export const DOWN_CONVERT_BYTES_MAX = 1024 * 1024;

/** Bytes of request frames in flight across every connection of the broker (serve
 * --max-request-memory; Kafka's queued.max.request.bytes): 16 connections each holding a 95 MiB
 * partial frame once took the broker to 1.95 GiB (issue #18). A frame counts from its length
 * prefix until its answer is written; one that does not fit waits, its connection unread. */
export const REQUEST_MEMORY_BYTES_DEFAULT = 256 * 1024 * 1024;
/** Connections one client address may hold at once (serve --max-connections-per-ip, as Kafka's
 * max.connections.per.ip): 10,000 idle sockets from one address once took every slot. */
export const MAX_CONNECTIONS_PER_IP_DEFAULT = 1000;
/** A connection that has not sent one whole request within this is closed (serve
 * --first-request-timeout-ms): a client sends ApiVersions or Metadata at once, an idle socket holds
 * a slot for nothing. The same 10 s a SASL login gets. */
export const FIRST_REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/** At most one log line per this long per kind of refusal (too many connections, a frame larger
 * than the whole request memory): the refusals themselves are counted in /metrics. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export const KAFKA_DOOR_LIMITS = {
  REQUEST_BYTES_MAX,
  MESSAGE_BYTES_MAX_DEFAULT,
  RECYCLE_MIN_BYTES,
  IN_FLIGHT_MAX,
  FETCH_IN_FLIGHT_MAX,
  OUTPUT_BYTES_HIGH,
  READ_BYTES_PER_TURN,
  TURN_BYTES_MAX,
  MAX_CONNECTIONS_DEFAULT,
  IDLE_TIMEOUT_MS_DEFAULT,
  AUTH_TIMEOUT_MS,
  SASL_FRAME_BYTES_MAX,
  REQUEST_MEMORY_BYTES_DEFAULT,
  MAX_CONNECTIONS_PER_IP_DEFAULT,
  FIRST_REQUEST_TIMEOUT_MS_DEFAULT,
  REQUEST_BODY_TIMEOUT_MS_DEFAULT,
  REFUSAL_LOG_INTERVAL_MS,
  DOWN_CONVERT_BYTES_MAX,
};

export const KAFKA_DOOR_LIMIT_RELATIONS: readonly LimitRelation<typeof KAFKA_DOOR_LIMITS>[] = [
  ["a produce of one default-sized batch per partition fits in a request frame", (l) => l.MESSAGE_BYTES_MAX_DEFAULT < l.REQUEST_BYTES_MAX],
  ["the output queue holds at least one default-sized batch, so a fetch answer always gets out", (l) => l.OUTPUT_BYTES_HIGH >= l.MESSAGE_BYTES_MAX_DEFAULT],
  ["a connection's share of a turn is at least one of Bun's reads (512 KiB) and a few at most", (l) => l.READ_BYTES_PER_TURN >= 512 * 1024 && l.READ_BYTES_PER_TURN <= 4 * 1024 * 1024],
  ["a turn holds at least one of Bun's reads (512 KiB), and no more than a connection's share", (l) => l.TURN_BYTES_MAX >= 512 * 1024 && l.TURN_BYTES_MAX <= l.READ_BYTES_PER_TURN],
  ["fetches in flight are a subset of requests in flight", (l) => l.FETCH_IN_FLIGHT_MAX >= 1 && l.FETCH_IN_FLIGHT_MAX <= l.IN_FLIGHT_MAX],
  ["large frames are gathered into recycled buffers, small ones are not worth it", (l) => l.RECYCLE_MIN_BYTES < l.REQUEST_BYTES_MAX],
  ["the idle timeout is in whole seconds (the socket timer's unit) and longer than a client's request timeout", (l) => l.IDLE_TIMEOUT_MS_DEFAULT % 1000 === 0 && l.IDLE_TIMEOUT_MS_DEFAULT >= 60_000],
  ["the connection cap is positive", (l) => l.MAX_CONNECTIONS_DEFAULT >= 1],
  ["a login must finish well before a connection counts as idle", (l) => l.AUTH_TIMEOUT_MS > 0 && l.AUTH_TIMEOUT_MS < l.IDLE_TIMEOUT_MS_DEFAULT],
  ["the default request memory takes a largest frame, so no frame Kafka would accept is refused by default", (l) => l.REQUEST_MEMORY_BYTES_DEFAULT >= l.REQUEST_BYTES_MAX],
  ["one address may not take every connection by default, and may take more than a client's handful", (l) => l.MAX_CONNECTIONS_PER_IP_DEFAULT >= 16 && l.MAX_CONNECTIONS_PER_IP_DEFAULT < l.MAX_CONNECTIONS_DEFAULT],
  ["a connection's first request is due long before it counts as idle, and no sooner than a login", (l) => l.FIRST_REQUEST_TIMEOUT_MS_DEFAULT >= l.AUTH_TIMEOUT_MS && l.FIRST_REQUEST_TIMEOUT_MS_DEFAULT < l.IDLE_TIMEOUT_MS_DEFAULT],
  ["a stalled frame gives its request memory back long before its connection would count as idle", (l) => l.REQUEST_BODY_TIMEOUT_MS_DEFAULT < l.IDLE_TIMEOUT_MS_DEFAULT],
  ["refusal lines are rate-limited to a few a minute, not silenced", (l) => l.REFUSAL_LOG_INTERVAL_MS >= 1000 && l.REFUSAL_LOG_INTERVAL_MS <= 60_000],
  ["a SASL token of any mechanism we offer (a few hundred bytes) fits a pre-login frame, which is far below a request's cap", (l) => l.SASL_FRAME_BYTES_MAX >= 4096 && l.SASL_FRAME_BYTES_MAX < l.REQUEST_BYTES_MAX],
  ["a down-converting fetch converts at least an old client's default partition fetch size (1 MiB; the first message whole beyond it)", (l) => l.DOWN_CONVERT_BYTES_MAX >= 1024 * 1024],
];

export function checkKafkaDoorLimits(): void {
  checkLimits("kafka door", KAFKA_DOOR_LIMIT_RELATIONS, KAFKA_DOOR_LIMITS);
}
