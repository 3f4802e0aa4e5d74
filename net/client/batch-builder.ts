// BatchBuilder: the producer's open RecordBatch v2 for one partition. Records are written straight
// into the uncompressed records section as they arrive (no per-record objects kept), then
// `seal()` compresses the section once and writes the 61-byte header and CRC-32C. The record and
// header grammar is in core/batch/record.ts and core/batch/header.ts; this is a streaming writer
// of the same bytes that `encodeRecordBatch` produces for the same records (a test checks that).
//
//   header (61 bytes) | records, or one compressed block of them when the codec is not none
//   record = length varint | attributes int8 = 0 | timestampDelta varlong | offsetDelta varint |
//            key (varint length, -1 = null) | value (same) | headerCount varint |
//            headers (keyLength varint, UTF-8 key, valueLength varint (-1 = null), value)
//
// baseTimestamp is the first record's timestamp, so later deltas may be negative (records copied
// with their original timestamps); maxTimestamp is the largest. An idempotent producer's id, epoch
// and first sequence go into the header as it is sealed (`ProducerStamp`), inside the one CRC
// computed then; `restamp` rewrites them (and the CRC) on the rare path that needs new ones (an
// epoch bump, producer.ts).
import { utf8Length, writeUtf8 } from "../../core/batch/byte-reader.ts";
import { compress } from "../../core/batch/codecs.ts";
import { crc32c } from "../../core/batch/crc32c.ts";
import {
  ATTR_CODEC_MASK,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  Codec,
  CRC_START,
  OFF_ATTRIBUTES,
  OFF_BASE_SEQUENCE,
  OFF_BASE_TIMESTAMP,
  OFF_BATCH_LENGTH,
  OFF_CRC,
  OFF_LAST_OFFSET_DELTA,
  OFF_LEADER_EPOCH,
  OFF_MAGIC,
  OFF_MAX_TIMESTAMP,
  OFF_PRODUCER_EPOCH,
  OFF_PRODUCER_ID,
  OFF_RECORD_COUNT,
} from "../../core/batch/header.ts";
import * as be from "../../core/bytes.ts";
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from "../../core/batch/varint.ts";

export interface ProducerHeader {
  key: string;
  value: Uint8Array | null;
}

/** An idempotent producer's fields of a batch header (KIP-98). */
export interface ProducerStamp {
  producerId: number;
  epoch: number;
  baseSequence: number;
  /** A transactional producer's batch (the header's transactional attribute). */
  transactional?: boolean;
}

/** No producer: producerId -1, epoch -1, baseSequence -1. */
const NO_STAMP: ProducerStamp = { producerId: -1, epoch: -1, baseSequence: -1 };

/** Rewrites a sealed batch's producer fields and its CRC (they are inside it). */
export function restamp(batch: Uint8Array, stamp: ProducerStamp): void {
  be.setInt64(batch, OFF_PRODUCER_ID, stamp.producerId);
  be.setInt16(batch, OFF_PRODUCER_EPOCH, stamp.epoch);
  be.setInt32(batch, OFF_BASE_SEQUENCE, stamp.baseSequence);
  be.setInt32(batch, OFF_CRC, crc32c(batch, CRC_START, batch.length));
}

/** zstd level 3: zstd's default, and what librdkafka, the Java client and core/batch/codecs.ts use. */
const ZSTD_LEVEL = 3;

/** Most bytes a record's framing adds around key, value and headers (length, attributes,
 * timestamp and offset deltas, key/value lengths, header count: 5+1+10+5+5+5+5). */
const RECORD_OVERHEAD_MAX = 36;

export class BatchBuilder {
  /** Uncompressed records section; records are written from BATCH_HEADER_BYTES so that an
   * uncompressed batch needs no copy. */
  private buf: Uint8Array;
  private pos = BATCH_HEADER_BYTES;
  count = 0;
  /** Key and value bytes appended (what a user calls the data; framing excluded). */
  payloadBytes = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;

  /** `reuse`: a buffer a sealed builder released (its contents are overwritten). */
  constructor(initialBytes: number, reuse?: Uint8Array) {
    const size = BatchBuilder.bufferBytes(initialBytes);
    this.buf = reuse !== undefined && reuse.length >= size ? reuse : new Uint8Array(size);
  }

  /** The buffer a builder made for `initialBytes` of records starts with (a reused one must be as large). */
  static bufferBytes(initialBytes: number): number {
    return BATCH_HEADER_BYTES + Math.max(256, initialBytes);
  }

  /** The records buffer (an uncompressed batch is a view of it), for a later builder to reuse
   * once nothing reads this batch's bytes. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Uncompressed bytes of the records so far. */
  get recordBytes(): number {
    return this.pos - BATCH_HEADER_BYTES;
  }

  /** Upper bound on the bytes `append` would add for this record. */
  static sizeBound(key: Uint8Array | null, value: Uint8Array | null, headers: ProducerHeader[] | null): number {
    let n = RECORD_OVERHEAD_MAX + (key?.length ?? 0) + (value?.length ?? 0);
    if (headers) for (const h of headers) n += 10 + h.key.length * 3 + (h.value?.length ?? 0);
    return n;
  }

