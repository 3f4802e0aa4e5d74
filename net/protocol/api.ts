// The shapes shared by the generated codec (./messages/) and its users: an API descriptor per
// Kafka API key, the records types, tagged fields kept verbatim. Hand-written.
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** A tagged field this codec does not know (KIP-482), kept so that re-encoding re-emits it. */
export interface TaggedField {
  tag: number;
  /** The field's bytes; after decoding a view into the decoded frame, not a copy. */
  data: Uint8Array;
}

/** A `records` field as decoders produce it: a view into the frame (zero-copy), or null. */
export type Records = Uint8Array | null;
/**
 * A `records` field as encoders accept it: also a scatter list (say batches mapped from segment
 * files), written with one total length prefix and not copied (Writer.rawChunk).
 */
export type RecordsIn = Uint8Array | Uint8Array[] | null;

/**
 * One Kafka API: its key, the versions the codec implements (the Kafka 3.8 schema's validVersions),
 * and one decoder/encoder per direction covering every version.
 *
 * `ReqIn`/`ResIn` are what the encoders accept: the decoded type widened where a message carries
 * records (FetchResponse<RecordsIn>, ProduceRequest<RecordsIn>).
 *
 * Decoders never throw: after decoding, check `r.error` (and `r.remaining` if trailing bytes
 * matter). Encoders throw RangeError on values the wire cannot carry (programmer errors).
 */
export interface ApiDescriptor<Req, Res, ReqIn = Req, ResIn = Res> {
  readonly key: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible (KIP-482) version; Infinity when no version is flexible. */
  readonly flexibleMinVersion: number;
  decodeRequest(r: Reader, version: number): Req;
  encodeRequest(w: Writer, version: number, m: ReqIn): void;
  decodeResponse(r: Reader, version: number): Res;
  encodeResponse(w: Writer, version: number, m: ResIn): void;
}

/** A versioned data message that is not an API (ConsumerProtocolSubscription/Assignment). */
export interface DataDescriptor<T> {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  decode(r: Reader, version: number): T;
  encode(w: Writer, version: number, m: T): void;
}
