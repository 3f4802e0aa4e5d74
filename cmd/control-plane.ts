// What every management command (`topics`, `groups`, `top`) shares: the --http / --http-token
// flags with their environment fallbacks, the client, and the mapping of control-plane failures
// to the exit-code contract (an answer from the broker or no answer at all: exit 1, one line).
import { type Command, Option } from "commander";
import { ControlPlaneClient, ControlPlaneError, ControlPlaneUnreachable } from "../net/http/client.ts";
import { readFileSync } from "node:fs";
import { readSecretFile } from "./client-options.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { loadProfile } from "./profile.ts";

export const HTTP_URL_DEFAULT = "http://127.0.0.1:8092";

export interface HttpFlags {
  http?: string;
  httpTokenFile?: string;
  json?: boolean;
  profile?: string;
}

export function withHttpOptions(cmd: Command, json = true): Command {
  cmd.option("--http <url>", `control plane URL (env STREAMCTL_HTTP, default ${HTTP_URL_DEFAULT})`);
  cmd.option("--http-token-file <file>", "file holding the control plane's bearer token (or env STREAMCTL_HTTP_TOKEN; never a flag: `ps` shows flags)");
  cmd.addOption(new Option("--http-token <token>").hideHelp().argParser(() => {
    throw new UsageError("--http-token would show the token in `ps`: use --http-token-file FILE or STREAMCTL_HTTP_TOKEN");
  }));
  if (json) cmd.option("--json", "print the control plane's JSON instead of a table");
  return cmd;
}

/** The control plane client: flags, then environment, then the profile (cmd/client-options.ts). */
export function controlPlane(flags: HttpFlags, io: Io): ControlPlaneClient {
  const profile = loadProfile(io.env, flags.profile);
  const url = flags.http ?? (io.env.STREAMCTL_HTTP || undefined) ?? profile?.http ?? HTTP_URL_DEFAULT;
  const tokenFile = flags.httpTokenFile ?? profile?.httpTokenFile;
  const token = flags.httpTokenFile !== undefined ? readSecretFile("--http-token-file", flags.httpTokenFile) : io.env.STREAMCTL_HTTP_TOKEN || (tokenFile !== undefined ? readSecretFile(`profile ${profile?.name}: httpTokenFile`, tokenFile) : undefined);
  const ca = profile?.tlsCa !== undefined && url.startsWith("https:") ? readCa(profile.tlsCa) : undefined;
  try {
    return new ControlPlaneClient({ url, token: token || undefined, ca });
  } catch (err) {
    throw new UsageError(`--http: ${(err as Error).message}`);
  }
}

function readCa(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`tlsCa ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Runs a control-plane call, turning its failures into RuntimeError (exit 1, one line). */
export async function admin<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ControlPlaneError || err instanceof ControlPlaneUnreachable) throw new RuntimeError(oneLine(err.message), { cause: err });
    throw err;
  }
}

/** The control plane's error code behind a failure from admin(), if it answered. */
export function errorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof ControlPlaneError ? cause.code : undefined;
}

/** Nested subcommands do not inherit the entry point's exit override and output streams from
 * addCommand(): give them the same, so a usage mistake deep down is still exit 2, one line. */
export function sameOutputBelow(cmd: Command, io: Io): Command {
  for (const sub of cmd.commands) {
    sub.exitOverride().configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => {},
    });
    sameOutputBelow(sub, io);
  }
  return cmd;
}

function oneLine(s: string): string {
  return s.split("\n")[0]!;
}

export function printJson(io: Io, doc: unknown): void {
  io.stdout.write(`${JSON.stringify(doc)}\n`);
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `K=V` pairs (from --config / --set) into an object; a pair without '=' is a usage error. */
export function keyValues(flag: string, pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, got "${p}"`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

export function nonNegativeInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`${flag}: expected a non-negative integer, got "${value}"`);
  return Number(value);
}
