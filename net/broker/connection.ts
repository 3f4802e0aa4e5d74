// One client connection: splits the TCP stream into frames, dispatches each request, and writes
// responses strictly in request order. Bounded in every direction:
//
//   reading  — a frame's declared length is checked against the request cap before any buffer
//              is allocated for it (the splitter does that);
//   in flight— at most IN_FLIGHT_MAX requests per connection are being handled at once; past
//              that, reading pauses until responses go out;
//   writing  — if the client stops reading, responses queue in userland only up to
//              OUTPUT_BYTES_HIGH; past that, reading pauses, so a client that stops reading
//              stops being read. `drain` resumes.
//
// Order of events for one request (must not interleave differently):
//   1. frame complete → slot appended to `slots` (its place in the response order)
//   2. dispatch runs; produce handlers append to the log synchronously, in arrival order
//   3. handler resolves → slot filled → flush() writes every filled slot at the head, in order
import type { Socket } from "bun";
import { FrameSplitter } from "../protocol/framing.ts";
import { dispatch, type DispatchOutcome } from "./dispatch.ts";
import type { BrokerState } from "./state.ts";

const IN_FLIGHT_MAX = 64;
const OUTPUT_BYTES_HIGH = 32 * 1024 * 1024;

interface Slot {
  done: boolean;
  chunks: Uint8Array[] | null; // null = nothing to write (acks=0)
  close: boolean;
}

type PausableSocket = Socket<Connection> & { pause(): void; resume(): void };

export class Connection {
  private readonly splitter: FrameSplitter;
  private readonly slots: Slot[] = [];
  private readonly output: Uint8Array[] = [];
  private outputBytes = 0;
  private inFlight = 0;
  private paused = false;
  private closing = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly socket: PausableSocket,
    private readonly broker: BrokerState,
  ) {
    this.splitter = new FrameSplitter(broker.options.requestBytesMax);
  }

  get closedSignal(): AbortSignal {
    return this.abort.signal;
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.outputBytes === 0;
  }

  private idleWaiters: Array<() => void> = [];

  /** Resolves once no request is being handled and every response has been handed to the socket. */
  whenIdle(): Promise<void> {
    if (this.idle || this.socket.readyState <= 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (!this.idle && !this.closing) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  onData(chunk: Uint8Array): void {
    if (this.closing) return;
    const frames = this.splitter.push(chunk);
    if (this.splitter.error) {
      this.broker.log.debug?.(`closing connection from ${this.socket.remoteAddress}: ${this.splitter.error}`);
      this.closeNow();
      return;
    }
    for (const frame of frames) this.handleFrame(frame);
  }

  private handleFrame(frame: Uint8Array): void {
    const slot: Slot = { done: false, chunks: null, close: false };
    this.slots.push(slot);
    this.inFlight++;
    this.updateReading();
    const ctx = {
      broker: this.broker,
      localAddress: this.socket.localAddress,
      localPort: this.socket.localPort,
      remoteAddress: this.socket.remoteAddress,
      closed: this.abort.signal,
    };
    dispatch(frame, ctx).then(
      (outcome: DispatchOutcome) => this.complete(slot, outcome),
      (err: unknown) => {
        this.broker.log.error(`request handler failed: ${(err as Error)?.stack ?? err}`);
        this.complete(slot, { kind: "close" });
      },
    );
  }

  private complete(slot: Slot, outcome: DispatchOutcome): void {
    slot.done = true;
    this.inFlight--;
    if (outcome.kind === "respond") slot.chunks = outcome.chunks;
    else if (outcome.kind === "close") slot.close = true;
    this.flush();
  }

  private flush(): void {
    while (this.slots.length && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.close) {
        this.closeAfterOutput();
        return;
      }
      if (slot.chunks) for (const c of slot.chunks) this.write(c);
    }
    this.updateReading();
    this.notifyIdle();
  }

  private write(chunk: Uint8Array): void {
    if (this.closing && this.socket.readyState <= 0) return;
    if (this.output.length === 0) {
      const n = this.socket.write(chunk);
      if (n === chunk.byteLength) return;
      if (n < 0) return this.closeNow();
      chunk = chunk.subarray(n);
    }
    this.output.push(chunk);
    this.outputBytes += chunk.byteLength;
  }

  onDrain(): void {
    while (this.output.length) {
      const head = this.output[0]!;
      const n = this.socket.write(head);
      if (n < 0) return this.closeNow();
      this.outputBytes -= Math.max(n, 0);
      if (n < head.byteLength) {
        this.output[0] = head.subarray(n);
        return;
      }
      this.output.shift();
    }
    if (this.closing) {
      this.socket.end();
      this.notifyIdle();
      return;
    }
    this.updateReading();
    this.notifyIdle();
  }

  private updateReading(): void {
    const shouldPause = this.inFlight >= IN_FLIGHT_MAX || this.outputBytes >= OUTPUT_BYTES_HIGH;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused && !this.closing) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private closeAfterOutput(): void {
    this.closing = true;
    this.abort.abort();
    if (this.output.length === 0) this.socket.end();
  }

  closeNow(): void {
    this.closing = true;
    this.abort.abort();
    this.socket.terminate();
  }

  onClose(): void {
    this.closing = true;
    this.abort.abort();
    this.output.length = 0;
    this.outputBytes = 0;
    this.notifyIdle();
  }
}