  append(key: Uint8Array | null, value: Uint8Array | null, headers: ProducerHeader[] | null, timestamp: number): void {
    if (this.count === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const tsDelta = timestamp - this.baseTimestamp;
    const offsetDelta = this.count;
    let body = 1 + sizeOfVarlong(tsDelta) + sizeOfVarint(offsetDelta);
    body += key === null ? 1 : sizeOfVarint(key.length) + key.length;
    body += value === null ? 1 : sizeOfVarint(value.length) + value.length;
    let headerKeyBytes: number[] | null = null;
    if (headers === null || headers.length === 0) body += 1;
    else {
      body += sizeOfVarint(headers.length);
      headerKeyBytes = new Array<number>(headers.length);
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i]!;
        const kb = utf8Length(h.key);
        headerKeyBytes[i] = kb;
        body += sizeOfVarint(kb) + kb + (h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length);
      }
    }
    this.ensure(5 + body);
    const buf = this.buf;
    let p = writeVarint(buf, this.pos, body);
    buf[p++] = 0;
    p = writeVarlong(buf, p, tsDelta);
    p = writeVarint(buf, p, offsetDelta);
    if (key === null) buf[p++] = 1;
    else {
      p = writeVarint(buf, p, key.length);
      buf.set(key, p);
      p += key.length;
    }
    if (value === null) buf[p++] = 1;
    else {
      const n = value.length;
      p = writeVarint(buf, p, n);
      if (n < 64) for (let i = 0; i < n; i++) buf[p + i] = value[i]!;
      else buf.set(value, p);
      p += n;
    }
    if (headers === null || headerKeyBytes === null) buf[p++] = 0;
    else {
      p = writeVarint(buf, p, headers.length);
      for (let i = 0; i < headers.length; i++) {
        const h = headers[i]!;
        const kb = headerKeyBytes[i]!;
        p = writeVarint(buf, p, kb);
        p = writeUtf8(buf, p, h.key, kb);
        if (h.value === null) buf[p++] = 1;
        else {
          p = writeVarint(buf, p, h.value.length);
          buf.set(h.value, p);
          p += h.value.length;
        }
      }
    }
    this.pos = p;
    this.count++;
    this.payloadBytes += (key?.length ?? 0) + (value?.length ?? 0);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** The finished batch (baseOffset 0, the producer fields of `stamp`), compressed with `codec`.
   * The builder must not be appended to afterwards. */
  seal(codec: Codec, stamp: ProducerStamp = NO_STAMP): Uint8Array {
    if (codec === Codec.None) return this.finish(this.buf.subarray(0, this.pos), codec, stamp);
    const packed = compress(codec, this.buf.subarray(BATCH_HEADER_BYTES, this.pos));
    const out = new Uint8Array(BATCH_HEADER_BYTES + packed.length);
    out.set(packed, BATCH_HEADER_BYTES);
    return this.finish(out, codec, stamp);
  }

  /**
   * `seal` with zstd compression on Bun's worker pool instead of the calling thread (the producer
   * keeps reading and encoding meanwhile). Resolves to the batch; `release` gets the section buffer
   * back once the compressor no longer reads it, for the next builder to reuse.
   */
  async sealZstdAsync(release: (buf: Uint8Array) => void, stamp: ProducerStamp = NO_STAMP): Promise<Uint8Array> {
    const section = this.buf.subarray(BATCH_HEADER_BYTES, this.pos);
    const packed = await Bun.zstdCompress(section, { level: ZSTD_LEVEL });
    release(this.buf);
    const out = new Uint8Array(BATCH_HEADER_BYTES + packed.length);
    out.set(packed, BATCH_HEADER_BYTES);
    return this.finish(out, Codec.Zstd, stamp);
  }

  /** Writes the header fields and the CRC into `out` (header space + records or block). */
  private finish(out: Uint8Array, codec: Codec, stamp: ProducerStamp): Uint8Array {
    be.setInt64(out, 0, 0);
    be.setInt32(out, OFF_BATCH_LENGTH, out.length - BATCH_LENGTH_PREFIX_BYTES);
    be.setInt32(out, OFF_LEADER_EPOCH, -1);
    be.setInt8(out, OFF_MAGIC, 2);
    be.setInt16(out, OFF_ATTRIBUTES, (codec & ATTR_CODEC_MASK) | (stamp.transactional === true ? ATTR_TRANSACTIONAL : 0));
    be.setInt32(out, OFF_LAST_OFFSET_DELTA, this.count - 1);
    be.setInt64(out, OFF_BASE_TIMESTAMP, this.baseTimestamp);
    be.setInt64(out, OFF_MAX_TIMESTAMP, this.maxTimestamp);
    be.setInt64(out, OFF_PRODUCER_ID, stamp.producerId);
    be.setInt16(out, OFF_PRODUCER_EPOCH, stamp.epoch);
    be.setInt32(out, OFF_BASE_SEQUENCE, stamp.baseSequence);
    be.setInt32(out, OFF_RECORD_COUNT, this.count);
    be.setInt32(out, OFF_CRC, crc32c(out, CRC_START, out.length));
    return out;
  }
}
