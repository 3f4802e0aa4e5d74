// The streams and environment a command runs against. Commands take an Io instead of touching
// `process` so tests can run them in-process with captured output.
import type { Readable, Writable } from "node:stream";

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
}

export function processIo(): Io {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** A mistake in how the command was called: one line on stderr, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  override name = "UsageError";
}

/** The command was well formed but could not do its job: one line on stderr, exit code 1. */
export class RuntimeError extends Error {
  readonly exitCode = 1;
  override name = "RuntimeError";
}

/**
 * Stopped by SIGINT or SIGTERM: exit 130 or 143 (128 + the signal's number, as a shell reports a
 * process killed by it), with `message` on stderr when there is something to say (produce's summary).
 */
export class InterruptedError extends Error {
  override name = "InterruptedError";
  constructor(
    readonly signal: "SIGINT" | "SIGTERM",
    message = "",
  ) {
    super(message);
  }

  get exitCode(): number {
    return exitCodeOf(this.signal);
  }
}

export function exitCodeOf(signal: "SIGINT" | "SIGTERM"): number {
  return signal === "SIGINT" ? EXIT_SIGINT : EXIT_SIGTERM;
}

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;
