// `streamctl profile create|list|use|show|delete NAME`: saved connection settings, like
// `rpk profile` and `nats context`. A profile names a broker, the control plane, TLS files and a
// SASL user; every connecting command takes one with --profile or STREAMCTL_PROFILE, else the one
// chosen with `profile use`. Flags and environment override what it says (cmd/client-options.ts).
//
//   ${XDG_CONFIG_HOME:-~/.config}/streamctl/profiles/NAME.json   one profile (mode 0600)
//   ${XDG_CONFIG_HOME:-~/.config}/streamctl/current-profile      the name `profile use` chose
//
// A profile holds a password only when asked (`create --save-password` copies STREAMCTL_PASSWORD
// into it); otherwise it points at a password file. `profile show` never prints a secret, only
// whether one is saved. Files are written to a temp name and renamed, so a crash leaves the old
// profile or the new one.
import { Command } from "commander";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { CLIENT_SASL_MECHANISMS } from "../net/client/security.ts";
import { type Io, UsageError } from "./io.ts";
import { parseHostPort } from "./listen-address.ts";

export interface Profile {
  name: string;
  broker?: string;
  http?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  saslMechanism?: string;
  user?: string;
  passwordFile?: string;
  /** A secret: saved only with --save-password, never printed. */
  password?: string;
  httpTokenFile?: string;
}

const FIELDS = ["broker", "http", "tls", "tlsCa", "tlsCert", "tlsKey", "saslMechanism", "user", "passwordFile", "password", "httpTokenFile"] as const;
const SECRET_FIELDS = new Set(["password"]);

export function configDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "streamctl");
}

function checkName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name === "." || name === "..") throw new UsageError(`profile name "${name}": use 1-64 of A-Z a-z 0-9 . _ -`);
  return name;
}

function profilePath(env: Record<string, string | undefined>, name: string): string {
  return join(configDir(env), "profiles", `${checkName(name)}.json`);
}

function currentPath(env: Record<string, string | undefined>): string {
  return join(configDir(env), "current-profile");
}

