// The HTTP door under abuse (issue #18 item 7), against the compiled binary over raw sockets:
// - slowloris: a request head sent a byte at a time (each byte resetting the idle timer) is answered
//   408 JSON and closed once --first-request-timeout-ms has passed since its first byte, and a
//   connection that sends nothing gets the same; meanwhile other connections are served; a request
//   body that stops arriving (Content-Length or chunked, each piece resetting the idle timer) is
//   answered 408 JSON and closed once --request-body-timeout-ms has passed since its head, counted
//   in /metrics and logged, the broker's RSS meanwhile within the bytes sent plus a stated bound;
// - connections: one client address holds at most --max-connections-per-ip, the listener at most
//   --max-connections; one more is answered 503 JSON at once and closed, counted in /metrics and
//   logged, and a slot given back is taken again;
// - a reader that stops reading: an SSE stream of 64 MiB from the beginning to a client that reads
//   its first bytes and then nothing keeps the broker's RSS within a stated bound (the front stops
//   reading Bun's side past 1 MiB queued, and the stream reads the log only when pulled), and the
//   whole stream still arrives once the client reads again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { rssMiB } from "./abuse-attacks.ts";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";

const HEAD_TIMEOUT_MS = 1500;
const BODY_TIMEOUT_MS = 2500;
const PER_IP = 4;
const TOTAL = 6;
/** Slack over a deadline for a loaded 2-core CI box (timers, scheduling). */
const SLACK_MS = 5000;

// Two brokers, so that connections one test leaves closing cannot count against the other's caps.
let slowBroker: BrokerProcess;
let cappedBroker: BrokerProcess;
const portOf = (b: BrokerProcess) => Number(b.http.split(":").at(-1));

beforeAll(async () => {
  [slowBroker, cappedBroker] = await Promise.all([
    startBroker({ args: ["--first-request-timeout-ms", String(HEAD_TIMEOUT_MS), "--request-body-timeout-ms", String(BODY_TIMEOUT_MS)], env: { STREAMCTL_HTTP_TOKEN: "" } }),
    startBroker({ args: ["--max-connections", String(TOTAL), "--max-connections-per-ip", String(PER_IP)], env: { STREAMCTL_HTTP_TOKEN: "" } }),
  ]);
});

afterAll(async () => {
  for (const b of [slowBroker, cappedBroker]) {
    expect(await b.stop()).toBe(0);
    removeDir(b.dataDir);
  }
});

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** A raw connection that collects what it receives and notes when the server closes it. */
class Conn {
  readonly socket: Socket;
  received = "";
  closedAt: number | null = null;
  private waiters: Array<() => void> = [];
  readonly opened: Promise<void>;

  constructor(port: number, localAddress = "127.0.0.1") {
    this.socket = connect({ port, host: "127.0.0.1", localAddress });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("data", (d: Buffer) => {
      this.received += d.toString("latin1");
      this.wake();
    });
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.closedAt = performance.now();
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `cond` holds (checked on each byte received and on close). */
  async until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = performance.now() + ms;
    while (!cond()) {
      if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms; received ${JSON.stringify(this.received.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
  }

  /** The next whole answer (Content-Length framed), taken off what was received. */
  async answer(): Promise<Answer> {
    const parse = (): Answer | null => {
      const end = this.received.indexOf("\r\n\r\n");
      if (end < 0) return null;
      const [statusLine, ...lines] = this.received.slice(0, end).split("\r\n");
      const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()] as [string, string]));
      const length = Number(headers.get("content-length") ?? "0");
      if (this.received.length < end + 4 + length) return null;
      const body = this.received.slice(end + 4, end + 4 + length);
      this.received = this.received.slice(end + 4 + length);
      return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1] ?? 0), headers, body };
    };
    let got: Answer | null = null;
    await this.until(() => (got = parse()) !== null || this.closedAt !== null, "an answer");
    if (got === null) got = parse();
    if (got === null) throw new Error(`closed without an answer; received ${JSON.stringify(this.received)}`);
    return got;
  }

  async get(path: string): Promise<Answer> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    return this.answer();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function expectJsonError(a: Answer, status: number, code: string): string {
  expect(a.headers.get("content-type")).toContain("application/json");
  const body = JSON.parse(a.body) as { error: { code: string; message: string } };
  expect([a.status, body.error.code]).toEqual([status, code]);
  return body.error.message;
}

