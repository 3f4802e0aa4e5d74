// streamctl(1), in roff, generated from the command tree (command-tree.ts) by `make man` (and
// `make build`) into bin/streamctl.1 beside the binary: every command with its arguments and
// options as `--help` shows them, then the environment, the exit codes and the files. Read it
// with `man -l bin/streamctl.1`.
import type { Command } from "commander";
import { allCommands, type CommandInfo, commandTree } from "./command-tree.ts";
import { ENVIRONMENT, EXIT_CODES } from "./conventions.ts";
import { VERSION } from "./version.ts";

/** Text safe in roff: backslashes doubled, a leading dot or quote defused, hyphens literal. */
export function roff(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .split("\n")
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join("\n");
}

function commandSection(c: CommandInfo): string {
  const name = ["streamctl", ...c.path].join(" ");
  const out = [`.SS "${roff(name)} ${roff(c.usage)}"`];
  if (c.aliases.length > 0) out.push(`Also: ${c.aliases.map((a) => `\\fB${roff(["streamctl", ...c.path.slice(0, -1), a].join(" "))}\\fR`).join(", ")}.`, ".br");
  out.push(roff(c.description));
  for (const a of c.arguments.filter((x) => x.description)) out.push(".TP", `\\fI${roff(a.name)}\\fR`, roff(a.description));
  for (const o of c.options) out.push(".TP", `\\fB${roff(o.flags)}\\fR`, roff(o.description));
  return out.join("\n");
}

export function manPage(program: Command): string {
  const root = commandTree(program);
  const commands = allCommands(root).filter((c) => c.path.length > 0);
  return `.\\" generated from the command definitions by scripts/man.ts (make man); do not edit
.TH STREAMCTL 1 "" "streamctl ${VERSION}" "User Commands"
.SH NAME
streamctl \\- ${roff(root.description)}
.SH SYNOPSIS
.B streamctl
\\fICOMMAND\\fR [\\fIARGUMENTS\\fR] [\\fIOPTIONS\\fR]
.SH DESCRIPTION
One binary that is both a Kafka\\-protocol broker (\\fBstreamctl serve\\fR) and the command line that
drives it. Data and management commands speak the Kafka protocol, so they work against Apache
Kafka and Redpanda too. stdout carries data only; logs, progress and summaries go to stderr.
.PP
Top\\-level options:
${root.options.map((o) => `.TP\n\\fB${roff(o.flags)}\\fR\n${roff(o.description)}`).join("\n")}
.SH COMMANDS
${commands.map(commandSection).join("\n")}
.SH ENVIRONMENT
${ENVIRONMENT.map(([k, v]) => `.TP\n\\fB${roff(k)}\\fR\n${roff(v)}`).join("\n")}
.SH EXIT STATUS
${EXIT_CODES.map(([k, v]) => `.TP\n\\fB${k}\\fR\n${roff(v)}`).join("\n")}
.SH SEE ALSO
\\fBkcat\\fR(1), \\fBcurl\\fR(1)
`;
}
