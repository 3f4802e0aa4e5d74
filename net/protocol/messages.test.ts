// Round trips for every generated API, every version, request and response: a populated message
// (every field present in the version non-default, tagged and unknown tagged fields included)
// and seeded random ones. Checks decode(encode(m)) == m, that the decoder consumes exactly the
// encoded bytes, and that encode(decode(bytes)) == bytes.
// Random runs print fast-check's seed on failure; replay with SEED=<seed>.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ApiDescriptor } from "./api.ts";
import * as messages from "./messages/index.ts";
import { apiByKey, apis, ConsumerProtocolAssignment, ConsumerProtocolSubscription, Fetch, Produce } from "./messages/index.ts";
import { Reader } from "./reader.ts";
import type { MessageSchema } from "./schema.ts";
import { rng, Sampler } from "../testing/message-samples.ts";
import { RAW_CHUNK_MIN_BYTES, Writer } from "./writer.ts";

const SEED = process.env.SEED !== undefined ? Number(process.env.SEED) : undefined;
const mod = messages as unknown as Record<string, unknown>;
const schemaOf = (name: string): MessageSchema => mod[`${name}Schema`] as MessageSchema;

type Codec = { decode(r: Reader, v: number): unknown; encode(w: Writer, v: number, m: never): void };
function codecs(api: ApiDescriptor<unknown, unknown>): { side: string; name: string; codec: Codec }[] {
  return [
    { side: "request", name: `${api.name}Request`, codec: { decode: api.decodeRequest, encode: api.encodeRequest } },
    { side: "response", name: `${api.name}Response`, codec: { decode: api.decodeResponse, encode: api.encodeResponse } },
  ];
}

function encode(c: Codec, v: number, m: unknown): Uint8Array {
  const w = new Writer(64);
  c.encode(w, v, m as never);
  return w.finish();
}

/** encode → decode → compare → encode again → same bytes. */
function roundTrip(c: Codec, v: number, m: unknown): void {
  const bytes = encode(c, v, m);
  const r = new Reader(bytes);
  const back = c.decode(r, v);
  expect(r.error).toBeNull();
  expect(r.remaining).toBe(0);
  expect(back).toEqual(m as never);
  expect(encode(c, v, back)).toEqual(bytes);
}

const cases = apis.flatMap((api) =>
  codecs(api).flatMap(({ side, codec }) => {
    const out: [string, number, string, Codec][] = [];
    for (let v = api.minVersion; v <= api.maxVersion; v++) out.push([api.name, v, side, codec]);
    return out;
  }),
);

describe("every API, every version, populated", () => {
  test.each(cases)("%s v%i %s", (api, v, side, codec) => {
    const name = `${api}${side === "request" ? "Request" : "Response"}`;
    const m = new Sampler(mod, schemaOf(name), rng(v * 7919 + api.length), { populated: true }).message(v);
    roundTrip(codec, v, m);
  });
});

