// Golden frames: bytes written out by hand from the protocol spec (an oracle independent of the
// generator, which a self round trip is not), and every captured frame in testdata/frames/
// decoded and re-encoded byte for byte. See testdata/frames/README.md for the naming.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeRequestHeader, decodeResponseHeader, encodeRequestHeader, encodeResponseHeader, requestHeaderVersion, responseHeaderVersion } from "./header.ts";
import { apiByKey, ApiVersions, Metadata, Produce } from "./messages/index.ts";
import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";

const ascii = (s: string): number[] => [...Buffer.from(s, "latin1")];
const hex = (b: Uint8Array | number[]): string => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString("hex");

/** A frame: int32 length, then `body`. */
function frameOf(body: number[]): Uint8Array {
  const n = body.length;
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...body]);
}

/** Decodes a request frame fully, then re-encodes header and body. */
function reencodeRequest(frame: Uint8Array): { bytes: Uint8Array; header: ReturnType<typeof decodeRequestHeader>; body: unknown } {
  const r = new Reader(frame, 4);
  const header = decodeRequestHeader(r);
  const api = apiByKey.get(header.apiKey);
  if (!api) throw new Error(`no API ${header.apiKey}`);
  const body = api.decodeRequest(r, header.apiVersion);
  expect(r.error).toBeNull();
  expect(r.remaining).toBe(0);
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeRequestHeader(w, header);
  api.encodeRequest(w, header.apiVersion, body);
  w.patchInt32(mark, w.length - 4);
  return { bytes: w.finish(), header, body };
}

function reencodeResponse(frame: Uint8Array, apiKey: number, version: number): { bytes: Uint8Array; correlationId: number; body: unknown } {
  const api = apiByKey.get(apiKey)!;
  const r = new Reader(frame, 4);
  const h = decodeResponseHeader(r, apiKey, version);
  const body = api.decodeResponse(r, version);
  expect(r.error).toBeNull();
  expect(r.remaining).toBe(0);
  const w = new Writer();
  const mark = w.reserveInt32();
  encodeResponseHeader(w, h.correlationId, apiKey, version);
  api.encodeResponse(w, version, body);
  w.patchInt32(mark, w.length - 4);
  return { bytes: w.finish(), correlationId: h.correlationId, body };
}

