// Parsing of HOST:PORT listener flags (`--kafka-listen 127.0.0.1:0`, `--broker [::1]:9092`).
import { UsageError } from "./io.ts";

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(flag: string, value: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  if (!m) throw new UsageError(`${flag}: expected HOST:PORT, got "${value}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`${flag}: port ${port} is out of range 0-65535`);
  return { host: (m[1] ?? m[2])!, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