/** Writes `text` to `path` readable by its owner only: temp file, then rename. */
function writePrivate(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function readProfile(env: Record<string, string | undefined>, name: string): Profile | null {
  const path = profilePath(env, name);
  if (!existsSync(path)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`profile ${name} (${path}) is not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new UsageError(`profile ${name} (${path}) is not a JSON object`);
  const out: Profile = { name };
  for (const [k, v] of Object.entries(doc)) {
    if (!(FIELDS as readonly string[]).includes(k)) throw new UsageError(`profile ${name} (${path}): unknown setting "${k}"`);
    if (k === "tls" ? typeof v !== "boolean" : typeof v !== "string") throw new UsageError(`profile ${name} (${path}): "${k}" has the wrong type`);
    (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

function currentName(env: Record<string, string | undefined>): string | undefined {
  try {
    const name = readFileSync(currentPath(env), "utf8").trim();
    return name === "" ? undefined : name;
  } catch {
    return undefined;
  }
}

/** The profile named by --profile, STREAMCTL_PROFILE or `profile use`, or null when none is. */
export function loadProfile(env: Record<string, string | undefined>, flag: string | undefined): Profile | null {
  const explicit = flag ?? (env.STREAMCTL_PROFILE || undefined);
  const name = explicit ?? currentName(env);
  if (name === undefined) return null;
  const profile = readProfile(env, name);
  if (profile === null) {
    throw new UsageError(explicit !== undefined ? `no profile ${name} (see \`streamctl profile list\`)` : `the profile in use, ${name}, is gone: \`streamctl profile use NAME\` another`);
  }
  return profile;
}

function listNames(env: Record<string, string | undefined>): string[] {
  try {
    return readdirSync(join(configDir(env), "profiles"))
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

interface CreateFlags {
  broker?: string;
  http?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  saslMechanism?: string;
  user?: string;
  passwordFile?: string;
  savePassword?: boolean;
  httpTokenFile?: string;
  force?: boolean;
}

function createProfile(io: Io, name: string, flags: CreateFlags): void {
  checkName(name);
  const path = profilePath(io.env, name);
  if (existsSync(path) && !flags.force) throw new UsageError(`profile ${name} exists: delete it first, or --force to replace it`);
  if (flags.broker !== undefined) for (const b of flags.broker.split(",")) parseHostPort("--broker", b.trim());
  if (flags.saslMechanism !== undefined && !(CLIENT_SASL_MECHANISMS as readonly string[]).includes(flags.saslMechanism)) {
    throw new UsageError(`--sasl-mechanism: expected ${CLIENT_SASL_MECHANISMS.join(", ")}, got "${flags.saslMechanism}"`);
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  const doc: Omit<Profile, "name"> = {
    broker: flags.broker,
    http: flags.http,
    tls: flags.tls || flags.tlsCa !== undefined || flags.tlsCert !== undefined ? true : undefined,
    tlsCa: abs(flags.tlsCa),
    tlsCert: abs(flags.tlsCert),
    tlsKey: abs(flags.tlsKey),
    saslMechanism: flags.saslMechanism,
    user: flags.user,
    passwordFile: abs(flags.passwordFile),
    httpTokenFile: abs(flags.httpTokenFile),
  };
  if (flags.savePassword) {
    if (!io.env.STREAMCTL_PASSWORD) throw new UsageError("--save-password saves STREAMCTL_PASSWORD, which is not set");
    doc.password = io.env.STREAMCTL_PASSWORD;
  }
  writePrivate(path, `${JSON.stringify(Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined)), null, 2)}\n`);
  writePrivate(currentPath(io.env), `${name}\n`);
  io.stderr.write(`streamctl: created profile ${name} and switched to it\n`);
}

/** A profile as `show` prints it: each setting, secrets as "(saved)". */
export function describeProfile(p: Profile, current: boolean): string {
  const lines = [`name: ${p.name}${current ? " (in use)" : ""}`];
  for (const k of FIELDS) {
    const v = (p as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    lines.push(`${k}: ${SECRET_FIELDS.has(k) ? "(saved)" : String(v)}`);
  }
  return `${lines.join("\n")}\n`;
}

export function profileCommand(io: Io): Command {
  const cmd = new Command("profile").description("saved connection settings: broker, control plane, TLS, SASL user");
  cmd
    .command("create")
    .description("save a profile and switch to it")
    .argument("<name>")
    .option("--broker <host:port>", "Kafka bootstrap broker(s), comma-separated")
    .option("--http <url>", "control plane URL")
    .option("--tls", "connect with TLS")
    .option("--tls-ca <file>", "PEM CA certificates to trust")
    .option("--tls-cert <file>", "PEM client certificate (mTLS)")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--sasl-mechanism <mechanism>", CLIENT_SASL_MECHANISMS.join(" | "))
    .option("--user <name>", "SASL user")
    .option("--password-file <file>", "file holding the SASL password (read at each use)")
    .option("--save-password", "save STREAMCTL_PASSWORD in the profile (file mode 0600) instead of a password file")
    .option("--http-token-file <file>", "file holding the control plane's bearer token")
    .option("--force", "replace a profile of that name")
    .action((name: string, flags: CreateFlags) => createProfile(io, name, flags));
  cmd
    .command("list")
    .description("list profiles; * marks the one in use")
    .action(() => {
      const current = currentName(io.env);
      for (const name of listNames(io.env)) {
        const p = readProfile(io.env, name);
        io.stdout.write(`${name === current ? "*" : " "} ${name}${p?.broker ? `\t${p.broker}` : ""}\n`);
      }
    });
  cmd
    .command("use")
    .description("make a profile the one commands use")
    .argument("<name>")
    .action((name: string) => {
      if (readProfile(io.env, name) === null) throw new UsageError(`no profile ${name}`);
      writePrivate(currentPath(io.env), `${name}\n`);
    });
  cmd
    .command("show")
    .description("a profile's settings (default: the one in use); secrets are never printed")
    .argument("[name]")
    .action((name?: string) => {
      const chosen = name ?? currentName(io.env);
      if (chosen === undefined) throw new UsageError("no profile in use: name one, or `streamctl profile use NAME`");
      const p = readProfile(io.env, chosen);
      if (p === null) throw new UsageError(`no profile ${chosen}`);
      io.stdout.write(describeProfile(p, chosen === currentName(io.env)));
    });
  cmd
    .command("delete")
    .description("delete a profile")
    .argument("<name>")
    .action((name: string) => {
      const path = profilePath(io.env, name);
      if (!existsSync(path)) throw new UsageError(`no profile ${name}`);
      rmSync(path);
      if (currentName(io.env) === name) rmSync(currentPath(io.env), { force: true });
    });
  // Nested commands get the entry point's exit override and streams (as control-plane.ts's
  // sameOutputBelow, which imports this file): a usage mistake is exit 2, one line.
  for (const sub of cmd.commands) {
    sub.exitOverride().configureOutput({ writeOut: (t) => void io.stdout.write(t), writeErr: (t) => void io.stderr.write(t), outputError: () => {} });
  }
  return cmd;
}
