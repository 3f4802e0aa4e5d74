// The front's parsing in-process (net/http/front.ts): which heads it refuses with which JSON error,
// what it relays, a chunked body followed byte by byte however it is split, and where the socket to
// Bun.serve lives (and what a killed broker left there is removed).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChunkedScanner, checkHead, errorAnswer, frontPlumbing, HEAD_BYTES_MAX, PRIVATE_DIR_NAME, removeStaleTmpDirs, TARGET_BYTES_MAX, UNIX_PATH_BYTES_MAX } from "./front.ts";

const MAX = 1000;

describe("checkHead", () => {
  test.each([
    ["FOO / HTTP/1.1\r\nHost: a", 405, "METHOD_NOT_ALLOWED"],
    ["get / HTTP/1.1\r\nHost: a", 405, "METHOD_NOT_ALLOWED"],
    ["G(T / HTTP/1.1\r\nHost: a", 400, "BAD_REQUEST"],
    ["GET / HTTP/2.0\r\nHost: a", 400, "BAD_REQUEST"],
    ["GET  / HTTP/1.1\r\nHost: a", 400, "BAD_REQUEST"],
    ["GET http://a/ HTTP/1.1\r\nHost: a", 400, "BAD_REQUEST"],
    ["OPTIONS * HTTP/1.1\r\nHost: a", 400, "BAD_REQUEST"],
    [`GET /${"a".repeat(TARGET_BYTES_MAX)} HTTP/1.1\r\nHost: a`, 414, "URI_TOO_LONG"],
    ["GET / HTTP/1.1", 400, "BAD_REQUEST"],
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b", 400, "BAD_REQUEST"],
    ["GET / HTTP/1.1\r\nHost: a\r\n folded", 400, "BAD_REQUEST"],
    ["GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b", 400, "BAD_REQUEST"],
    ["GET / HTTP/1.1\r\nHost: a\r\nbad header", 400, "BAD_REQUEST"],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1", 400, "BAD_REQUEST"],
    ["POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1", 400, "BAD_REQUEST"],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked", 400, "BAD_REQUEST"],
    ["POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1", 400, "BAD_REQUEST"],
    [`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${MAX + 1}`, 413, "PAYLOAD_TOO_LARGE"],
  ])("%p → %d %s", (head, status, code) => {
    const r = checkHead(head, MAX, []);
    expect(r.ok ? null : [r.error.status, r.error.code]).toEqual([status, code]);
  });

  test("a good head is relayed with the client's copies of our headers dropped and ours added; framing and Connection are read", () => {
    const r = checkHead("POST /v1/topics HTTP/1.1\r\nHost: a\r\nX-Streamctl-Client: 6.6.6.6\r\nx-streamctl-front: guess\r\nContent-Length: 12\r\nConnection: keep-alive, close", MAX, ["x-streamctl-client: 10.0.0.1"]);
    if (!r.ok) throw new Error(r.error.message);
    expect(Buffer.from(r.head).toString("latin1")).toBe("POST /v1/topics HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nConnection: keep-alive, close\r\nx-streamctl-client: 10.0.0.1\r\n\r\n");
    expect([r.method, r.close, r.body]).toEqual(["POST", true, { kind: "length", bytes: 12 }]);
    const http10 = checkHead("GET / HTTP/1.0\r\nHost: a", MAX, []);
    expect(http10.ok && http10.close).toBe(true);
    const chunked = checkHead("PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked", MAX, []);
    expect(chunked.ok && chunked.body).toEqual({ kind: "chunked" });
  });

  test("an error answer is HTTP with the JSON error body and ends the connection", () => {
    const text = Buffer.from(errorAnswer({ status: 431, code: "REQUEST_HEADERS_TOO_LARGE", message: `over ${HEAD_BYTES_MAX}` })).toString("latin1");
    const [head, body] = text.split("\r\n\r\n");
    expect(head).toStartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
    expect(head).toContain("connection: close");
    expect(head).toContain(`content-length: ${Buffer.byteLength(body!)}`);
    expect(JSON.parse(body!)).toEqual({ error: { code: "REQUEST_HEADERS_TOO_LARGE", message: `over ${HEAD_BYTES_MAX}` } });
  });
});

