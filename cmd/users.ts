// `streamctl users list|create|passwd|delete` — the users a broker's SASL listeners accept, through
// the HTTP control plane (/v1/users). A new password is never a flag (`ps` would show it): it is
// read from --new-password-file, STREAMCTL_NEW_PASSWORD, or the first line of stdin. The broker
// keeps salted SCRAM credentials only; nothing here prints a secret.
import { Command } from "commander";
import { seg } from "../net/http/client.ts";
import { readSecretFile } from "./client-options.ts";
import { admin, collect, controlPlane, type HttpFlags, printJson, sameOutputBelow, withHttpOptions } from "./control-plane.ts";
import { type Io, UsageError } from "./io.ts";
import { formatTable } from "./table.ts";

interface UserDoc {
  name: string;
  superUser: boolean;
  credentials: Array<{ mechanism: string; iterations: number }>;
}

interface PasswordFlags extends HttpFlags {
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
    withHttpOptions(new Command("list").description("users, whether each is a super user, and their SCRAM mechanisms")).action(async (flags: HttpFlags) => {
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
    withHttpOptions(new Command("delete").description("delete a user").argument("<name>")).action(async (name: string, flags: HttpFlags) => {
      const doc = await admin(() => controlPlane(flags, io).delete<{ deleted: string }>(`/v1/users/${seg(name)}`));
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`streamctl: deleted user ${doc.deleted}\n`);
    }),
  );
  return sameOutputBelow(cmd, io);
}
