// Shared by the consumer-group integration tests: child processes whose JSON-line output can be
// waited on (an event with a deadline, never a sleep).
import type { Subprocess } from "bun";
import { REPO_ROOT } from "./harness.ts";

export const BUN = `${REPO_ROOT}/node_modules/.bin/bun`;

export class LineChild {
  readonly lines: string[] = [];
  private stderrText = "";
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number>;

  constructor(readonly name: string, readonly proc: Subprocess<"ignore", "pipe", "pipe">) {
    this.exited = proc.exited;
    void this.pump();
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stderr) {
        this.stderrText += dec.decode(chunk, { stream: true });
        this.wake();
      }
    })();
    void this.exited.then(() => this.wake());
  }

  static spawn(name: string, argv: string[], env: Record<string, string> = {}): LineChild {
    return new LineChild(name, Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } }));
  }

  private async pump(): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of this.proc.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves on the next output (stdout or stderr) or exit; used by waitFor below. */
  changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  get stderr(): string {
    return this.stderrText;
  }

  json<T = Record<string, unknown>>(): T[] {
    return this.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as T);
  }

  kill(signal: NodeJS.Signals | number = "SIGKILL"): void {
    this.proc.kill(signal);
  }
}

/**
 * Waits until `check()` is true, re-checking whenever any child prints a line or exits, and
 * also on `poll` (a promise factory, e.g. an admin request) when given. Fails after `timeoutMs`
 * with `describe()` in the message.
 */
export async function waitFor(
  what: string,
  children: LineChild[],
  check: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; describe?: () => string; pollMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (await check()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}${opts.describe ? `: ${opts.describe()}` : ""}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A re-check tick bounds the wait when the condition depends on something that prints nothing.
    const tick = new Promise<void>((r) => (timer = setTimeout(r, Math.min(left, opts.pollMs ?? 1000))));
    await Promise.race([tick, ...children.map((c) => c.changed())]);
    clearTimeout(timer);
  }
}
