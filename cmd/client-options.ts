// What every command that connects to a broker shares about security, and where each setting comes
// from. Flags, added in one place to every command with --broker (cmd/streamctl.ts):
//
//   --tls  --tls-ca FILE  --tls-cert FILE --tls-key FILE   TLS (mTLS with a client certificate)
//   --sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512  --user NAME  --password-file FILE
//   --profile NAME                                         a saved set of these (cmd/profile.ts)
//
// A password is never a flag (`ps` shows flags to every user of the machine): it comes from
// --password-file, STREAMCTL_PASSWORD, or the profile (its password file, or the password saved
// in it by `profile create --save-password`).
//
// Precedence, first that is set wins:
//
// | setting        | flag              | environment               | profile          | default          |
// |----------------|-------------------|---------------------------|------------------|------------------|
// | broker         | --broker          | STREAMCTL_BROKER          | broker           | 127.0.0.1:9092   |
// | control plane  | --http            | STREAMCTL_HTTP            | http             | http://127.0.0.1:8092 |
// | TLS            | --tls, or any --tls-* file | —                | tls, tls files   | off              |
// | mechanism      | --sasl-mechanism  | STREAMCTL_SASL_MECHANISM  | saslMechanism    | SCRAM-SHA-512 when a user is set |
// | user           | --user            | STREAMCTL_USER            | user             | none (no SASL)   |
// | password       | --password-file   | STREAMCTL_PASSWORD        | passwordFile, password | —          |
// | profile        | --profile         | STREAMCTL_PROFILE         | `profile use`    | none             |
import { type Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { CLIENT_SASL_MECHANISMS, type ClientSaslMechanism, type ClientSecurity } from "../net/client/security.ts";
import { type Io, UsageError } from "./io.ts";
import { type HostPort, parseHostPort } from "./listen-address.ts";
import { loadProfile, type Profile } from "./profile.ts";

export const DEFAULT_BROKER = "127.0.0.1:9092";

export interface ClientFlags {
  broker?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  saslMechanism?: string;
  user?: string;
  passwordFile?: string;
  profile?: string;
}

/** The security and profile flags, for a command that has --broker. */
export function addClientSecurityOptions(cmd: Command): void {
  const has = (long: string) => cmd.options.some((o) => o.long === long);
  if (!has("--profile")) cmd.addOption(profileOption());
  if (has("--tls")) return;
  cmd.addOption(new Option("--tls", "connect with TLS (implied by --tls-ca/--tls-cert)"));
  cmd.addOption(new Option("--tls-ca <file>", "PEM CA certificates to trust instead of the system's"));
  cmd.addOption(new Option("--tls-cert <file>", "PEM client certificate (mTLS), with --tls-key"));
  cmd.addOption(new Option("--tls-key <file>", "PEM private key of --tls-cert"));
  cmd.addOption(new Option("--sasl-mechanism <mechanism>", "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (default SCRAM-SHA-512 with --user)"));
  cmd.addOption(new Option("--user <name>", "SASL user (env STREAMCTL_USER)"));
  cmd.addOption(new Option("--password-file <file>", "file holding the SASL password (or env STREAMCTL_PASSWORD; never a flag)"));
}

export function profileOption(): Option {
  return new Option("--profile <name>", "use a saved profile (env STREAMCTL_PROFILE; see `streamctl profile`)");
}

/** Whether a command is one that connects to a Kafka broker (it has --broker), at any depth. */
export function addSecurityWhereConnecting(cmd: Command): void {
  if (cmd.name() === "profile") return; // `profile create` takes these flags to save them
  if (cmd.options.some((o) => o.long === "--broker")) addClientSecurityOptions(cmd);
  else if (cmd.options.some((o) => o.long === "--http") && !cmd.options.some((o) => o.long === "--profile")) cmd.addOption(profileOption());
  for (const sub of cmd.commands) addSecurityWhereConnecting(sub);
}

export function readSecretFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw new UsageError(`${flag} ${path}: the file is empty`);
  return secret;
}

function readPem(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new UsageError(`${flag} ${path}: not a PEM file`);
  return text;
}

export interface ResolvedClient {
  bootstrap: HostPort[];
  security?: ClientSecurity;
  profile?: Profile;
}

/** Bootstrap brokers and security from flags, environment and profile (the table above). */
export function resolveClient(io: Io, flags: ClientFlags): ResolvedClient {
  // An empty variable counts as unset (`STREAMCTL_USER= streamctl …`).
  const env = (name: string) => io.env[name] || undefined;
  const profile = loadProfile(io.env, flags.profile);
  const p: Profile = profile ?? { name: "" };
  const broker = flags.broker ?? env("STREAMCTL_BROKER") ?? p.broker ?? DEFAULT_BROKER;
  const bootstrap = broker.split(",").map((s) => parseHostPort("--broker", s.trim()));
  const security: ClientSecurity = {};

  const tlsCa = flags.tlsCa ?? p.tlsCa;
  const tlsCert = flags.tlsCert ?? p.tlsCert;
  const tlsKey = flags.tlsKey ?? p.tlsKey;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (flags.tls || p.tls || tlsCa !== undefined || tlsCert !== undefined) {
    security.tls = {
      ca: tlsCa === undefined ? undefined : readPem("--tls-ca", tlsCa),
      cert: tlsCert === undefined ? undefined : readPem("--tls-cert", tlsCert),
      key: tlsKey === undefined ? undefined : readPem("--tls-key", tlsKey),
    };
  }

  const user = flags.user ?? env("STREAMCTL_USER") ?? p.user;
  const mechanismName = flags.saslMechanism ?? env("STREAMCTL_SASL_MECHANISM") ?? p.saslMechanism;
  if (mechanismName !== undefined && !CLIENT_SASL_MECHANISMS.includes(mechanismName as ClientSaslMechanism)) {
    throw new UsageError(`--sasl-mechanism: expected ${CLIENT_SASL_MECHANISMS.join(", ")}, got "${mechanismName}"`);
  }
  if (user === undefined && mechanismName !== undefined) throw new UsageError("--sasl-mechanism needs --user (or STREAMCTL_USER)");
  if (user !== undefined) {
    const password = passwordOf(io, flags, p);
    if (password === undefined) throw new UsageError(`no password for user ${user}: set STREAMCTL_PASSWORD or --password-file FILE`);
    security.sasl = { mechanism: (mechanismName ?? "SCRAM-SHA-512") as ClientSaslMechanism, username: user, password };
  }
  return { bootstrap, security: security.tls || security.sasl ? security : undefined, profile: profile ?? undefined };
}

function passwordOf(io: Io, flags: ClientFlags, p: Profile): string | undefined {
  if (flags.passwordFile !== undefined) return readSecretFile("--password-file", flags.passwordFile);
  if (io.env.STREAMCTL_PASSWORD) return io.env.STREAMCTL_PASSWORD;
  if (p.passwordFile !== undefined) return readSecretFile(`profile ${p.name}: passwordFile`, p.passwordFile);
  return p.password;
}