describe("every API, seeded random messages", () => {
  test.each(apis.map((a) => [a.name, a] as const))("%s", (_name, api) => {
    for (const { name, codec } of codecs(api)) {
      fc.assert(
        fc.property(fc.integer({ min: api.minVersion, max: api.maxVersion }), fc.integer(), (v, seed) => {
          const m = new Sampler(mod, schemaOf(name), rng(seed), { populated: false, largeBytes: RAW_CHUNK_MIN_BYTES }).message(v);
          roundTrip(codec, v, m);
        }),
        { numRuns: 60, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
    }
  });
});

describe("data messages", () => {
  test.each([
    [ConsumerProtocolSubscription.name, ConsumerProtocolSubscription],
    [ConsumerProtocolAssignment.name, ConsumerProtocolAssignment],
  ] as const)("%s every version", (name, d) => {
    for (let v = d.minVersion; v <= d.maxVersion; v++) {
      const m = new Sampler(mod, schemaOf(name), rng(v), { populated: true }).message(v);
      roundTrip({ decode: d.decode, encode: d.encode as Codec["encode"] }, v, m);
    }
  });
});

describe("descriptors", () => {
  test("the 26 APIs of the brief, the admin and consumer-group (KIP-848) APIs of issue #21, the 3 SASL/SCRAM APIs and the 3 ACL APIs of issue #18 and the 7 transaction APIs of issue #20 (WriteTxnMarkers between brokers of a cluster), by key", () => {
    expect([...apiByKey.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 47, 50, 51, 60, 61, 65, 66, 68, 69, 71, 75]);
    expect(Produce).toMatchObject({ key: 0, minVersion: 0, maxVersion: 11, flexibleMinVersion: 9 });
    expect(Fetch).toMatchObject({ key: 1, minVersion: 0, maxVersion: 16, flexibleMinVersion: 12 });
    expect(apiByKey.get(17)!.flexibleMinVersion).toBe(Infinity); // SaslHandshake is never flexible
  });
});

describe("absent fields decode to their defaults", () => {
  test("Fetch response v3 has no lastStableOffset/logStartOffset/preferredReadReplica", () => {
    const w = new Writer();
    Fetch.encodeResponse(w, 3, {
      ...messages.defaultFetchResponse(),
      responses: [{ ...messages.defaultFetchResponseFetchableTopicResponse(), topic: "t", partitions: [{ ...messages.defaultFetchResponsePartitionData(), lastStableOffset: 5n, logStartOffset: 6n, preferredReadReplica: 7, records: new Uint8Array([1]) }] }],
    });
    const p = Fetch.decodeResponse(new Reader(w.finish()), 3).responses[0]!.partitions[0]!;
    expect(p.lastStableOffset).toBe(-1n);
    expect(p.logStartOffset).toBe(-1n);
    expect(p.preferredReadReplica).toBe(-1);
    expect(p.records).toEqual(new Uint8Array([1]));
  });
  test("Produce request v2 has no transactionalId", () => {
    const w = new Writer();
    Produce.encodeRequest(w, 2, { transactionalId: "tx", acks: 1, timeoutMs: 100, topicData: [] });
    expect(Produce.decodeRequest(new Reader(w.finish()), 2).transactionalId).toBeNull();
  });
});

describe("records", () => {
  test("decoded records are views of the frame, not copies", () => {
    const w = new Writer();
    Produce.encodeRequest(w, 7, { transactionalId: null, acks: -1, timeoutMs: 1, topicData: [{ name: "t", partitionData: [{ index: 0, records: new Uint8Array([9, 8, 7]) }] }] });
    const frame = w.finish();
    const rec = Produce.decodeRequest(new Reader(frame), 7).topicData[0]!.partitionData[0]!.records!;
    expect(rec.buffer).toBe(frame.buffer);
    expect([...rec]).toEqual([9, 8, 7]);
  });

  test.each([11, 12, 16])("a fetch response hands out records chunks uncopied (v%i)", (v) => {
    const big1 = new Uint8Array(RAW_CHUNK_MIN_BYTES + 10).fill(1);
    const small = new Uint8Array([2, 2, 2]);
    const big2 = new Uint8Array(RAW_CHUNK_MIN_BYTES * 3).fill(3);
    const res = {
      ...messages.defaultFetchResponse(),
      responses: [{ ...messages.defaultFetchResponseFetchableTopicResponse(), topic: "t", topicId: new Uint8Array(16).fill(4), partitions: [{ ...messages.defaultFetchResponsePartitionData(), highWatermark: 10n, records: [big1, small, big2] }] }],
    };
    const w = new Writer();
    const mark = w.reserveInt32();
    Fetch.encodeResponse(w, v, res);
    w.patchInt32(mark, w.length - 4);
    const chunks = w.finishChunks();
    expect(chunks).toContain(big1);
    expect(chunks).toContain(big2);
    const joined = w.finish();
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(joined.length);
    expect(new DataView(joined.buffer).getInt32(0)).toBe(joined.length - 4);
    const r = new Reader(joined, 4);
    const back = Fetch.decodeResponse(r, v);
    expect(r.error).toBeNull();
    const rec = back.responses[0]!.partitions[0]!.records!;
    expect(rec.length).toBe(big1.length + small.length + big2.length);
    expect(rec[0]).toBe(1);
    expect(rec[big1.length]).toBe(2);
    expect(rec[rec.length - 1]).toBe(3);
  });
});

describe("tagged fields", () => {
  test("known tagged fields are written only when not default, in tag order with unknown ones", () => {
    const p = {
      ...messages.defaultFetchResponsePartitionData(),
      currentLeader: { leaderId: 3, leaderEpoch: 4 },
      unknownTaggedFields: [{ tag: 0x0f, data: new Uint8Array([0xaa]) }],
    };
    const w = new Writer();
    messages.encodeFetchResponsePartitionData(w, 12, p);
    const b = w.finish();
    // ... records null (0x00), then tags: count 2, tag 1 size 9 (int32 3, int32 4, no tags), tag 15 size 1 0xaa
    expect([...b.subarray(b.length - 16)]).toEqual([0x00, 0x02, 0x01, 0x09, 0, 0, 0, 3, 0, 0, 0, 4, 0x00, 0x0f, 0x01, 0xaa]);
    const back = messages.decodeFetchResponsePartitionData(new Reader(b), 12);
    expect(back.currentLeader).toEqual({ leaderId: 3, leaderEpoch: 4 });
    expect(back.divergingEpoch).toEqual({ epoch: -1, endOffset: -1n });
    expect(back.unknownTaggedFields).toEqual([{ tag: 0x0f, data: new Uint8Array([0xaa]) }]);
  });
});
