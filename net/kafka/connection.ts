// One client connection: splits the TCP stream into frames, dispatches each request, and writes
// responses strictly in request order. Bounded in every direction:
//
//   reading  — a frame's declared length is checked against the request cap before any buffer
//              is allocated for it (the splitter does that);
//   in flight— at most IN_FLIGHT_MAX requests per connection are being handled at once; past
//              that, reading pauses until responses go out. Frames already read (one chunk may
//              hold thousands) wait in `pending` and are dispatched only within these bounds;
//              pausing alone stops only the next read (issue #7). At most FETCH_IN_FLIGHT_MAX
//              fetches run at once per connection: each one copies up to its max bytes before
//              anything reaches the output queue, so 64 pipelined fetches would hold 64 of them;
//   writing  — if the client stops reading, responses queue in userland only up to
//              OUTPUT_BYTES_HIGH; past that, reading pauses, so a client that stops reading
//              stops being read. `drain` resumes.
//   turns    — after READ_BYTES_PER_TURN read, or once every connection together has read
//              TURN_BYTES_MAX this turn, reading pauses until a later turn of the event loop
//              (oldest first): a fast sender, or many, cannot keep Bun reading while others wait.
//
// Order of events for one request (must not interleave differently):
//   0. frame complete → queued in `pending`; dispatched while under the in-flight and output bounds
//   1. dispatched → slot appended to `slots` (its place in the response order)
//   2. dispatch runs; produce handlers append to the log synchronously, in arrival order
//   3. handler resolves → slot filled → flush() writes every filled slot at the head, in order
//   4. lent buffers go back (core/lent-buffers.ts): a response chunk once handed to the socket
//      whole (a large read of the active segment), a large Produce request once answered (its
//      batches are in the log's file by then; nothing keeps a view of the request)
//
// Request memory (net/kafka/admission.ts): every frame is counted against the broker's budget from
// its length prefix until its answer is handed to the socket (step 3's write; a frame answered with
// nothing, at completion); a frame that does not fit pauses reading until the budget grants it.
// A connection's frame cap is min(request cap, budget): a frame no budget could hold is refused at
// its length. Whatever a closing connection still counts is given back at once.
//
// A connection that has not sent one whole request within its first-request timeout is closed: an
// idle socket must not hold a slot for the idle timeout's 10 minutes. Nor may a frame that stops
// arriving hold its request memory that long: once a frame's length is read, a connection that
// sends no byte of it for the request body timeout (serve --request-body-timeout-ms, 30 s) while
// we are reading is closed and what it counted is given back (counted in /metrics as
// streamctl_connections_timed_out_total{reason="kafka_request_stalled"}, logged once per 10 s).
// Time that we do not read it (paused: in-flight bound, output bound, waiting for memory) does not
// count against the client.
//
// Before a SASL connection has logged in (net/kafka/session.ts) it is read one request at a time
// (each answered before the next is dispatched: a login step changes what the next frame may be),
// its frames are at most SASL_FRAME_BYTES_MAX, and it must log in within AUTH_TIMEOUT_MS.
import type { Socket } from "bun";
import { giveBack, lendGatherBuffer, lendSpare, RECYCLE_MIN_BYTES } from "../../core/lent-buffers.ts";
import { FrameSplitter } from "../protocol/framing.ts";
import { type ConnectionContext, dispatch, type DispatchOutcome, type OutcomeSink } from "./dispatch.ts";
import { CLOSE_CONNECTION, EncodedResponse, type KafkaDoor } from "./handler.ts";
import { AUTH_TIMEOUT_MS, FETCH_IN_FLIGHT_MAX, FIRST_REQUEST_TIMEOUT_MS_DEFAULT, IN_FLIGHT_MAX, OUTPUT_BYTES_HIGH, READ_BYTES_PER_TURN, SASL_FRAME_BYTES_MAX, TURN_BYTES_MAX } from "./limits.ts";
import { REQUEST_BODY_TIMEOUT_MS_DEFAULT } from "../../core/limits.ts";
import { refuse } from "./refusals.ts";
import { Session } from "./session.ts";

const FETCH_KEY = 1;
const PRODUCE_KEY = 0;
const EMPTY = new Uint8Array(0);

/** A request's place in the response order; dispatch settles it when the answer is ready. */
class Slot implements OutcomeSink {
  done = false;
  chunks: Uint8Array | Uint8Array[] | null = null; // null = nothing to write (acks=0)
  close = false;

