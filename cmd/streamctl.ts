#!/usr/bin/env bun
// streamctl entry point: wires the subcommands into commander and maps every failure to the
// exit-code contract of DESIGN.md (0 ok, 1 runtime failure, 2 usage error), one line on stderr.
import { Command, CommanderError } from "commander";
import { type Io, processIo, UsageError, RuntimeError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "./io.ts";
import { VERSION } from "./version.ts";
import { serveCommand } from "./serve.ts";
import { produceCommand } from "./produce.ts";
import { consumeCommand } from "./consume.ts";
import { tailCommand } from "./tail.ts";
import { replayCommand } from "./replay.ts";
import { topicsCommand } from "./topics.ts";
import { groupsCommand } from "./groups.ts";
import { topCommand } from "./top.ts";
import { benchCommand } from "./bench.ts";
import { addSecurityWhereConnecting } from "./client-options.ts";
import { profileCommand } from "./profile.ts";
import { usersCommand } from "./users.ts";

export type CommandFactory = (io: Io) => Command;

/** Subcommands, in the order `--help` lists them. A command is listed only once it works. */
const subcommands: readonly CommandFactory[] = [
  serveCommand,
  produceCommand,
  consumeCommand,
  tailCommand,
  replayCommand,
  topicsCommand,
  groupsCommand,
  topCommand,
  benchCommand,
  usersCommand,
  profileCommand,
];

export function buildProgram(io: Io, factories: readonly CommandFactory[] = subcommands): Command {
  const program = new Command("streamctl")
    .description("A Kafka-compatible event-streaming broker and the command line to drive it")
    .version(VERSION, "-V, --version")
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
    program.outputHelp();
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT_OK;
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
      return EXIT_OK;
    }
    io.stderr.write(`streamctl: ${err.message.replace(/^error: /, "").split("\n")[0]}\n`);
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
  const message = err instanceof Error ? err.message : String(err);
  io.stderr.write(`streamctl: ${message.split("\n")[0]}\n`);
  return EXIT_RUNTIME;
}

if (import.meta.main) {
  const code = await run(process.argv.slice(2), processIo());
  process.exitCode = code;
}
