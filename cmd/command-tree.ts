// The command definitions as plain data, read off commander's tree (through its Help, so hidden
// commands and options stay hidden): what `completion` and the man page (man-page.ts) are
// generated from, so neither can drift from the commands themselves.
import type { Command } from "commander";

export interface OptionInfo {
  /** As written in help: "-p, --partitions <n>". */
  flags: string;
  long?: string;
  short?: string;
  /** Takes a value (`<x>` or `[x]`). */
  takesValue: boolean;
  description: string;
}

export interface CommandInfo {
  name: string;
  aliases: string[];
  /** Names from the root, e.g. ["topics", "create"] ([] for the program). */
  path: string[];
  description: string;
  /** "<topic> [options]" */
  usage: string;
  arguments: Array<{ name: string; required: boolean; variadic: boolean; description: string }>;
  options: OptionInfo[];
  commands: CommandInfo[];
}

export function commandTree(cmd: Command, path: string[] = []): CommandInfo {
  const help = cmd.createHelp();
  return {
    name: cmd.name(),
    aliases: cmd.aliases(),
    path,
    description: cmd.description(),
    usage: cmd.usage(),
    arguments: cmd.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic, description: a.description })),
    options: help.visibleOptions(cmd).map((o) => ({
      flags: o.flags,
      long: o.long ?? undefined,
      short: o.short ?? undefined,
      takesValue: o.required || o.optional,
      description: o.description,
    })),
    commands: help.visibleCommands(cmd).filter((c) => c.name() !== "help").map((c) => commandTree(c, [...path, c.name()])),
  };
}

/** Every command of the tree, depth first, the root first. */
export function allCommands(root: CommandInfo): CommandInfo[] {
  return [root, ...root.commands.flatMap(allCommands)];
}
