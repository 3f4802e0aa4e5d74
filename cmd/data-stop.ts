// How a data command (produce, consume, tail, replay, copy) stops early: on SIGINT or SIGTERM, or
// when nobody reads its stdout any more.
//
// The command's own loop checks `stopper.requested` between fetch answers (at most a long-poll,
// 500 ms, apart) and winds down: a group consumer commits and leaves, produce flushes what it read.
// Whatever the command is waiting on — a broker that accepts and never answers, a connect, a
// rebalance — the process ends within STOP_GRACE_MS of the request all the same (issue #22: a
// consume against a silent socket ignored SIGTERM, SIGINT and two Ctrl-C for 180 s): the grace
// timer runs the command's last words (`onForcedExit`, e.g. produce's summary) and exits. A second
// signal exits at once.
//
// Exit codes: 130 for SIGINT, 143 for SIGTERM (what a shell reports for a process the signal
// killed), 0 for a closed stdout (`consume | head -1` is a success, as for `cat`).
//
// Signal handlers are installed only when the command runs as the process (its Io is the
// process's); in-process tests request stops directly.
import { exitCodeOf, type Io, InterruptedError } from "./io.ts";

/** From a stop request to the process's exit at the latest. */
export const STOP_GRACE_MS = 700;

export type StopReason = "SIGINT" | "SIGTERM" | "stdout closed";

export class Stopper {
  reason: StopReason | null = null;
  private readonly listeners: ((reason: StopReason) => void)[] = [];
  private grace: ReturnType<typeof setTimeout> | null = null;
  private readonly removeHandlers: () => void;
  private readonly isProcess: boolean;
  private signalled = false;
  private disposed = false;

  constructor(
    io: Io,
    private readonly onForcedExit: ((reason: StopReason) => void) | null = null,
  ) {
    this.isProcess = io.stdin === process.stdin;
    if (!this.isProcess) {
      this.removeHandlers = () => {};
      return;
    }
    const onInt = () => this.signal("SIGINT");
    const onTerm = () => this.signal("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    this.removeHandlers = () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  }

  get requested(): boolean {
    return this.reason !== null;
  }

  /** The exit code the stop calls for. */
  get exitCode(): number {
    return this.reason === null || this.reason === "stdout closed" ? 0 : exitCodeOf(this.reason);
  }

  /** Runs `fn` once, when (or if already) a stop is requested. */
  onStop(fn: (reason: StopReason) => void): void {
    if (this.reason !== null) fn(this.reason);
    else this.listeners.push(fn);
  }

  request(reason: StopReason): void {
    if (this.reason !== null) return;
    this.reason = reason;
    if (this.isProcess) {
      this.grace = setTimeout(() => this.exitNow(), STOP_GRACE_MS);
      this.grace.unref?.();
    }
    for (const fn of this.listeners.splice(0)) fn(reason);
  }

  private signal(sig: "SIGINT" | "SIGTERM"): void {
    if (this.signalled) this.exitNow(); // a second signal: stop waiting
    this.signalled = true;
    if (this.reason === null) this.request(sig);
    else this.reason = sig; // after a closed stdout, the signal still decides the exit code
  }

  private exitNow(): never {
    if (this.disposed) process.exit(); // the command already ended: with the code it set
    const reason = this.reason ?? "SIGINT";
    try {
      this.onForcedExit?.(reason);
    } finally {
      process.exit(reason === "stdout closed" ? 0 : exitCodeOf(reason));
    }
  }

  /** After the command wound down: throws the InterruptedError a signal calls for (exit 130/143). */
  throwIfSignalled(message = ""): void {
    if (this.reason === "SIGINT" || this.reason === "SIGTERM") throw new InterruptedError(this.reason, message);
  }

  /**
   * The command ended. Once a stop was requested, the grace timer stays: if a leftover timer or
   * socket keeps the process alive past it, it exits then, with the code the command set.
   */
  dispose(): void {
    this.disposed = true;
    this.removeHandlers();
  }
}