describe("slowloris", () => {
  const conn = () => new Conn(portOf(slowBroker));
  test("a head sent a byte at a time is answered 408 JSON and closed within the deadline, while another connection is served", async () => {
    const slow = conn();
    await slow.opened;
    const head = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${"X-Slow: a\r\n".repeat(8)}\r\n`;
    const start = performance.now();
    let sent = 0;
    // One byte every 100 ms: each resets the 10 s idle timer; the whole head would take 12 s.
    const drip = setInterval(() => {
      if (slow.closedAt !== null || sent >= head.length) return clearInterval(drip);
      slow.socket.write(head[sent++]!);
    }, 100);
    try {
      const other = conn();
      await other.opened;
      expect((await other.get("/healthz")).status).toBe(200);
      other.destroy();
      const a = await slow.answer();
      const answeredAt = performance.now() - start;
      expect(expectJsonError(a, 408, "REQUEST_TIMEOUT")).toContain(`${HEAD_TIMEOUT_MS} ms`);
      await slow.until(() => slow.closedAt !== null, "the slow connection closed");
      // Not before its deadline, and long before the slow head would have been whole.
      expect(answeredAt).toBeGreaterThanOrEqual(HEAD_TIMEOUT_MS - 50);
      expect(answeredAt).toBeLessThan(HEAD_TIMEOUT_MS + SLACK_MS);
      expect(sent).toBeLessThan(head.length);
    } finally {
      clearInterval(drip);
      slow.destroy();
    }
  });

  test("a connection that sends nothing is answered 408 JSON and closed after the deadline; one that sends its head at once is served", async () => {
    const silent = conn();
    await silent.opened;
    const start = performance.now();
    const prompt = conn();
    await prompt.opened;
    expect((await prompt.get("/healthz")).status).toBe(200);
    // A keep-alive connection's next request is not due: it waits for the idle timeout (10 s).
    expectJsonError(await silent.answer(), 408, "REQUEST_TIMEOUT");
    await silent.until(() => silent.closedAt !== null, "the silent connection closed");
    expect(silent.closedAt! - start).toBeLessThan(HEAD_TIMEOUT_MS + SLACK_MS);
    expect(prompt.closedAt).toBeNull();
    expect((await prompt.get("/healthz")).status).toBe(200);
    prompt.destroy();
    silent.destroy();
  });
});

describe("slow bodies", () => {
  const MiB = 1024 * 1024;
  /** RSS the broker may gain beyond the body bytes it was sent: the front's queue, socket buffers,
   * the runtime's garbage on a loaded machine. */
  const OVERHEAD_MIB = 48;
  const ensureTopic = async () => {
    const r = await fetch(`http://${slowBroker.http}/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "slowbody", partitions: 1 }) });
    expect([201, 409]).toContain(r.status);
  };

  test("a body that stops half way is answered 408 JSON and closed after the body deadline, holding no more than what it sent meanwhile; another connection is served", async () => {
    await ensureTopic();
    const pid = slowBroker.proc.pid;
    const before = rssMiB(pid).now;
    const slow = new Conn(portOf(slowBroker));
    await slow.opened;
    const declared = 24 * MiB;
    const sent = 12 * MiB;
    slow.socket.write(`POST /v1/topics/slowbody/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${declared}\r\n\r\n`);
    const start = performance.now();
    slow.socket.write(Buffer.alloc(sent, "v"));
    // The broker's resident set while the body hangs (sampled: its lifetime peak may predate this test).
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid).now)), 100);
    try {
      const other = new Conn(portOf(slowBroker));
      await other.opened;
      expect((await other.get("/healthz")).status).toBe(200);
      other.destroy();
      const a = await slow.answer();
      const answeredAt = performance.now() - start;
      expect(expectJsonError(a, 408, "REQUEST_TIMEOUT")).toContain(`${BODY_TIMEOUT_MS} ms`);
      await slow.until(() => slow.closedAt !== null, "the slow connection closed");
      expect(answeredAt).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
      expect(answeredAt).toBeLessThan(BODY_TIMEOUT_MS + SLACK_MS);
      if (process.env.ABUSE_DEBUG) console.log(JSON.stringify({ before, peak }));
      expect(peak - before).toBeLessThan(sent / MiB + OVERHEAD_MIB);
    } finally {
      clearInterval(sampler);
      slow.destroy();
    }
  });

  test("a chunked body sent a piece at a time (each resetting the idle timer) is answered 408 JSON at the body deadline, counted and logged", async () => {
    await ensureTopic();
    const slow = new Conn(portOf(slowBroker));
    await slow.opened;
    slow.socket.write("POST /v1/topics/slowbody/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
    const start = performance.now();
    let pieces = 0;
    const drip = setInterval(() => {
      if (slow.closedAt !== null) return clearInterval(drip);
      slow.socket.write("6\r\nvalue\n\r\n");
      pieces++;
    }, 100);
    try {
      const a = await slow.answer();
      expect(expectJsonError(a, 408, "REQUEST_TIMEOUT")).toContain("request body");
      await slow.until(() => slow.closedAt !== null, "the slow connection closed");
      expect(performance.now() - start).toBeLessThan(BODY_TIMEOUT_MS + SLACK_MS);
      expect(pieces).toBeGreaterThan(5); // it kept sending: the idle timer alone would not have ended it
    } finally {
      clearInterval(drip);
      slow.destroy();
    }
    const probe = new Conn(portOf(slowBroker));
    await probe.opened;
    const metrics = await probe.get("/metrics");
    probe.destroy();
    expect(Number(/^streamctl_connections_timed_out_total\{reason="http_body"\} (\d+)$/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(1);
    expect(slowBroker.stderr()).toContain(`did not arrive whole within ${BODY_TIMEOUT_MS} ms of its head (--request-body-timeout-ms)`);
    // Nothing of the cut bodies was appended.
    const topic = (await (await fetch(`http://${slowBroker.http}/v1/topics/slowbody`)).json()) as { partitions: Array<{ end: number }> };
    expect(topic.partitions[0]!.end).toBe(0);
  });
});

describe("connection caps", () => {
  const conn = (from: string) => new Conn(portOf(cappedBroker), from);
  test("past --max-connections-per-ip and --max-connections a connection is answered 503 JSON at once and closed; a slot given back is taken again", async () => {
    const held: Conn[] = [];
    try {
      // Each held connection is served once, so the broker has surely counted it.
      for (let i = 0; i < PER_IP; i++) {
        const c = conn("127.0.0.1");
        held.push(c);
        expect((await c.get("/healthz")).status).toBe(200);
      }
      const overIp = conn("127.0.0.1");
      // Nothing sent: the refusal comes without a request.
      expect(expectJsonError(await overIp.answer(), 503, "TOO_MANY_CONNECTIONS")).toContain(`--max-connections-per-ip ${PER_IP}`);
      await overIp.until(() => overIp.closedAt !== null, "the refused connection closed");
      // Another address still gets in, up to the listener's total.
      for (let i = PER_IP; i < TOTAL; i++) {
        const c = conn("127.0.0.2");
        held.push(c);
        expect((await c.get("/healthz")).status).toBe(200);
      }
      const overTotal = conn("127.0.0.3");
      expect(expectJsonError(await overTotal.answer(), 503, "TOO_MANY_CONNECTIONS")).toContain(`--max-connections ${TOTAL}`);
      await overTotal.until(() => overTotal.closedAt !== null, "the refused connection closed");
      // Counted and logged.
      const metrics = await held[0]!.get("/metrics");
      expect(Number(/^streamctl_connections_refused_total (\d+)$/m.exec(metrics.body)?.[1])).toBeGreaterThanOrEqual(2);
      expect(cappedBroker.stderr()).toContain("refused an HTTP connection from 127.0.0.1: 127.0.0.1 already has --max-connections-per-ip 4 open");
      // A slot given back: the next connection from that address is served (once the close is seen).
      held.shift()!.destroy();
      const deadline = performance.now() + 10_000;
      let status = 0;
      while (status !== 200 && performance.now() < deadline) {
        const c = conn("127.0.0.1");
        status = (await c.get("/healthz")).status;
        if (status === 200) held.push(c);
        else c.destroy();
      }
      expect(status).toBe(200);
    } finally {
      for (const c of held) c.destroy();
    }
  });
});

describe("a reader that stops reading", () => {
  const RECORDS = 256;
  const RECORD_BYTES = 256 * 1024; // 64 MiB in all
  /** Over the RSS before the stream: the front's 1 MiB queue, socket buffers, one SSE chunk in
   * flight (up to a 1 MiB read step of records as JSON), and the garbage of a loaded runtime. */
  const BOUND_MIB = 40;

  test(`an SSE stream of ${(RECORDS * RECORD_BYTES) / 2 ** 20} MiB to a paused reader: broker RSS grows less than ${BOUND_MIB} MiB, and every record arrives once it reads`, async () => {
    const http = `http://${slowBroker.http}`;
    expect((await fetch(`${http}/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "unread", partitions: 1 }) })).status).toBe(201);
    const line = `${"v".repeat(RECORD_BYTES - 1)}\n`;
    for (let sent = 0; sent < RECORDS; sent += 4) {
      const r = await fetch(`${http}/v1/topics/unread/records`, { method: "POST", headers: { "content-type": "text/plain" }, body: line.repeat(4) });
      expect(r.status).toBe(200);
    }
    const pid = slowBroker.proc.pid;
    const before = rssMiB(pid).now;
    const c = new Conn(portOf(slowBroker));
    await c.opened;
    c.socket.write("GET /v1/topics/unread/stream?from=beginning HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // The stream has begun (its first record is on the way), then the client stops reading.
    await c.until(() => c.received.includes("id: 0:0"), "the first record");
    c.socket.pause();
    let peak = 0;
    // Three seconds of a reader that reads nothing: time for a broker that buffers to show it.
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rssMiB(pid).now);
    }
    if (process.env.ABUSE_DEBUG) console.log(JSON.stringify({ before, peak, received: c.received.length }));
    expect(c.received.length).toBeLessThan((RECORDS * RECORD_BYTES) / 2);
    expect(peak - before).toBeLessThan(BOUND_MIB);
    // Reading again: the rest follows, every record in order.
    const last = `id: 0:${RECORDS - 1}\ndata: `;
    // Watching a tail of what arrives (searching all of 64 MiB on each chunk would be quadratic):
    // the last record's event, whole.
    let tail = "";
    const whole = new Promise<void>((resolve) => {
      c.socket.on("data", (d: Buffer) => {
        tail = (tail + d.toString("latin1")).slice(-(RECORD_BYTES + 4096));
        const at = tail.indexOf(last);
        if (at >= 0 && tail.indexOf("\n\n", at) >= 0) resolve();
      });
    });
    c.socket.resume();
    await whole;
    c.destroy();
    // The ready event, then one per record, in order.
    const ids = [...c.received.matchAll(/^id: 0:(\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: RECORDS }, (_, i) => i));
  }, 90_000);
});
