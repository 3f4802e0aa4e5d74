// What actually goes on the wire from the HTTP door (issue #18 item 5), over raw TCP sockets to the
// compiled binary: every error is the JSON error body, Bun's own included (a malformed request,
// oversized headers, a body over the cap, a method Bun does not know), a loopback door without a
// token refuses a foreign Host, a cross-origin POST is refused while the door's own origin and a
// --http-cors-origin one are accepted, keep-alive and pipelining still work, and a seeded fuzz of
// mangled requests never gets a non-JSON error or a connection closed without an answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { type BrokerProcess, removeDir, startBroker } from "./harness.ts";

let broker: BrokerProcess;
let port: number;

beforeAll(async () => {
  broker = await startBroker({ args: ["--http-cors-origin", "https://app.example", "--http-host", "broker.internal"], env: { STREAMCTL_HTTP_TOKEN: "" } });
  port = Number(broker.http.split(":").at(-1));
  const created = await fetch(`http://${broker.http}/v1/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "front", partitions: 1 }) });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Sends raw bytes; collects what comes back until the server closes or `quietMs` pass without a byte. */
function raw(bytes: string | Uint8Array, quietMs = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timer: ReturnType<typeof setTimeout>;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), quietMs);
    };
    socket.on("connect", () => {
      socket.write(bytes);
      arm();
    });
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      arm();
    });
    socket.on("close", () => done(true));
    socket.on("error", () => done(true));
  });
}

/** Splits a byte stream of responses (Content-Length framed) into answers. */
function answers(text: string): Answer[] {
  const out: Answer[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) throw new Error(`not a response: ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine, ...lines] = rest.slice(0, end).split("\r\n");
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    if (!Number.isInteger(status)) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()] as [string, string]));
    const length = Number(headers.get("content-length") ?? "0");
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** One answer that is the JSON error body with this status and code. */
function expectJsonError(a: Answer, status: number, code: string): void {
  expect(a.headers.get("content-type")).toContain("application/json");
  expect([a.status, JSON.parse(a.body)]).toEqual([status, { error: { code, message: expect.any(String) } }]);
}

const get = (path: string, host = "127.0.0.1", extra = "") => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;

