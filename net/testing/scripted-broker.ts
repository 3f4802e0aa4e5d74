// A scripted Kafka broker for client unit tests: one node, one topic, answers ApiVersions,
// Metadata and Produce through the generated codec, and lets a test decide each Produce answer
// (error codes per request) to drive the producer's retry and ordering rules deterministically.
// Not a broker: no storage, no validation beyond decoding. A test double: production code never
// imports it (test/no-testing-imports.test.ts checks).
//
// Why net/testing/ and not core/testing/ with the other doubles: it speaks the wire protocol
// (net/protocol's framing, headers and generated messages), and core imports nothing from net.
import type { Socket, TCPSocketListener } from "bun";
import { decodeRecordBatch } from "../../core/batch/record-batch.ts";
import { FrameSplitter } from "../protocol/framing.ts";
import { decodeRequestHeader, encodeResponseHeader } from "../protocol/header.ts";
import {
  ApiVersions,
  defaultApiVersionsResponse,
  defaultMetadataResponse,
  defaultMetadataResponsePartition,
  defaultMetadataResponseTopic,
  defaultProduceResponse,
  defaultProduceResponsePartitionProduceResponse,
  Metadata,
  Produce,
} from "../protocol/messages/index.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";

export interface ProduceSeen {
  /** 1-based request number among Produce requests. */
  n: number;
  /** Produce requests answered before this one arrived. */
  answeredBefore: number;
  values: string[];
}

export class ScriptedBroker {
  /** Values written, in log order (only batches answered with 0). */
  readonly log: string[] = [];
  readonly produces: ProduceSeen[] = [];
  private answered = 0;
  private server!: TCPSocketListener<undefined>;

  constructor(
    readonly topic: string,
    readonly partitions: number,
    /** Error code for the n-th Produce request (1-based). */
    private readonly script: (n: number) => number,
    /** How long each Produce answer is held back. */
    private readonly answerDelayMs = 1,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  start(): this {
    this.server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (s) => void ((s as unknown as { splitter: FrameSplitter }).splitter = new FrameSplitter()),
        data: (s, chunk) => {
          for (const frame of (s as unknown as { splitter: FrameSplitter }).splitter.push(chunk)) this.handle(s, frame, this.reserveSlot(s));
        },
      },
    });
    return this;
  }

  /**
   * Answers leave in request order, as a Kafka broker's do, even though Produce answers are delayed
   * and others are not: each request takes a slot, and a slot is written once all before it were.
   */
  private readonly slots = new WeakMap<object, { base: number; answers: (Uint8Array | null)[] }>();

  private reserveSlot(s: Socket<undefined>): (bytes: Uint8Array) => void {
    let q = this.slots.get(s);
    if (q === undefined) this.slots.set(s, (q = { base: 0, answers: [] }));
    const queue = q;
    const index = queue.base + queue.answers.length;
    queue.answers.push(null);
    return (bytes) => {
      queue.answers[index - queue.base] = bytes;
      while (queue.answers.length > 0 && queue.answers[0] !== null) {
        s.write(queue.answers.shift()!);
        queue.base++;
      }
    };
  }

  private handle(s: Socket<undefined>, frame: Uint8Array, answer: (bytes: Uint8Array) => void): void {
    const r = new Reader(frame, 4);
    const h = decodeRequestHeader(r);
    const w = new Writer();
    const mark = w.reserveInt32();
    encodeResponseHeader(w, h.correlationId, h.apiKey, h.apiVersion);
    if (h.apiKey === ApiVersions.key) {
      ApiVersions.encodeResponse(w, h.apiVersion, {
        ...defaultApiVersionsResponse(),
        apiKeys: [
          { apiKey: Produce.key, minVersion: 3, maxVersion: 9 },
          { apiKey: Metadata.key, minVersion: 1, maxVersion: 12 },
          { apiKey: ApiVersions.key, minVersion: 0, maxVersion: 3 },
        ],
      });
    } else if (h.apiKey === Metadata.key) {
      Metadata.decodeRequest(r, h.apiVersion);
      Metadata.encodeResponse(w, h.apiVersion, {
        ...defaultMetadataResponse(),
        brokers: [{ nodeId: 1, host: "127.0.0.1", port: this.server.port, rack: null }],
        controllerId: 1,
        topics: [
          {
            ...defaultMetadataResponseTopic(),
            name: this.topic,
            partitions: Array.from({ length: this.partitions }, (_, i) => ({ ...defaultMetadataResponsePartition(), partitionIndex: i, leaderId: 1, replicaNodes: [1], isrNodes: [1] })),
          },
        ],
      });
    } else if (h.apiKey === Produce.key) {
      const req = Produce.decodeRequest(r, h.apiVersion);
      const n = this.produces.length + 1;
      const code = this.script(n);
      const values: string[] = [];
      const responses = req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => {
          for (const rec of decodeRecordBatch(p.records!).records) values.push(new TextDecoder().decode(rec.value!));
          return { ...defaultProduceResponsePartitionProduceResponse(), index: p.index, errorCode: code, baseOffset: code === 0 ? BigInt(this.log.length) : -1n };
        }),
      }));
      this.produces.push({ n, answeredBefore: this.answered, values });
      if (code === 0) this.log.push(...values);
      if (req.acks === 0) {
        answer(new Uint8Array(0));
        return;
      }
      // Answer on a later tick, so the client can have several requests in flight.
      setTimeout(() => {
        this.answered++;
        const out = new Writer();
        const m = out.reserveInt32();
        encodeResponseHeader(out, h.correlationId, h.apiKey, h.apiVersion);
        Produce.encodeResponse(out, h.apiVersion, { ...defaultProduceResponse(), responses });
        out.patchInt32(m, out.length - m - 4);
        answer(out.finish());
      }, this.answerDelayMs);
      return;
    }
    w.patchInt32(mark, w.length - mark - 4);
    answer(w.finish());
  }

  stop(): void {
    this.server.stop(true);
  }
}