  constructor(
    private readonly connection: Connection,
    readonly fetch: boolean,
    /** A large Produce request, given back once answered (it may be a lent buffer). */
    readonly produceFrame: Uint8Array | null,
    /** What the frame counts against the request memory until its answer is written. */
    readonly frameBytes: number,
  ) {}

  settle(outcome: DispatchOutcome): void {
    this.connection.complete(this, outcome);
  }
}

type PausableSocket = Socket<Connection> & { pause(): void; resume(): void };

/**
 * Turns of the event loop, counted only while some connection reads (an immediate armed by the
 * first read of a turn): what a connection read "this turn" is what it read since n changed.
 *
 * Big readers together read about TURN_BYTES_MAX per turn: a connection past its own share
 * (READ_BYTES_PER_TURN), or one that read TURN_SHARE_MIN_BYTES or more once the turn's total is
 * past TURN_BYTES_MAX, yields and waits in `yielded`; each turn lets the oldest waiters read again,
 * as many as the budget holds at what each read in its last turn. Small readers (a request of a
 * few KiB) never wait for big ones. Sixteen senders of 95 MiB frames, each reading its own share,
 * once made gaps of 15–30 ms per turn (page faults of fresh memory: ~7 ms per MiB on this VM,
 * half in Bun's read, half in the copy into the frame), in which every other client waited
 * (issue #18); bench/abuse-lag.ts partial16: 60–70 gaps over 10 ms in 10 s before, 2–6 after.
 */
const loopTurn = {
  n: 0,
  armed: false,
  /** Bytes every connection read this turn. */
  bytes: 0,
  /** Connections paused until a later turn, oldest first, from `head`. */
  yielded: [] as Connection[],
  head: 0,
  arm(): void {
    if (this.armed) return;
    this.armed = true;
    setImmediate(nextTurn); // one function for every turn, not a closure each
  },
};

/** Bun reads a socket 512 KiB at a time: what one released connection may read before it is seen. */
const READ_BYTES_AT_ONCE = 512 * 1024;
/** A connection that read less than this in a turn is not paused for the turn's total. */
const TURN_SHARE_MIN_BYTES = 64 * 1024;

function nextTurn(): void {
  loopTurn.n++;
  loopTurn.armed = false;
  loopTurn.bytes = 0;
  // Released oldest first while the turn's budget holds what each read in its last turn (one of
  // Bun's reads at most): many small senders go together, a big one or two at a time.
  const yielded = loopTurn.yielded;
  let expected = 0;
  while (loopTurn.head < yielded.length && (expected === 0 || expected < TURN_BYTES_MAX)) {
    const c = yielded[loopTurn.head]!;
    yielded[loopTurn.head++] = undefined as unknown as Connection;
    expected += c.endTurn();
  }
  if (loopTurn.head === yielded.length) {
    yielded.length = 0;
    loopTurn.head = 0;
  } else loopTurn.arm(); // the rest read in later turns, whether or not anyone reads in this one
}

export class Connection {
  private readonly splitter: FrameSplitter;
  private readonly slots: Slot[] = [];
  /** Frames read but not yet dispatched, in arrival order. */
  private pending: Uint8Array[] = [];
  private pendingHead = 0;
  private readonly output: Uint8Array[] = [];
  private outputBytes = 0;
  private inFlight = 0;
  private fetchesInFlight = 0;
  private paused = false;
  private closing = false;
  private readonly abort = new AbortController();
  /** What every request on this connection shares, made once: the socket's address getters
   * build a new string each time they are read. */
  private readonly context: ConnectionContext;
  /** The client's address as counted per address (net/kafka/admission.ts). */
  address = "";
  /** Who this connection acts as; where its SASL login stands. */
  readonly session: Session;
  /** Closes a connection that has not logged in (or finished its TLS handshake) in time. */
  private loginDeadline: ReturnType<typeof setTimeout> | null = null;
  /** Closes a connection that has not sent a whole request in time (cleared by the first one). */
  private firstRequestDeadline: ReturnType<typeof setTimeout> | null = null;
  /** Bytes this connection counts against the request memory (frames read or being read, not yet answered). */
  private reservedBytes = 0;
  /** A frame's bytes the budget granted while the splitter waited (offered again by resume). */
  private grantedBytes = 0;
  /** Withdraws this connection's wait for request memory. */
  private cancelWait: (() => void) | null = null;
  /** When the last bytes arrived, or reading last resumed (performance.now()). */
  private lastBytesAt = 0;
  /** Runs while a frame is arriving and the socket is read: closes a connection whose frame stalls. */
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  /** Bytes read in the turn of the event loop numbered turnSeen. */
  private readThisTurn = 0;
  private turnSeen = -1;
  /** Paused until a later turn (in loopTurn.yielded): its share of this one is read. */
  private yielding = false;
  /** Its wait in loopTurn.yielded is over; returns what it may read next turn, about. */
  endTurn(): number {
    this.yielding = false;
    if (this.closing) return 0;
    this.updateReading();
    return this.paused ? 0 : Math.min(this.readThisTurn, READ_BYTES_AT_ONCE);
  }

