// Timings and bounds of the etcd client, each with its reason.

/** A unary call (range, put, txn, lease calls) gives up after this long on one endpoint. etcd
 * answers in milliseconds on a healthy quorum; its own request timeout for proposals is 5 s plus
 * the election timeout, so a call still waiting past this is talking to a stuck member. */
export const ETCD_CALL_TIMEOUT_MS_DEFAULT = 5_000;

/** A keepalive is sent every TTL / this: two may be lost before the lease is in danger, as the
 * Go client's lease keeper does. */
export const KEEPALIVE_PER_TTL = 3;

/** The owner of a lease is told it is lost this long before the last acknowledged keepalive could
 * let it expire (a tenth of the TTL, at least this floor): time to stop acting before another
 * process can take over what the lease guarded. */
export const LEASE_LOSS_MARGIN_FRACTION = 0.1;
export const LEASE_LOSS_MARGIN_MS_MIN = 100;

/** A keepalive that failed is retried this often (at most; a tenth of the TTL if shorter) until
 * the lease's deadline. */
export const KEEPALIVE_RETRY_MS_MAX = 500;

/** A dropped watch reconnects after a backoff from the first to the last of these, doubling; it
 * resets once a stream is established. */
export const WATCH_BACKOFF_MS_MIN = 50;
export const WATCH_BACKOFF_MS_MAX = 2_000;

/** One line of a streaming answer (a watch response) larger than this is refused: a watch
 * response holds one revision's events at least, and our keys and values are small metadata. */
export const STREAM_LINE_BYTES_MAX = 64 * 1024 * 1024;
