// Issue 22, conventions: help on stdout and exit 0 when asked for, usage mistakes on stderr and
// exit 2 (a bare `streamctl` included) with "did you mean", the topic/group aliases, --version with
// commit and Bun, exit codes in --help, shell completion that loads in bash, the man page beside the
// binary, and `serve` summing its recovery up in one line (each partition with --verbose).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { removeDir, runProcess, startBroker, STREAMCTL_BIN, streamctl, tempDir } from "./harness.ts";

function expectUsage(r: { code: number; stdout: string; stderr: string }, text: string): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toBe(`streamctl: ${text}`);
}

describe("help and usage errors", () => {
  test("--help: stdout, exit 0, with the exit codes", async () => {
    for (const args of [["--help"], ["-h"], ["topics", "--help"], ["topic", "create", "--help"], ["help", "groups"]]) {
      const r = await streamctl(args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(r.stdout).toContain("Usage: streamctl");
    }
    const top = (await streamctl(["--help"])).stdout;
    expect(top).toContain("Exit codes:\n  0   success\n  1   runtime failure");
    expect(top).toContain("\n  2   usage error");
    for (const c of ["topics|topic", "groups|group", "metadata", "offsets", "completion"]) expect(top).toContain(c);
  });

  test("a bare streamctl, and a command group without its subcommand: help on stderr, exit 2", async () => {
    for (const args of [[], ["topics"], ["group"], ["bench"]]) {
      const r = await streamctl(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(r.stderr).toContain("Usage: streamctl");
    }
  });

  test.each([
    [["tpoics", "list"], "unknown command 'tpoics' (did you mean topics?)"],
    [["topics", "lsit"], "unknown command 'lsit' (did you mean list?)"],
    [["groups", "descirbe", "g"], "unknown command 'descirbe' (did you mean describe?)"],
    [["topics", "list", "--jsno"], "unknown option '--jsno' (did you mean --json?)"],
    [["consume", "t", "--untill-end"], "unknown option '--untill-end' (did you mean --until-end?)"],
    [["topics", "list", "-X", "request.timeout=5"], "-X request.timeout: not a client setting streamctl understands (did you mean request.timeout.ms?); topics list takes bootstrap.servers, metadata.broker.list, client.id, request.timeout.ms"],
    [["completion", "tcsh"], 'completion: expected one of bash, zsh, fish, got "tcsh"'],
    [["frobnicate"], "unknown command 'frobnicate'"],
  ])("%j: exit 2, one line: %s", async (args, text) => {
    expectUsage(await streamctl(args), text);
  });

  test("--version names the version, the commit and the Bun runtime", async () => {
    const r = await streamctl(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^streamctl \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown), bun \d+\.\d+\.\d+\S*\)\n$/);
  });
});

describe("shell completion and the man page", () => {
  test("the bash script loads and completes commands, aliases' subcommands and flags", async () => {
    const script = `source <(${STREAMCTL_BIN} completion bash) && complete -p streamctl
      show() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _streamctl; echo "[\${COMPREPLY[*]}]"; }
      show streamctl to
      show streamctl topic ""
      show streamctl topics create --par
      show streamctl groups reset-offsets g --ex`;
    const r = await runProcess(["bash", "-c", script]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ["complete -o default -F _streamctl streamctl", "[topics top]", "[list create describe delete alter add-partitions compact]", "[--partitions]", "[--execute]", ""].join("\n"),
    );
  });

  test("zsh and fish scripts are generated from the same commands", async () => {
    const zsh = await streamctl(["completion", "zsh"]);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toStartWith("#compdef streamctl\n");
    expect(zsh.stdout).toContain("('/topic') cmdpath='/topics' ;;");
    expect(zsh.stdout).toContain("'--partitions:number of partitions");
    const fish = await streamctl(["completion", "fish"]);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("complete -c streamctl -n '__streamctl_at streamctl/topics/create' -l partitions -s p -r");
  });

  // fish and zsh are not part of the toolchain: checked where they are installed, skipped elsewhere.
  test.skipIf(Bun.which("fish") === null)("the fish script loads and completes (where fish is installed)", async () => {
    const script = `${STREAMCTL_BIN} completion fish | source; complete -C "streamctl to"; complete -C "streamctl topic create --par"`;
    const home = tempDir("streamctl-fish-home-"); // fish keeps history and config under HOME
    const r = await runProcess(["fish", "-c", script], { env: { HOME: home, XDG_CONFIG_HOME: `${home}/.config`, XDG_DATA_HOME: `${home}/.local/share` } });
    removeDir(home);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").map((l) => l.split("\t")[0])).toEqual(["top", "topics", "--partitions", ""]);
  });

  test.skipIf(Bun.which("zsh") === null)("the zsh script loads after compinit (where zsh is installed)", async () => {
    // -D: no dump file (compinit -d FILE replaces FILE: never point it at /dev/null).
    const home = tempDir("streamctl-zsh-home-");
    const r = await runProcess(["zsh", "-c", `autoload -U compinit && compinit -u -D && source <(${STREAMCTL_BIN} completion zsh) && whence -w _streamctl`], { env: { HOME: home, ZDOTDIR: home } });
    removeDir(home);
    expect(r.stdout.trim()).toBe("_streamctl: function");
  });

  test("bin/streamctl.1 sits beside the binary and documents every command", async () => {
    const page = join(dirname(STREAMCTL_BIN), "streamctl.1");
    expect(existsSync(page)).toBe(true);
    const r = await runProcess(["man", "-l", page], { env: { MANWIDTH: "200", MANPAGER: "cat", PAGER: "cat" } });
    expect(r.code).toBe(0);
    for (const text of ["streamctl topics create [options] <topic>", "streamctl groups reset-offsets [options] <group>", "streamctl metadata", "--replication-factor <n>", "EXIT STATUS", "STREAMCTL_BROKER"]) {
      expect(r.stdout).toContain(text);
    }
  });
});

describe("serve sums recovery up", () => {
  test("after an unclean stop: one recovery line for 42 partitions, each with --verbose", async () => {
    const first = await startBroker({ args: ["--default-partitions", "42", "--http-listen", "none"] });
    const produced = await streamctl(["produce", "wide"], { input: Array.from({ length: 200 }, (_, i) => `r${i}`).join("\n"), env: { STREAMCTL_BROKER: first.kafka } });
    expect(produced.code).toBe(0);
    await first.kill9();
    const recoveryLines = (s: string) => s.split("\n").filter((l) => l.includes("recovery"));

    const quiet = await startBroker({ dataDir: first.dataDir, args: ["--http-listen", "none"] });
    await quiet.kill9();
    expect(recoveryLines(quiet.stderr())).toEqual([expect.stringMatching(/^streamctl: recovery after unclean stop: 42 partition\(s\), scanned \d+ bytes in \d+ ms, 0 cut\(s\)$/)]);

    const verbose = await startBroker({ dataDir: first.dataDir, args: ["--http-listen", "none", "--verbose"] });
    expect(await verbose.stop()).toBe(0);
    const lines = recoveryLines(verbose.stderr());
    expect(lines.filter((l) => /recovery: wide\/\d+: scanned/.test(l))).toHaveLength(42);
    expect(lines.filter((l) => l.includes("recovery after unclean stop"))).toHaveLength(1);
    removeDir(first.dataDir);
  });
});
