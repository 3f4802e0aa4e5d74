// The CLI's client for the control plane, on undici's `request` (in the compiled binary Bun
// serves `undici` from its own built-in implementation of the same API). Every call returns the
// parsed JSON document or throws: ControlPlaneError for an answer with {"error":{code,message}},
// ControlPlaneUnreachable when no server answered. Never imports the server side.
import { request } from "undici";

export interface ControlPlaneOptions {
  /** Base URL, e.g. http://127.0.0.1:8092 */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Without a token: sent as HTTP Basic (the broker checks it against the user's SCRAM credential). */
  basic?: { user: string; password: string };
  /** Whole-request timeout. */
  timeoutMs?: number;
  /** PEM CAs to trust for https (a broker's own CA, serve --http-tls). */
  ca?: string;
}

export class ControlPlaneError extends Error {
  override name = "ControlPlaneError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ControlPlaneUnreachable extends Error {
  override name = "ControlPlaneUnreachable";
}

const TIMEOUT_MS_DEFAULT = 30_000;

export class ControlPlaneClient {
  readonly base: URL;

  constructor(readonly options: ControlPlaneOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new TypeError(`not a URL: ${options.url}`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new TypeError(`not an http(s) URL: ${options.url}`);
    this.base = base;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PATCH", path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.call<T>("DELETE", path);
  }

  async call<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    const url = new URL(path.replace(/^\//, ""), this.base.href.endsWith("/") ? this.base : `${this.base.href}/`);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    else if (this.options.basic) headers.authorization = `Basic ${Buffer.from(`${this.options.basic.user}:${this.options.basic.password}`).toString("base64")}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: { statusCode: number; body: { text(): Promise<string> } };
    try {
      const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS_DEFAULT) };
      if (this.options.ca !== undefined) {
        // Bun's undici ignores a dispatcher's CA; its fetch takes one.
        const r = await fetch(url, { ...init, tls: { ca: this.options.ca } } as RequestInit);
        res = { statusCode: r.status, body: { text: () => r.text() } };
      } else res = await request(url, init);
    } catch (err) {
      const e = err as { code?: string; name?: string; message?: string };
      const why = e.name === "TimeoutError" ? "timed out" : (e.code ?? e.message ?? String(err));
      throw new ControlPlaneUnreachable(`cannot reach the control plane at ${this.base.origin} (${why}); is \`streamctl serve\` running? (--http or STREAMCTL_HTTP)`);
    }
    const text = await res.body.text();
    let doc: unknown;
    try {
      doc = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new ControlPlaneError(res.statusCode, "BAD_RESPONSE", `${method} ${url.pathname}: HTTP ${res.statusCode} with a body that is not JSON`);
    }
    if (res.statusCode >= 400) {
      const error = (doc as { error?: { code?: string; message?: string } }).error;
      throw new ControlPlaneError(res.statusCode, error?.code ?? `HTTP_${res.statusCode}`, error?.message ?? `${method} ${url.pathname}: HTTP ${res.statusCode}`);
    }
    return doc as T;
  }
}

/** A path segment: topic names are safe, group ids can be anything. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
