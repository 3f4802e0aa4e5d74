// `streamctl users list|create|passwd|delete` — the users a broker's SASL listeners accept, through
// the HTTP control plane (/v1/users). A new password is never a flag (`ps` would show it): it is
// read from --new-password-file, STREAMCTL_NEW_PASSWORD, or the first line of stdin. The broker
// keeps salted SCRAM credentials only; nothing here prints a secret.
import { Command } from "commander";
import { type ControlPlaneClient, ControlPlaneError, ControlPlaneUnreachable, seg } from "../net/http/client.ts";
import { collect, hiddenTokenFlag, printJson, sameOutputBelow } from "./admin-common.ts";
import { profileOption, readSecretFile } from "./client-options.ts";
import { chooseControlPlane, controlPlaneClient, HTTP_URL_DEFAULT, type HttpFlags } from "./control-plane.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { formatTable } from "./table.ts";

interface UserDoc {
  name: string;
  superUser: boolean;
  credentials: Array<{ mechanism: string; iterations: number }>;
}

interface UsersFlags extends HttpFlags {
  json?: boolean;
}

function withHttpOptions(cmd: Command): Command {
  cmd.option("--http <url>", `the control plane: HOST:PORT or an http(s) URL (env STREAMCTL_HTTP, the profile's, default ${HTTP_URL_DEFAULT})`);
  cmd.option("--http-token-file <file>", "file holding the control plane's bearer token (or env STREAMCTL_HTTP_TOKEN)");
  cmd.addOption(hiddenTokenFlag());
  cmd.addOption(profileOption());
  cmd.option("--json", "print the control plane's JSON instead of a table");
  return cmd;
}

function controlPlane(flags: UsersFlags, io: Io): ControlPlaneClient {
  const choice = chooseControlPlane(flags, io.env);
  if (choice.url === null) throw new UsageError("users are managed through the control plane: --http HOST:PORT (not none)");
  // A guessed default is named here: `users` has no other door to fall back on.
  return controlPlaneClient({ ...choice, named: true });
}

/** Runs a control-plane call, its failures as one-line RuntimeErrors (exit 1). */
async function admin<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ControlPlaneError || err instanceof ControlPlaneUnreachable) throw new RuntimeError(err.message.split("\n")[0]!, { cause: err });
    throw err;
  }
}

interface PasswordFlags extends UsersFlags {
  newPasswordFile?: string;
  mechanism?: string[];
  iterations?: string;
  superUser?: boolean;
}

async function newPassword(io: Io, flags: PasswordFlags): Promise<string> {
  if (flags.newPasswordFile !== undefined) return readSecretFile("--new-password-file", flags.newPasswordFile);
  if (io.env.STREAMCTL_NEW_PASSWORD) return io.env.STREAMCTL_NEW_PASSWORD;
  if ((io.stdin as { isTTY?: boolean }).isTTY) throw new UsageError("the new password: --new-password-file FILE, STREAMCTL_NEW_PASSWORD, or a line on stdin");
  let text = "";
  for await (const chunk of io.stdin) {
    text += String(chunk);
    if (text.includes("\n")) break;
  }
  const line = text.split(/\r?\n/)[0]!;
  if (line === "") throw new UsageError("no new password on stdin (or use --new-password-file FILE or STREAMCTL_NEW_PASSWORD)");
  return line;
}

function credentialOptions(cmd: Command): Command {
  return cmd
    .option("--new-password-file <file>", "file holding the new password (or env STREAMCTL_NEW_PASSWORD, or the first line of stdin)")
    .option("--mechanism <mechanism>", "SCRAM-SHA-256 or SCRAM-SHA-512, repeatable (default both)", collect)
    .option("--iterations <n>", "SCRAM iterations, 4096-16384 (default 4096)");
}

function credentialBody(flags: PasswordFlags, password: string): Record<string, unknown> {
  const body: Record<string, unknown> = { password };
  if (flags.mechanism !== undefined) body.mechanisms = flags.mechanism;
  if (flags.iterations !== undefined) {
    if (!/^\d+$/.test(flags.iterations)) throw new UsageError(`--iterations: expected an integer, got "${flags.iterations}"`);
    body.iterations = Number(flags.iterations);
  }
  return body;
}

function describe(u: UserDoc): string {
  return u.credentials.map((c) => `${c.mechanism} (${c.iterations})`).join(", ");
}

export function usersCommand(io: Io): Command {
  const cmd = new Command("users").description("users of the broker's SASL listeners (PLAIN and SCRAM), through the control plane");
  cmd.addCommand(
    withHttpOptions(new Command("list").description("users, whether each is a super user, and their SCRAM mechanisms")).action(async (flags: UsersFlags) => {
      const doc = await admin(() => controlPlane(flags, io).get<{ users: UserDoc[] }>("/v1/users"));
      if (flags.json) return printJson(io, doc);
      io.stdout.write(formatTable(["USER", "SUPER", "CREDENTIALS"], doc.users.map((u) => [u.name, u.superUser ? "yes" : "no", describe(u)])));
    }),
  );
  cmd.addCommand(
    credentialOptions(withHttpOptions(new Command("create").description("create a user").argument("<name>")))
      .option("--super-user", "the user may do anything (manage users, and everything ACLs would guard)")
      .action(async (name: string, flags: PasswordFlags) => {
        const body = { name, ...credentialBody(flags, await newPassword(io, flags)), ...(flags.superUser ? { superUser: true } : {}) };
        const doc = await admin(() => controlPlane(flags, io).post<UserDoc>("/v1/users", body));
        if (flags.json) return printJson(io, doc);
        io.stderr.write(`streamctl: created user ${doc.name}${doc.superUser ? " (super user)" : ""}: ${describe(doc)}\n`);
      }),
  );
  cmd.addCommand(
    credentialOptions(withHttpOptions(new Command("passwd").description("set a user's password (its old credentials all go)").argument("<name>"))).action(async (name: string, flags: PasswordFlags) => {
      const body = credentialBody(flags, await newPassword(io, flags));
      const doc = await admin(() => controlPlane(flags, io).put<UserDoc>(`/v1/users/${seg(name)}`, body));
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`streamctl: changed the password of ${doc.name}: ${describe(doc)}\n`);
    }),
  );
  cmd.addCommand(
    withHttpOptions(new Command("delete").description("delete a user").argument("<name>")).action(async (name: string, flags: UsersFlags) => {
      const doc = await admin(() => controlPlane(flags, io).delete<{ deleted: string }>(`/v1/users/${seg(name)}`));
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`streamctl: deleted user ${doc.deleted}\n`);
    }),
  );
  return sameOutputBelow(cmd, io);
}
