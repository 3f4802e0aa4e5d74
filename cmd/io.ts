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

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;