describe("hand-written golden frames", () => {
  test("ApiVersions v3 request as kcat sends it (request header v2)", () => {
    const frame = frameOf([
      0x00, 0x12, //                    api_key 18
      0x00, 0x03, //                    api_version 3
      0x00, 0x00, 0x00, 0x01, //        correlation_id 1
      0x00, 0x07, ...ascii("rdkafka"), // client_id: int16-length string, even in header v2
      0x00, //                          header tagged fields: none
      0x0b, ...ascii("librdkafka"), //  client_software_name: compact string, length 10 + 1
      0x06, ...ascii("2.0.2"), //       client_software_version: compact string, length 5 + 1
      0x00, //                          body tagged fields: none
    ]);
    const { bytes, header, body } = reencodeRequest(frame);
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "rdkafka", headerVersion: 2 });
    expect(body).toEqual({ clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.0.2" });
    expect(hex(bytes)).toBe(hex(frame));
  });

  test("Metadata v4 request with null topics (all topics)", () => {
    const frame = frameOf([
      0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07, ...ascii("rdkafka"), // header v1
      0xff, 0xff, 0xff, 0xff, // topics: null array
      0x01, //                  allow_auto_topic_creation: true
    ]);
    const { bytes, header, body } = reencodeRequest(frame);
    expect(header.headerVersion).toBe(1);
    expect(body).toEqual({ topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    expect(hex(bytes)).toBe(hex(frame));
  });

  test("Metadata v12 request naming one topic (flexible: compact forms, uuid, tags)", () => {
    const frame = frameOf([
      0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, ...ascii("c"), 0x00, // header v2
      0x02, //                  topics: compact array of 1
      ...new Array(16).fill(0), // topic_id: zero uuid
      0x02, ...ascii("t"), //   name: compact nullable string "t"
      0x00, //                  topic tagged fields
      0x00, //                  allow_auto_topic_creation: false
      0x01, //                  include_topic_authorized_operations: true
      0x00, //                  tagged fields
    ]);
    const { bytes, body } = reencodeRequest(frame);
    expect(body).toEqual({
      topics: [{ topicId: new Uint8Array(16), name: "t" }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: true,
    });
    expect(hex(bytes)).toBe(hex(frame));
  });

  test("Produce v7 request with one opaque record batch", () => {
    const frame = frameOf([
      0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x00, 0x07, ...ascii("rdkafka"),
      0xff, 0xff, //             transactional_id: null
      0xff, 0xff, //             acks: -1
      0x00, 0x00, 0x75, 0x30, // timeout_ms: 30000
      0x00, 0x00, 0x00, 0x01, // topic_data: 1
      0x00, 0x01, ...ascii("t"),
      0x00, 0x00, 0x00, 0x01, // partition_data: 1
      0x00, 0x00, 0x00, 0x02, // index 2
      0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc, // records: 3 bytes
    ]);
    const { bytes, body } = reencodeRequest(frame);
    const p = (body as ReturnType<typeof Produce.decodeRequest>).topicData[0]!.partitionData[0]!;
    expect(p.index).toBe(2);
    expect([...p.records!]).toEqual([0xaa, 0xbb, 0xcc]);
    expect(hex(bytes)).toBe(hex(frame));
  });

  // ElectLeaders: the one API of issue #21 that no client at hand sends (captured frames of the
  // others are in testdata/frames). Written from ElectLeadersRequest.json: v1 adds election_type,
  // v2 is flexible.
  test.each([0, 1, 2])("ElectLeaders v%i request: preferred election of t [0, 1], timeout 60 s", (v) => {
    const flexible = v >= 2;
    const frame = frameOf([
      0x00, 0x2b, 0x00, v, 0x00, 0x00, 0x00, 0x0b, 0x00, 0x05, ...ascii("admin"), ...(flexible ? [0x00] : []), // header v1 / v2
      ...(v >= 1 ? [0x00] : []), //                                election_type: 0 (preferred)
      ...(flexible ? [0x02] : [0x00, 0x00, 0x00, 0x01]), //         topic_partitions: 1
      ...(flexible ? [0x02] : [0x00, 0x01]), ...ascii("t"), //      topic "t"
      ...(flexible ? [0x03] : [0x00, 0x00, 0x00, 0x02]), //         partitions: 2
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //             0, 1
      ...(flexible ? [0x00] : []), //                               topic tagged fields
      0x00, 0x00, 0xea, 0x60, //                                    timeout_ms: 60000
      ...(flexible ? [0x00] : []), //                               tagged fields
    ]);
    const { bytes, header, body } = reencodeRequest(frame);
    expect(header).toMatchObject({ apiKey: 43, apiVersion: v, correlationId: 11, clientId: "admin", headerVersion: flexible ? 2 : 1 });
    expect(body).toEqual({ electionType: 0, topicPartitions: [{ topic: "t", partitions: [0, 1] }], timeoutMs: 60000 });
    expect(hex(bytes)).toBe(hex(frame));
  });

  test("ApiVersions v0 error response (UNSUPPORTED_VERSION, our range only)", () => {
    const frame = frameOf([
      0x00, 0x00, 0x00, 0x09, // correlation_id 9 (response header v0)
      0x00, 0x23, //             error_code 35
      0x00, 0x00, 0x00, 0x01, // api_keys: 1
      0x00, 0x12, 0x00, 0x00, 0x00, 0x03, // key 18, min 0, max 3
    ]);
    const { bytes, correlationId, body } = reencodeResponse(frame, 18, 0);
    expect(correlationId).toBe(9);
    expect(body).toMatchObject({ errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }] });
    expect(hex(bytes)).toBe(hex(frame));
  });

  test("ApiVersions v3 response keeps response header v0 (no header tags)", () => {
    const frame = frameOf([
      0x00, 0x00, 0x00, 0x01, // correlation_id, and no tagged fields after it
      0x00, 0x00, //             error_code 0
      0x02, //                   api_keys: compact array of 1
      0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00, // key 18, 0-3, no tags
      0x00, 0x00, 0x00, 0x00, // throttle_time_ms
      0x00, //                   tagged fields: none (features and epoch at their defaults)
    ]);
    const { bytes, body } = reencodeResponse(frame, 18, 3);
    expect(body).toMatchObject({ errorCode: 0, finalizedFeaturesEpoch: -1n, supportedFeatures: [], zkMigrationReady: false });
    expect(hex(bytes)).toBe(hex(frame));
    const w = new Writer();
    ApiVersions.encodeResponse(w, 3, { ...(body as object), finalizedFeaturesEpoch: 7n } as never);
    // finalized_features_epoch is tagged field 1: count 1, tag 1, size 8, int64 7
    expect(hex(w.finish().subarray(-11))).toBe("01" + "01" + "08" + "0000000000000007");
  });
});

describe("header versions", () => {
  test.each([
    [18, 3, 2, 0], // ApiVersions v3: flexible request, response header always v0
    [18, 2, 1, 0],
    [18, 9, 2, 0], // a future ApiVersions version is flexible too
    [3, 4, 1, 0],
    [3, 9, 2, 1],
    [0, 9, 2, 1],
    [0, 8, 1, 0],
    [1, 12, 2, 1],
    [17, 1, 1, 0], // SaslHandshake never flexible
    [7, 0, 0, 0], // ControlledShutdown v0: request header v0
    [999, 5, 1, 0], // unknown key
  ])("key %i v%i: request header v%i, response header v%i", (key, version, req, res) => {
    expect(requestHeaderVersion(key, version)).toBe(req);
    expect(responseHeaderVersion(key, version)).toBe(res);
  });

  test("an unknown API key or version still yields key, version and correlation id", () => {
    const frame = frameOf([0x03, 0xe7, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78, 0xff, 0xff, 0xde, 0xad]);
    const r = new Reader(frame, 4);
    expect(decodeRequestHeader(r)).toEqual({ apiKey: 999, apiVersion: 7, correlationId: 0x12345678, clientId: null, headerVersion: 1 });
    expect(r.error).toBeNull();
    const r2 = new Reader(frameOf([0x00, 0x12, 0x00, 0x63, 0, 0, 0, 4, 0x00, 0x00, 0x00]));
    r2.pos = 4;
    expect(decodeRequestHeader(r2)).toMatchObject({ apiKey: 18, apiVersion: 99, correlationId: 4, clientId: "", headerVersion: 2 });
  });

  test("a truncated header sets the error", () => {
    const r = new Reader(new Uint8Array([0, 0, 0, 3, 0x00, 0x12, 0x00]), 4);
    decodeRequestHeader(r);
    expect(r.error).not.toBeNull();
  });

  test("Metadata descriptor matches the brief's example shape", () => {
    expect(Metadata).toMatchObject({ key: 3, name: "Metadata", minVersion: 0, maxVersion: 12, flexibleMinVersion: 9 });
  });
});

// Captured frames: testdata/frames/<name>.request.bin (and .response.bin), full frames with the
// length prefix. A response needs its request's key and version, taken from the sibling request.
const FRAMES_DIR = join(import.meta.dir, "../../testdata/frames");
const captured = existsSync(FRAMES_DIR) ? readdirSync(FRAMES_DIR).filter((f) => f.endsWith(".bin")).sort() : [];

describe("captured frames (testdata/frames)", () => {
  if (captured.length === 0) {
    test.skip("no captured frames yet in testdata/frames: see its README for how to add them", () => {});
    return;
  }
  test.each(captured)("%s decodes and re-encodes byte for byte", (file) => {
    const frame = new Uint8Array(readFileSync(join(FRAMES_DIR, file)));
    expect(new DataView(frame.buffer, frame.byteOffset).getInt32(0)).toBe(frame.length - 4);
    if (file.endsWith(".request.bin")) {
      expect(hex(reencodeRequest(frame).bytes)).toBe(hex(frame));
      return;
    }
    const requestFile = file.replace(/\.response\.bin$/, ".request.bin");
    if (!file.endsWith(".response.bin") || !existsSync(join(FRAMES_DIR, requestFile))) {
      throw new Error(`${file}: name it <name>.request.bin / <name>.response.bin with the request beside the response`);
    }
    const req = new Reader(new Uint8Array(readFileSync(join(FRAMES_DIR, requestFile))), 4);
    const h = decodeRequestHeader(req);
    expect(hex(reencodeResponse(frame, h.apiKey, h.apiVersion).bytes)).toBe(hex(frame));
  });
});
