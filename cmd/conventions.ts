// What `--help`, the man page and README say about every command alike: the exit codes and the
// environment variables. One table each, so the three never disagree.

/** Exit codes of every streamctl command. */
export const EXIT_CODES: ReadonlyArray<readonly [number, string]> = [
  [0, "success"],
  [1, "runtime failure: the broker refused or did not answer, a record was not acknowledged, a file could not be read"],
  [2, "usage error: unknown command or option, a bad value, a missing argument"],
  [130, "interrupted by SIGINT (Ctrl-C)"],
  [143, "terminated by SIGTERM"],
];

export const ENVIRONMENT: ReadonlyArray<readonly [string, string]> = [
  ["STREAMCTL_BROKER", "Kafka bootstrap broker(s), HOST:PORT[,…], for every client command (default 127.0.0.1:9092); --broker wins"],
  ["STREAMCTL_HTTP", "streamctl's HTTP control plane, HOST:PORT or URL, or none; management commands use it for what only streamctl knows (sizes, durability); --http wins"],
  ["STREAMCTL_HTTP_TOKEN", "Bearer token for the control plane"],
  ["STREAMCTL_DATA_DIR", "serve's data directory (default ${XDG_DATA_HOME:-~/.local/share}/streamctl)"],
  ["NO_COLOR", "no colour in any output"],
];

export function exitCodesHelp(): string {
  return `Exit codes:\n${EXIT_CODES.map(([c, t]) => `  ${String(c).padEnd(4)}${t}`).join("\n")}\n`;
}