describe("ChunkedScanner", () => {
  const body = "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n";
  const next = "GET / HTTP/1.1\r\n";

  test("ends exactly at the body's last CRLF, however the bytes are split", () => {
    const bytes = Buffer.from(body + next, "latin1");
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new ChunkedScanner();
      const a = s.scan(bytes.subarray(0, cut), 0);
      const total = a.done ? a.used : a.used + s.scan(bytes.subarray(cut), 0).used;
      expect([cut, total]).toEqual([cut, body.length]);
      expect(s.dataBytes).toBe(6);
    }
  });

  test.each([
    ["zz\r\n", "malformed chunk size"],
    ["5\r\nhelloXX", "chunk data is not followed by CRLF"],
    ["5\nhello", "a bare LF in the chunked framing"],
    ["0\r\nbad trailer\r\n\r\n", "malformed trailer line"],
    [`${"1".repeat(5000)}\r\n`, "a chunk-size or trailer line is too long"],
  ])("%p is refused: %s", (input, error) => {
    expect(new ChunkedScanner().scan(Buffer.from(input, "latin1"), 0).error).toBe(error);
  });
});

describe("the upstream socket's directory", () => {
  test("under the data dir: a private .http directory, whatever a killed broker left there replaced", () => {
    const data = mkdtempSync(join(tmpdir(), "streamctl-plumbing-"));
    try {
      mkdirSync(join(data, PRIVATE_DIR_NAME));
      writeFileSync(join(data, PRIVATE_DIR_NAME, "door.sock"), "left by a broker killed with SIGKILL");
      const p = frontPlumbing(data);
      expect([p.dir, p.socket]).toEqual([join(data, PRIVATE_DIR_NAME), join(data, PRIVATE_DIR_NAME, "door.sock")]);
      expect(readdirSync(p.dir)).toEqual([]);
      expect(statSync(p.dir).mode & 0o777).toBe(0o700);
      p.remove();
      expect(existsSync(p.dir)).toBe(false);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test("a data dir whose socket path would be over a unix socket's 107 bytes: a temporary directory named after our pid", () => {
    const long = join(tmpdir(), "d".repeat(UNIX_PATH_BYTES_MAX));
    const p = frontPlumbing(long);
    try {
      expect(p.dir.startsWith(join(tmpdir(), `streamctl-http-${process.pid}-`))).toBe(true);
      expect(Buffer.byteLength(p.socket)).toBeLessThanOrEqual(UNIX_PATH_BYTES_MAX);
      expect(statSync(p.dir).mode & 0o777).toBe(0o700);
      expect(existsSync(long)).toBe(false);
    } finally {
      p.remove();
    }
  });

  test("stale temporary directories: only ours whose pid is gone are removed", () => {
    const tmp = mkdtempSync(join(tmpdir(), "streamctl-plumbing-"));
    try {
      const names = ["streamctl-http-4000001-aB3xYz", "streamctl-http-4000002-Qw9rTy", "streamctl-http-Zx81kL", "streamctl-http-4000003-file", `streamctl-http-${process.pid}-mine00`, "other-4000001-aB3xYz"];
      for (const n of names) n.endsWith("-file") ? writeFileSync(join(tmp, n), "") : mkdirSync(join(tmp, n));
      writeFileSync(join(tmp, names[0]!, "door.sock"), "");
      // 4000002 is alive; 4000001 and 4000003 are gone.
      const removed = removeStaleTmpDirs(tmp, (pid) => pid === 4000002);
      expect(removed).toEqual([join(tmp, "streamctl-http-4000001-aB3xYz")]);
      expect(readdirSync(tmp).sort()).toEqual(names.slice(1).sort());
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
