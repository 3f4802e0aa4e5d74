// Captures the record batches kafkajs 2.2.4 puts in a Produce v3 request, as golden files for
// core/batch: testdata/batches/<name>-init.bin (the request's record_set bytes, exactly as kafkajs
// sends them) and <name>-want.json (what they must decode to; format in testdata/batches/README.md).
//
// How: build kafkajs's own Produce v3 request (src/protocol/requests/produce/v3/request.js, the
// code its producer runs), encode it, and cut the record_set out of the request body:
//
//   ProduceRequest v3 => transactional_id:nullable_string acks:int16 timeout:int32
//                        [topic:string [partition:int32 record_set:bytes(int32 length)]]
//
// kafkajs ships gzip only; the zstd capture gives kafkajs the zstd-codec package as its codec
// (kafkajs's documented extension point), so its bytes are kafkajs framing + reference zstd.
// The expected content comes from the inputs below, not from decoding, so a decoder bug cannot
// hide in the golden files.
//
// Run: node_modules/.bin/bun scripts/capture-kafkajs-batches.ts
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error kafkajs internals have no types
import ProduceV3 from "kafkajs/src/protocol/requests/produce/v3/request.js";
// @ts-expect-error kafkajs internals have no types
import { Codecs } from "kafkajs/src/protocol/message/compression/index.js";
// @ts-expect-error no types
import { ZstdCodec } from "zstd-codec";

const OUT_DIR = join(import.meta.dir, "../testdata/batches");

interface Message {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
  timestamp: number;
}

interface Capture {
  name: string;
  note: string;
  compression: number;
  messages: Message[];
  producer?: { transactionalId: string; producerId: number; producerEpoch: number; firstSequence: number };
}

const T0 = 1_700_000_000_000;
/** Deterministic bytes that are not valid UTF-8, so they must be stored as base64. */
function binary(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  out[0] = 0xff;
  return out;
}

const basic: Message[] = [
  { key: "user-1", value: "hello", headers: { trace: "abc", "content-type": "text/plain" }, timestamp: T0 },
  { key: null, value: "no key", timestamp: T0 + 5 },
  { key: "tombstone", value: null, timestamp: T0 + 7 },
  { key: "ünïcødé 🔑", value: "värde ✓ 値", headers: { "ключ": "значение", dup: ["one", "two"] }, timestamp: T0 + 9 },
];

const CAPTURES: Capture[] = [
  { name: "kafkajs-none-basic", note: "keys, null key, null value (tombstone), headers incl. a repeated key, unicode", compression: 0, messages: basic },
  { name: "kafkajs-gzip-basic", note: "the same records, gzip", compression: 1, messages: basic },
  { name: "kafkajs-zstd-basic", note: "the same records, zstd by zstd-codec inside kafkajs framing", compression: 4, messages: basic },
  {
    name: "kafkajs-none-binary",
    note: "binary keys and values (base64 in the want file), empty key and value",
    compression: 0,
    messages: [
      { key: binary(16, 1), value: binary(300, 2), timestamp: T0 },
      { key: Buffer.alloc(0), value: Buffer.alloc(0), headers: { bin: binary(8, 3) }, timestamp: T0 },
    ],
  },
  {
    name: "kafkajs-none-timestamp-order",
    note:
      "timestamps of different digit counts: kafkajs sorts them as strings, so baseTimestamp is not " +
      "the smallest, deltas go negative, and maxTimestamp (999) is below the real maximum (1000)",
    compression: 0,
    messages: [
      { key: "a", value: "1", timestamp: 50 },
      { key: "b", value: "2", timestamp: 1000 },
      { key: "c", value: "3", timestamp: 999 },
    ],
  },
  {
    name: "kafkajs-gzip-many",
    note: "100 records of ~100 bytes, gzip",
    compression: 1,
    messages: Array.from({ length: 100 }, (_, i) => ({
      key: `key-${i % 17}`,
      value: `value ${i} `.padEnd(100, "abcdefghij".charAt(i % 10)),
      timestamp: T0 + i * 3,
    })),
  },
  {
    name: "kafkajs-none-transactional",
    note: "transactional idempotent producer: producerId 4242, epoch 3, firstSequence 17, bit 4 set",
    compression: 0,
    messages: basic.slice(0, 2),
    producer: { transactionalId: "tx-1", producerId: 4242, producerEpoch: 3, firstSequence: 17 },
  },
];