  constructor(
    private readonly socket: PausableSocket,
    private readonly door: KafkaDoor,
  ) {
    this.session = new Session(door.security);
    const loggedOut = this.session.phase !== "done";
    const admit = door.admission ? (n: number) => this.admit(n) : undefined;
    this.splitter = new FrameSplitter(loggedOut ? Math.min(SASL_FRAME_BYTES_MAX, this.frameBytesMax) : this.frameBytesMax, { lendMinBytes: RECYCLE_MIN_BYTES, spare: lendSpare, lend: lendGatherBuffer, admit });
    if (loggedOut) this.startLoginDeadline();
    else this.startFirstRequestDeadline();
    this.context = {
      broker: door.broker,
      door,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      remoteAddress: socket.remoteAddress,
      closed: this.abort.signal,
      session: this.session,
      holdDispatch: () => this.holdDispatch(),
    };
  }

  /** Closes the connection unless it has logged in within AUTH_TIMEOUT_MS (a TLS listener also
   * arms it for the handshake: see tlsHandshakeDone). */
  startLoginDeadline(): void {
    if (this.loginDeadline !== null) return;
    this.loginDeadline = setTimeout(() => {
      this.door.broker.log.debug?.(`closing connection from ${this.socket.remoteAddress}: not logged in after ${AUTH_TIMEOUT_MS} ms`);
      this.closeNow();
    }, AUTH_TIMEOUT_MS);
    (this.loginDeadline as { unref?: () => void }).unref?.();
  }

  /** The largest frame: the request cap, or the whole request memory if that is smaller. */
  private get frameBytesMax(): number {
    const budget = this.door.admission?.memory.maxBytes ?? Infinity;
    return Math.min(this.door.options.requestBytesMax, budget);
  }

  private startFirstRequestDeadline(): void {
    const ms = this.door.options.firstRequestTimeoutMs ?? FIRST_REQUEST_TIMEOUT_MS_DEFAULT;
    this.firstRequestDeadline = setTimeout(() => {
      this.door.broker.log.debug?.(`closing connection from ${this.socket.remoteAddress}: no whole request within ${ms} ms`);
      this.door.broker.metrics.connectionTimedOut("kafka_first_request");
      this.closeNow();
    }, ms);
    (this.firstRequestDeadline as { unref?: () => void }).unref?.();
  }

  /** Requests holding further dispatch (RequestContext.holdDispatch). */
  private holds = 0;

