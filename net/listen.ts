// Binding a listener, with an error that names it. Bun's own messages ("Failed to listen at
// 127.0.0.1", "Is port 8092 in use?") name neither the listener nor the whole address.

export class ListenError extends Error {
  override name = "ListenError";
}

const REASONS: Record<string, string> = {
  EADDRINUSE: "the address is already in use (another broker?)",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "no interface on this machine has that address",
};

/** Runs `bind`; a failure becomes a ListenError like `cannot listen for kafka on 127.0.0.1:9092: …`. */
export function listenOrExplain<T>(listener: string, host: string, port: number, bind: () => T): T {
  try {
    return bind();
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    const reason = REASONS[code] ?? (err as Error).message;
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    throw new ListenError(`cannot listen for ${listener} on ${address}: ${reason}`, { cause: err });
  }
}