async function main(): Promise<void> {
  const zstd = await new Promise<{ compress(b: Uint8Array, level: number): Uint8Array; decompress(b: Uint8Array): Uint8Array }>((resolve) =>
    ZstdCodec.run((z: { Simple: new () => never }) => resolve(new z.Simple())),
  );
  Codecs[4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => Buffer.from(zstd.compress(encoder.buffer, 3)),
    decompress: async (buffer: Buffer) => Buffer.from(zstd.decompress(buffer)),
  });
  mkdirSync(OUT_DIR, { recursive: true });
  for (const c of CAPTURES) {
    const recordSet = await captureRecordSet(c);
    writeFileSync(join(OUT_DIR, `${c.name}-init.bin`), recordSet);
    writeFileSync(join(OUT_DIR, `${c.name}-want.json`), `${JSON.stringify(want(c), null, 2)}\n`);
    console.error(`${c.name}: ${recordSet.length} bytes`);
  }
}

async function captureRecordSet(c: Capture): Promise<Buffer> {
  const request = ProduceV3({
    acks: -1,
    timeout: 30000,
    compression: c.compression,
    transactionalId: c.producer?.transactionalId ?? null,
    producerId: c.producer?.producerId ?? -1,
    producerEpoch: c.producer?.producerEpoch ?? 0,
    topicData: [{ topic: "golden", partitions: [{ partition: 0, firstSequence: c.producer?.firstSequence ?? 0, messages: c.messages }] }],
  });
  const body: Buffer = (await request.encode()).buffer;
  let pos = 0;
  const txLen = body.readInt16BE(pos);
  pos += 2 + Math.max(txLen, 0);
  pos += 2 + 4; // acks, timeout
  pos += 4; // topic count (1)
  pos += 2 + body.readInt16BE(pos); // topic name
  pos += 4 + 4; // partition count (1), partition
  const size = body.readInt32BE(pos);
  pos += 4;
  if (pos + size !== body.length) throw new Error(`${c.name}: record_set ${size} bytes does not end the request`);
  return body.subarray(pos, pos + size);
}

type Bytes = string | { base64: string } | null;

/** UTF-8 text as a JSON string when it round trips, else base64. */
function bytesJson(b: string | Buffer | null | undefined): Bytes {
  if (b === null || b === undefined) return null;
  const buf = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  const text = buf.toString("utf8");
  return Buffer.from(text, "utf8").equals(buf) ? text : { base64: buf.toString("base64") };
}

function want(c: Capture): unknown {
  const timestamps = c.messages.map((m) => m.timestamp);
  const sortedAsKafkajs = [...timestamps].sort(); // string order, as kafkajs does
  const headers = (m: Message) =>
    Object.entries(m.headers ?? {}).flatMap(([key, v]) => (Array.isArray(v) ? v : [v]).map((value) => ({ key, value: bytesJson(value) })));
  return {
    source: `kafkajs 2.2.4 Produce v3 record_set (scripts/capture-kafkajs-batches.ts): ${c.note}`,
    batches: [
      {
        baseOffset: 0,
        partitionLeaderEpoch: 0,
        magic: 2,
        codec: ["none", "gzip", "snappy", "lz4", "zstd"][c.compression],
        transactional: c.producer !== undefined,
        control: false,
        logAppendTime: false,
        lastOffsetDelta: c.messages.length - 1,
        baseTimestamp: sortedAsKafkajs[0],
        maxTimestamp: sortedAsKafkajs[sortedAsKafkajs.length - 1],
        producerId: c.producer?.producerId ?? -1,
        producerEpoch: c.producer?.producerEpoch ?? 0,
        baseSequence: c.producer?.firstSequence ?? 0,
        recordCount: c.messages.length,
        records: c.messages.map((m, i) => ({
          offset: i,
          timestamp: m.timestamp,
          key: bytesJson(m.key),
          value: bytesJson(m.value),
          headers: headers(m),
        })),
      },
    ],
  };
}

await main();