describe("Bun's own refusals are JSON", () => {
  test("an unknown method (FOO) is 405 JSON with Allow, not a closed connection", async () => {
    const r = await raw("FOO /v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const [a] = answers(r.text);
    expectJsonError(a!, 405, "METHOD_NOT_ALLOWED");
    expect(a!.headers.get("allow")).toContain("GET");
    expect(r.closed).toBe(true);
  });

  test("oversized headers are 431 JSON; a malformed request line, no Host or two framings 400 JSON; a body over the cap 413 JSON", async () => {
    expectJsonError(answers((await raw(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`)).text)[0]!, 431, "REQUEST_HEADERS_TOO_LARGE");
    expectJsonError(answers((await raw("GARBAGE\r\n\r\n")).text)[0]!, 400, "BAD_REQUEST");
    expectJsonError(answers((await raw("GET / HTTP/1.1\r\n\r\n")).text)[0]!, 400, "BAD_REQUEST");
    expectJsonError(answers((await raw("POST /v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")).text)[0]!, 400, "BAD_REQUEST");
    expectJsonError(answers((await raw("POST /v1/topics/front/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000000\r\n\r\n")).text)[0]!, 413, "PAYLOAD_TOO_LARGE");
    expectJsonError(answers((await raw("POST /v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")).text)[0]!, 400, "BAD_REQUEST");
  });

  test("keep-alive and pipelining work through the front; an error after good requests comes after their answers", async () => {
    const body = '{"name":"piped"}';
    const chunked = `POST /v1/topics HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const r = await raw(get("/healthz") + chunked + get("/v1/topics/piped", "[::1]:1") + "FOO / HTTP/1.1\r\nHost: x\r\n\r\n");
    const got = answers(r.text);
    expect(got.map((a) => a.status)).toEqual([200, 201, 200, 405]);
    expect(JSON.parse(got[2]!.body).name).toBe("piped");
    expect(r.closed).toBe(true);
  });
});

describe("browsers", () => {
  test("Host: evil.example is refused (421 JSON); --http-host and loopback names are served", async () => {
    expectJsonError(answers((await raw(get("/v1/topics", "evil.example"))).text)[0]!, 421, "MISDIRECTED_REQUEST");
    for (const host of ["broker.internal:8092", "localhost", "127.0.0.1", "[::1]:8092"]) {
      expect(answers((await raw(get("/v1/topics", host), 500)).text)[0]!.status).toBe(200);
    }
  });

  test("a cross-origin POST is refused; the door's own origin and an --http-cors-origin one are accepted", async () => {
    const post = (origin: string) => raw(`POST /v1/topics/front/records HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nx\n`, 500);
    expectJsonError(answers((await post("http://evil.example")).text)[0]!, 403, "CROSS_ORIGIN");
    expect(answers((await post(`http://127.0.0.1:${port}`)).text)[0]!.status).toBe(200);
    const listed = answers((await post("https://app.example")).text)[0]!;
    expect(listed.status).toBe(200);
    expect(listed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const records = await fetch(`http://${broker.http}/v1/topics/front`);
    expect(((await records.json()) as { partitions: Array<{ end: number }> }).partitions[0]!.end).toBe(2);
  });
});

describe("seeded fuzz", () => {
  test("mangled requests get an HTTP answer, JSON when it is an error, never a silent close", async () => {
    let seed = 18;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = [
      get("/v1/topics"),
      get("/healthz", "localhost", "Accept: */*\r\n"),
      "POST /v1/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"name\":\"f\"}",
      "DELETE /v1/topics/nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ];
    const alphabet = ["\r", "\n", " ", ":", "\0", "\x7f", "\xff", "a", "/", "%", "\t", "GET", "Host: x\r\n", "Content-Length: 4\r\n", "Transfer-Encoding: chunked\r\n"];
    const cases: string[] = [];
    for (let i = 0; i < 240; i++) {
      let s = base[rand(base.length)]!;
      for (let m = 1 + rand(3); m > 0; m--) {
        const at = rand(s.length);
        const op = rand(3);
        if (op === 0) s = s.slice(0, at) + s.slice(at + 1 + rand(4));
        else if (op === 1) s = s.slice(0, at) + alphabet[rand(alphabet.length)] + s.slice(at);
        else s = s.slice(0, at) + String.fromCharCode(rand(256)) + s.slice(at + 1);
      }
      cases.push(s.endsWith("\r\n\r\n") ? s : `${s}\r\n\r\n`);
    }
    const bad: string[] = [];
    let answered = 0;
    for (let i = 0; i < cases.length; i += 80) {
      const results = await Promise.all(cases.slice(i, i + 80).map((c) => raw(Buffer.from(c, "latin1"), 1500).then((r) => ({ c, r }))));
      for (const { c, r } of results) {
        // Waiting for more (a Content-Length the mangled body does not fill) is not a failure.
        if (r.text === "" && !r.closed) continue;
        if (r.text === "") {
          bad.push(`closed without an answer: ${JSON.stringify(c)}`);
          continue;
        }
        answered++;
        const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(r.text)?.[1] ?? 0);
        const head = r.text.slice(0, Math.max(0, r.text.indexOf("\r\n\r\n"))).toLowerCase();
        if (status === 0) bad.push(`not HTTP: ${JSON.stringify(r.text.slice(0, 80))} for ${JSON.stringify(c)}`);
        else if (status >= 400 && !head.includes("content-type: application/json")) bad.push(`${status} without JSON for ${JSON.stringify(c)}`);
      }
    }
    expect(bad).toEqual([]);
    expect(answered).toBeGreaterThan(cases.length / 2);
  }, 60_000);
});
