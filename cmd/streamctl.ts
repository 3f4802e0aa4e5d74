#!/usr/bin/env bun
// streamctl entry point: wires the subcommands into commander and maps every failure to the
// exit-code contract of DESIGN.md (0 ok, 1 runtime failure, 2 usage error), one line on stderr.
//
// Conventions every command follows: `--help` prints help on stdout and exits 0; a usage mistake
// (a bare `streamctl`, a command group without its subcommand, an unknown command or flag, a bad
// value) goes to stderr and exits 2, with "did you mean …" when a known name is close; `topic` and
// `group` are aliases of `topics` and `groups`; `--version` names the commit and the Bun runtime.
import { Command, CommanderError } from "commander";
import { type Io, processIo, UsageError, RuntimeError, InterruptedError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "./io.ts";
import { versionText } from "./version.ts";
import { completionCommand } from "./completion.ts";
import { exitCodesHelp } from "./conventions.ts";
import { serveCommand } from "./serve.ts";
import { produceCommand } from "./produce.ts";
import { consumeCommand } from "./consume.ts";
import { tailCommand } from "./tail.ts";
import { replayCommand } from "./replay.ts";
import { copyCommand } from "./copy.ts";
import { topicsCommand } from "./topics.ts";
import { groupsCommand } from "./groups.ts";
import { topCommand } from "./top.ts";
import { metadataCommand } from "./metadata.ts";
import { clusterCommand } from "./cluster.ts";
import { offsetsCommand } from "./offsets.ts";
import { benchCommand } from "./bench.ts";
import { addSecurityWhereConnecting } from "./client-options.ts";
import { profileCommand } from "./profile.ts";
import { usersCommand } from "./users.ts";
import { aclsCommand } from "./acls.ts";

export type CommandFactory = (io: Io) => Command;

/** Subcommands, in the order `--help` lists them. A command is listed only once it works. */
const subcommands: readonly CommandFactory[] = [
  serveCommand,
  produceCommand,
  consumeCommand,
  tailCommand,
  replayCommand,
  copyCommand,
  topicsCommand,
  groupsCommand,
  metadataCommand,
  clusterCommand,
  offsetsCommand,
  topCommand,
  benchCommand,
  usersCommand,
  aclsCommand,
  profileCommand,
  completionCommand,
];

export function buildProgram(io: Io, factories: readonly CommandFactory[] = subcommands): Command {
  const program = new Command("streamctl")
    .description("A Kafka-compatible event-streaming broker and the command line to drive it")
    .usage("<command> [options]")
    .version(versionText(), "-V, --version", "print the version, the commit it was built from and the Bun runtime")
    .helpOption("-h, --help", "print help (for a command: streamctl <command> --help)")
    .addHelpText("after", `\n${exitCodesHelp()}\nEvery option of every command: man -l bin/streamctl.1 (make man).\n`)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => {}, // run() prints the one-line message itself
    });
  for (const factory of factories) {
    const cmd = factory(io);
    // Every command that connects takes the same TLS, SASL and profile flags (cmd/client-options.ts).
    addSecurityWhereConnecting(cmd);
    cmd.exitOverride().configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => {},
    });
    program.addCommand(cmd);
  }
  return program;
}

/** Runs the CLI and resolves to the exit code; never calls process.exit itself. */
export async function run(argv: string[], io: Io, factories?: readonly CommandFactory[]): Promise<number> {
  const program = buildProgram(io, factories);
  if (argv.length === 0) {
    // A bare `streamctl` is a usage mistake: the help goes to stderr, exit 2.
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT_OK;
  } catch (err) {
    return reportError(err, io);
  }
}

/** commander's message on one line: "unknown command 'tpoics' (did you mean topics?)". */
export function commanderMessage(message: string): string {
  const [first, ...rest] = message.replace(/^error: /, "").split("\n");
  const hint = rest.map((l) => /^\(Did you mean (.*)\?\)$/.exec(l.trim())).find((m) => m !== null);
  return hint ? `${first} (did you mean ${hint[1]}?)` : first!;
}

function reportError(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT_OK;
    // A command group without its subcommand: commander printed its help on stderr.
    if (err.code === "commander.help") return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    io.stderr.write(`streamctl: ${commanderMessage(err.message)}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof UsageError) {
    io.stderr.write(`streamctl: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof RuntimeError) {
    io.stderr.write(`streamctl: ${err.message}\n`);
    return EXIT_RUNTIME;
  }
  if (err instanceof InterruptedError) {
    if (err.message !== "") io.stderr.write(`streamctl: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`streamctl: ${message.split("\n")[0]}\n`);
  return EXIT_RUNTIME;
}

if (import.meta.main) {
  const code = await run(process.argv.slice(2), processIo());
  process.exitCode = code;
}
