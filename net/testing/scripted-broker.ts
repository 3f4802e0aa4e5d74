// A scripted Kafka broker for client unit tests: one node, one topic, answers ApiVersions,
// Metadata and Produce through the generated codec, and lets a test decide each Produce answer
// (error codes per request) to drive the producer's retry and ordering rules deterministically.
// With `idempotent` it also answers InitProducerId and keeps what an idempotent broker keeps per
// producer (its batches' sequences and offsets): a batch it already holds is answered with its
// offset and not logged again, one that does not follow is OUT_OF_ORDER_SEQUENCE_NUMBER; a script
// answer `{ code, written: true }` logs the batch and still answers `code` (an answer lost after
// the write). Not a broker: no storage, no validation beyond decoding. A test double: production code never
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
  InitProducerId,
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
  /** Producer id, epoch and first sequence of each batch in the request. */
  stamps: Array<[number, number, number]>;
}

/** An error code, or one for an answer lost after the batch was written. */
export type ScriptedAnswer = number | { code: number; written: true };

const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

export class ScriptedBroker {
  /** Values written, in log order (only batches answered with 0). */
  readonly log: string[] = [];
  readonly produces: ProduceSeen[] = [];
  private answered = 0;
  private nextProducerId = 1000;
  /** [producerId, epoch] of each InitProducerId request (-1, -1 for a new producer). */
  readonly initRequests: Array<[number, number]> = [];
  /** Idempotent producers: `${partition}/${id}/${epoch}` → the [first sequence, count, base offset] of each batch logged. */
  private readonly sequences = new Map<string, Array<[number, number, number]>>();
  private server!: TCPSocketListener<undefined>;

  constructor(
    readonly topic: string,
    readonly partitions: number,
    /** Answer for the n-th Produce request (1-based). */
    private readonly script: (n: number) => ScriptedAnswer,
    /** How long each Produce answer is held back (or, given the request's number, that one's). */
    private readonly answerDelayMs: number | ((n: number) => number) = 1,
    readonly idempotent = false,
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
          ...(this.idempotent ? [{ apiKey: InitProducerId.key, minVersion: 0, maxVersion: 4 }] : []),
        ],
      });
    } else if (h.apiKey === InitProducerId.key) {
      // As our broker: an existing id (v3+) gets its next epoch, else a new id.
      const init = InitProducerId.decodeRequest(r, h.apiVersion);
      this.initRequests.push([Number(init.producerId), init.producerEpoch]);
      const bump = h.apiVersion >= 3 && init.producerId >= 0n;
      InitProducerId.encodeResponse(w, h.apiVersion, {
        throttleTimeMs: 0,
        errorCode: 0,
        producerId: bump ? init.producerId : BigInt(this.nextProducerId++),
        producerEpoch: bump ? init.producerEpoch + 1 : 0,
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
      const scripted = this.script(n);
      const code = typeof scripted === "number" ? scripted : scripted.code;
      const write = code === 0 || typeof scripted !== "number";
      const values: string[] = [];
      const stamps: Array<[number, number, number]> = [];
      const responses = req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => {
          const batch = decodeRecordBatch(p.records!);
          const batchValues = batch.records.map((rec) => new TextDecoder().decode(rec.value!));
          values.push(...batchValues);
          const { producerId, producerEpoch, baseSequence } = batch.header;
          stamps.push([producerId, producerEpoch, baseSequence]);
          let answerCode = code;
          let baseOffset = -1;
          if (write) {
            const written = this.idempotent && producerId >= 0 ? this.idempotentWrite(p.index, producerId, producerEpoch, baseSequence, batchValues) : this.logged(batchValues);
            if (typeof written === "number") baseOffset = written;
            else answerCode = written.code;
          }
          return { ...defaultProduceResponsePartitionProduceResponse(), index: p.index, errorCode: answerCode, baseOffset: answerCode === 0 ? BigInt(baseOffset) : -1n };
        }),
      }));
      this.produces.push({ n, answeredBefore: this.answered, values, stamps });
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
      }, typeof this.answerDelayMs === "number" ? this.answerDelayMs : this.answerDelayMs(n));
      return;
    }
    w.patchInt32(mark, w.length - mark - 4);
    answer(w.finish());
  }

  private logged(values: string[]): number {
    const base = this.log.length;
    this.log.push(...values);
    return base;
  }

  /** What an idempotent broker does with a batch (state per partition, producer and epoch). */
  private idempotentWrite(partition: number, producerId: number, epoch: number, sequence: number, values: string[]): number | { code: number } {
    const key = `${partition}/${producerId}/${epoch}`;
    const batches = this.sequences.get(key) ?? [];
    const same = batches.find(([first, count]) => first === sequence && count === values.length);
    if (same !== undefined) return same[2];
    const last = batches.at(-1);
    const expected = last === undefined ? 0 : last[0] + last[1];
    if (sequence !== expected) return { code: OUT_OF_ORDER_SEQUENCE_NUMBER };
    const base = this.logged(values);
    batches.push([sequence, values.length, base]);
    this.sequences.set(key, batches.slice(-5));
    return base;
  }

  stop(): void {
    this.server.stop(true);
  }
}
