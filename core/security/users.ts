// The users a SASL listener accepts, durable in the data dir. Only SCRAM credentials are kept
// (salt, iterations, StoredKey, ServerKey: core/security/scram.ts), never a password: SASL/PLAIN
// is checked against the same credentials.
//
//   DATA/users.json   {"version":1,"users":[{"name":"admin","superUser":true,
//                      "scram":{"SCRAM-SHA-256":{"iterations":4096,"salt":"<b64>",
//                      "storedKey":"<b64>","serverKey":"<b64>"},…}},…],"crc32c":"…"}
//
// Written like every metadata file: the whole table as checked JSON (core/checked-json.ts) to a
// temp file, fdatasync, rename, fsync the directory (core/fs.ts writeFileAtomic). Writes run one
// at a time in call order; the table in memory changes only once its file is on disk, so nobody
// authenticates against a credential that a crash could take back. A damaged file stops the
// broker from opening (it is not read as "no users", which would let the first start's admin
// bootstrap run again or lock everyone out silently).
import { assert } from "../assert.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import { CoreError } from "../errors.ts";
import { type FileLayer, joinPath, writeFileAtomic } from "../fs.ts";
import { isScramMechanism, type ScramCredential, type ScramMechanism, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, hashBytes } from "./scram.ts";

export const USERS_FILE = "users.json";
const FORMAT_VERSION = 1;
/** Longest user name accepted (Kafka sets none; this keeps the table and log lines sane). */
export const USER_NAME_CHARS_MAX = 256;

export interface User {
  readonly name: string;
  readonly superUser: boolean;
  readonly credentials: ReadonlyMap<ScramMechanism, ScramCredential>;
}

/** Why `name` cannot be a user name, or null. */
export function userNameProblem(name: string): string | null {
  if (name.length === 0) return "a user name cannot be empty";
  if (name.length > USER_NAME_CHARS_MAX) return `a user name is at most ${USER_NAME_CHARS_MAX} characters`;
  if (/[\x00-\x1f\x7f]/.test(name)) return "a user name cannot contain control characters";
  return null;
}

export class UserStore {
  private users = new Map<string, User>();
  /** The last write queued: the next one starts after it. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fs: FileLayer,
    private readonly path: string,
  ) {}

  /** Reads DATA/users.json (none: no users yet). CoreError STORAGE when it is damaged. */
  static open(fs: FileLayer, dataDir: string): UserStore {
    const store = new UserStore(fs, joinPath(dataDir, USERS_FILE));
    if (fs.stat(store.path) === null) return store;
    const read = readCheckedJson(fs.readFile(store.path));
    const users = read.ok ? parseUsers(read.value) : read.reason;
    if (typeof users === "string") {
      throw new CoreError("STORAGE", `${store.path} is damaged (${users}): restore it from a backup, or remove it to start with no users`, { file: store.path });
    }
    store.users = users;
    return store;
  }

  get size(): number {
    return this.users.size;
  }

  get(name: string): User | undefined {
    return this.users.get(name);
  }

  list(): User[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Applies `change` to a copy of the table, writes the copy, then makes it the table. Changes run
   * one at a time in call order; `change` sees every earlier one and may throw (nothing written).
   */
  update<T>(change: (users: Map<string, User>) => T): Promise<T> {
    const run = this.writes.then(async () => {
      const next = new Map(this.users);
      const result = change(next);
      await writeFileAtomic(this.fs, this.path, encodeUsers(next));
      this.users = next;
      return result;
    });
    this.writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** A user with `credential` set (added or replaced), creating the user if needed. */
export function withCredential(user: User | undefined, name: string, credential: ScramCredential, superUser?: boolean): User {
  const credentials = new Map(user?.credentials ?? []);
  credentials.set(credential.mechanism, credential);
  return { name, superUser: superUser ?? user?.superUser ?? false, credentials };
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function encodeUsers(users: Map<string, User>): Uint8Array {
  const list = [...users.values()].map((u) => {
    assert(userNameProblem(u.name) === null && u.credentials.size > 0, `a stored user has a legal name and a credential: ${u.name}`);
    const scram: Record<string, unknown> = {};
    for (const [m, c] of u.credentials) {
      assert(c.mechanism === m && c.iterations >= SCRAM_ITERATIONS_MIN && c.iterations <= SCRAM_ITERATIONS_MAX, `credential ${u.name}/${m} is in range`);
      scram[m] = { iterations: c.iterations, salt: b64(c.salt), storedKey: b64(c.storedKey), serverKey: b64(c.serverKey) };
    }
    return { name: u.name, superUser: u.superUser, scram };
  });
  return encodeCheckedJson({ version: FORMAT_VERSION, users: list }, 2);
}

/** The table in a parsed users.json, or why it is not one. */
function parseUsers(doc: Record<string, unknown>): Map<string, User> | string {
  if (!hasExactKeys(doc, ["version", "users"]) || doc.version !== FORMAT_VERSION || !Array.isArray(doc.users)) return `not a version ${FORMAT_VERSION} users file`;
  const users = new Map<string, User>();
  for (const entry of doc.users as unknown[]) {
    if (typeof entry !== "object" || entry === null || !hasExactKeys(entry as Record<string, unknown>, ["name", "superUser", "scram"])) return "a user entry has the wrong shape";
    const { name, superUser, scram } = entry as { name: unknown; superUser: unknown; scram: unknown };
    if (typeof name !== "string" || userNameProblem(name) !== null || users.has(name)) return `a user name is invalid or repeated: ${JSON.stringify(name)}`;
    if (typeof superUser !== "boolean" || typeof scram !== "object" || scram === null) return `user ${name} has the wrong shape`;
    const credentials = new Map<ScramMechanism, ScramCredential>();
    for (const [mechanism, c] of Object.entries(scram)) {
      const credential = isScramMechanism(mechanism) ? parseCredential(mechanism, c) : null;
      if (credential === null) return `user ${name} has an invalid ${mechanism} credential`;
      credentials.set(mechanism as ScramMechanism, credential);
    }
    if (credentials.size === 0) return `user ${name} has no credential`;
    users.set(name, { name, superUser, credentials });
  }
  return users;
}

function parseCredential(mechanism: ScramMechanism, c: unknown): ScramCredential | null {
  if (typeof c !== "object" || c === null || !hasExactKeys(c as Record<string, unknown>, ["iterations", "salt", "storedKey", "serverKey"])) return null;
  const { iterations, salt, storedKey, serverKey } = c as Record<string, unknown>;
  if (typeof iterations !== "number" || !Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN || iterations > SCRAM_ITERATIONS_MAX) return null;
  const bytes = [salt, storedKey, serverKey].map((s) => (typeof s === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(s) ? new Uint8Array(Buffer.from(s, "base64")) : null));
  const [saltBytes, stored, server] = bytes;
  if (!saltBytes || !stored || !server || saltBytes.length === 0) return null;
  if (stored.length !== hashBytes(mechanism) || server.length !== hashBytes(mechanism)) return null;
  return { mechanism, iterations, salt: saltBytes, storedKey: stored, serverKey: server };
}