  private holdDispatch(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.pump();
    };
  }

  /** The splitter read a frame's length: count it against the request memory, or wait. */
  private admit(bytes: number): boolean {
    if (this.grantedBytes === bytes) {
      this.grantedBytes = 0;
      return true;
    }
    const memory = this.door.admission!.memory;
    if (memory.tryReserve(bytes)) {
      this.reservedBytes += bytes;
      return true;
    }
    this.cancelWait = memory.waitFor(bytes, () => {
      this.cancelWait = null;
      if (this.closing) return memory.release(bytes);
      this.reservedBytes += bytes;
      this.grantedBytes = bytes;
      this.splitter.resume(this.pending);
      this.afterSplit();
    });
    return false;
  }

  /** A frame's answer is written (or the frame needs none): its bytes go back to the budget. */
  private releaseFrame(bytes: number): void {
    if (bytes === 0 || this.reservedBytes < bytes) return;
    this.reservedBytes -= bytes;
    this.door.admission!.memory.release(bytes);
  }

  private clearLoginDeadline(): void {
    if (this.loginDeadline !== null) clearTimeout(this.loginDeadline);
    this.loginDeadline = null;
  }

  /** The TLS handshake finished: a connection that needs no SASL login is now fully open. */
  tlsHandshakeDone(): void {
    if (this.session.phase === "done") this.clearLoginDeadline();
  }

  /** After each answer before login: once logged in, full-size frames and no deadline. */
  private checkLoggedIn(): void {
    if (this.loginDeadline === null || this.session.phase !== "done") return;
    this.clearLoginDeadline();
    this.splitter.maxBytes = this.frameBytesMax;
  }

  get closedSignal(): AbortSignal {
    return this.abort.signal;
  }

  get idle(): boolean {
    return this.inFlight === 0 && this.outputBytes === 0 && this.pendingHead === this.pending.length;
  }

  private idleWaiters: Array<() => void> = [];

  /** Resolves once no request is being handled and every response has been handed to the socket. */
  whenIdle(): Promise<void> {
    if (this.idle || this.socket.readyState <= 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || (!this.idle && !this.closing)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  onData(chunk: Uint8Array): void {
    if (this.closing) return;
    this.lastBytesAt = performance.now();
    this.splitter.push(chunk, this.pending);
    if (this.turnSeen !== loopTurn.n) {
      this.turnSeen = loopTurn.n;
      this.readThisTurn = 0;
      loopTurn.arm();
    }
    this.readThisTurn += chunk.length;
    loopTurn.bytes += chunk.length;
    // A small reader never waits for the big ones: only a connection that read a good part of
    // the turn's budget yields to the turn's total.
    if ((this.readThisTurn >= READ_BYTES_PER_TURN || (loopTurn.bytes >= TURN_BYTES_MAX && this.readThisTurn >= TURN_SHARE_MIN_BYTES)) && !this.yielding) {
      this.yielding = true;
      loopTurn.yielded.push(this);
    }
    this.afterSplit();
  }

  private afterSplit(): void {
    if (this.splitter.error) {
      // Kafka logs a refused frame size too: one line per client per 10 s (net/kafka/refusals.ts).
      const caps = this.door.admission ? `; request cap ${this.door.options.requestBytesMax}, request memory ${this.door.admission.memory.maxBytes}` : "";
      refuse(this.door.broker, { reason: "malformed_frame", apiKey: -1, apiVersion: -1, clientId: null, remoteAddress: this.context.remoteAddress, outcome: "closed", detail: `${this.splitter.error}${caps}` });
      this.closeNow();
      return;
    }
    this.pump();
  }

  /** Dispatches queued frames, in order, while under the in-flight and output bounds. */
  private pump(): void {
    while (this.pendingHead < this.pending.length && !this.closing && this.holds === 0 && this.inFlight < IN_FLIGHT_MAX && this.outputBytes < OUTPUT_BYTES_HIGH) {
      // Not logged in (or logging in again): one request at a time, each answered first.
      if (this.session.phase !== "done" && this.inFlight > 0) break;
      const frame = this.pending[this.pendingHead]!;
      const apiKey = frame.length >= 6 ? (frame[4]! << 8) | frame[5]! : -1;
      if (apiKey === FETCH_KEY && this.fetchesInFlight >= FETCH_IN_FLIGHT_MAX) break;
      this.pending[this.pendingHead++] = EMPTY;
      this.handleFrame(frame, apiKey);
    }
    if (this.pendingHead === this.pending.length && this.pendingHead > 0) {
      this.pending.length = 0; // kept, not replaced: one array less per request
      this.pendingHead = 0;
    }
    this.updateReading();
  }

  private handleFrame(frame: Uint8Array, apiKey: number): void {
    const isFetch = apiKey === FETCH_KEY;
    if (this.firstRequestDeadline !== null) {
      clearTimeout(this.firstRequestDeadline);
      this.firstRequestDeadline = null;
    }
    const slot = new Slot(this, isFetch, apiKey === PRODUCE_KEY && frame.length >= RECYCLE_MIN_BYTES ? frame : null, this.door.admission ? frame.length : 0);
    if (isFetch) this.fetchesInFlight++;
    this.slots.push(slot);
    this.inFlight++;
    // No updateReading here: pump() calls it once after its loop. Pausing per frame of a chunk
    // holding several (a pipelining producer) cost two epoll_ctl calls per read for nothing.
    dispatch(frame, this.context, slot);
  }

  /** A request's answer is ready (Slot.settle): write every answer now at the head, in order. */
  complete(slot: Slot, outcome: DispatchOutcome): void {
    slot.done = true;
    this.inFlight--;
    if (slot.fetch) this.fetchesInFlight--;
    if (outcome instanceof EncodedResponse) {
      slot.chunks = outcome.chunks;
      slot.close = outcome.closeAfter;
    } else if (outcome === CLOSE_CONNECTION) slot.close = true;
    this.checkLoggedIn();
    // Answered (or acks=0 and done): every append of it was written. Not after a failure, which
    // may leave an append waiting for a roll with a view of the request.
    if (slot.produceFrame !== null && !slot.close) giveBack(slot.produceFrame);
    this.flush();
  }

  private flush(): void {
    while (this.slots.length && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      const chunks = slot.chunks;
      if (chunks instanceof Uint8Array) this.write(chunks);
      else if (chunks) for (const c of chunks) this.write(c);
      this.releaseFrame(slot.frameBytes);
      if (slot.close) {
        this.closeAfterOutput();
        return;
      }
    }
    this.pump();
    this.notifyIdle();
  }

  private write(chunk: Uint8Array): void {
    if (this.closing && this.socket.readyState <= 0) return;
    if (this.output.length === 0) {
      const n = this.socket.write(chunk);
      if (n === chunk.byteLength) {
        giveBack(chunk);
        return;
      }
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
      giveBack(head);
    }
    if (this.closing) {
      this.socket.end();
      this.notifyIdle();
      return;
    }
    this.pump();
    this.notifyIdle();
  }

  private updateReading(): void {
    const shouldPause = this.yielding || this.splitter.waiting || this.pendingHead < this.pending.length || this.inFlight >= IN_FLIGHT_MAX || this.outputBytes >= OUTPUT_BYTES_HIGH;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused && !this.closing) {
      this.paused = false;
      this.socket.resume();
      this.lastBytesAt = performance.now(); // the client's silence counts from here
    }
    this.watchStall();
  }

  private get stallMs(): number {
    return this.door.options.requestBodyTimeoutMs ?? REQUEST_BODY_TIMEOUT_MS_DEFAULT;
  }

  /** A stall timer while a frame is arriving and we read; none otherwise (one timer per stall
   * window, not per chunk: it looks at lastBytesAt when it fires). */
  private watchStall(): void {
    if (!this.paused && !this.closing && this.splitter.frameInProgress > 0) {
      if (this.stallTimer === null) this.armStall(this.stallMs);
    } else if (this.stallTimer !== null) {
      clearTimeout(this.stallTimer);
      this.stallTimer = null;
    }
  }

  private armStall(ms: number): void {
    this.stallTimer = setTimeout(() => this.checkStall(), ms);
    (this.stallTimer as { unref?: () => void }).unref?.();
  }

  private checkStall(): void {
    this.stallTimer = null;
    const declared = this.splitter.frameInProgress;
    if (this.paused || this.closing || declared === 0) return;
    const ms = this.stallMs;
    const silent = performance.now() - this.lastBytesAt;
    if (silent < ms) return this.armStall(Math.ceil(ms - silent));
    this.door.broker.metrics.connectionTimedOut("kafka_request_stalled");
    const line = `closed a Kafka connection from ${this.context.remoteAddress}: ${this.splitter.buffered} bytes of a ${declared}-byte request arrived, then nothing for ${ms} ms (--request-body-timeout-ms); its request memory is given back`;
    if (this.door.admission) this.door.admission.refusals.warn("kafka-request-stalled", line);
    else this.door.broker.log.warn(line);
    this.closeNow();
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
    this.clearLoginDeadline();
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    if (this.firstRequestDeadline !== null) clearTimeout(this.firstRequestDeadline);
    this.firstRequestDeadline = null;
    this.cancelWait?.();
    this.cancelWait = null;
    if (this.reservedBytes > 0) this.door.admission!.memory.release(this.reservedBytes);
    this.reservedBytes = 0;
    // A frame cut off by the close: its lent buffer goes back to the pool at once. Left to the
    // collector, the buffers of many such frames (made without zero-filling) held their memory:
    // the fuzz test's peak RSS went from ~290 to ~550 MiB.
    const gather = this.splitter.dropGather();
    if (gather !== null) giveBack(gather);
    this.closing = true;
    this.pending = [];
    this.pendingHead = 0;
    this.abort.abort();
    this.output.length = 0;
    this.outputBytes = 0;
    this.notifyIdle();
  }
}
