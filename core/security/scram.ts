// SCRAM (RFC 5802) with SHA-256 and SHA-512 (RFC 7677), both ends: the credential a broker stores
// for a password, the server's exchange that checks a client against it, and the client's
// exchange. Pure functions over node:crypto; no sockets, no Kafka framing (SaslAuthenticate and
// the v0 raw tokens are net/kafka's, the client's use is net/client's).
//
// What is stored for a user and mechanism is Kafka's ScramCredential: salt, iterations, StoredKey
// and ServerKey. From those a server can check a proof and prove itself, but cannot log in as the
// user: the password and SaltedPassword are never kept.
//
//   SaltedPassword  := Hi(password, salt, i)            (PBKDF2 with HMAC-H)
//   ClientKey       := HMAC(SaltedPassword, "Client Key")
//   StoredKey       := H(ClientKey)
//   ServerKey       := HMAC(SaltedPassword, "Server Key")
//   AuthMessage     := client-first-bare + "," + server-first + "," + client-final-without-proof
//   ClientSignature := HMAC(StoredKey, AuthMessage)
//   ClientProof     := ClientKey XOR ClientSignature
//   ServerSignature := HMAC(ServerKey, AuthMessage)
//
// Messages (the grammar of RFC 5802 §7, the subset Kafka clients send):
//
//   client-first  = gs2-header client-first-bare      gs2-header = "n,," | "n,a=" authzid ","  | "y,," …
//   client-first-bare = "n=" saslname ",r=" c-nonce ["," extensions]
//   server-first  = "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations
//   client-final  = "c=" base64(gs2-header) ",r=" nonce ",p=" base64(ClientProof)
//   server-final  = "v=" base64(ServerSignature)
//
// A saslname escapes "," as "=2C" and "=" as "=3D". Passwords are taken as their UTF-8 bytes, as
// Kafka's ScramFormatter does (no SASLprep): a password set through Kafka's tools works here.
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** Kafka's bounds on iterations (ScramMechanism.minIterations, AlterUserScramCredentials' max). */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16384;
/** What a new credential gets unless told otherwise: Kafka's minimum, as its tools default to. */
export const SCRAM_ITERATIONS_DEFAULT = 4096;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;

const HASH: Record<ScramMechanism, { name: "sha256" | "sha512"; bytes: number }> = {
  "SCRAM-SHA-256": { name: "sha256", bytes: 32 },
  "SCRAM-SHA-512": { name: "sha512", bytes: 64 },
};

export function isScramMechanism(m: string): m is ScramMechanism {
  return m === "SCRAM-SHA-256" || m === "SCRAM-SHA-512";
}

export function hashBytes(mechanism: ScramMechanism): number {
  return HASH[mechanism].bytes;
}

/** What a server keeps for one user and mechanism. */
export interface ScramCredential {
  mechanism: ScramMechanism;
  iterations: number;
  salt: Uint8Array;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

function hmac(mechanism: ScramMechanism, key: Uint8Array, data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHmac(HASH[mechanism].name, key).update(data).digest());
}

function h(mechanism: ScramMechanism, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(HASH[mechanism].name).update(data).digest());
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Uint8Array {
  return new Uint8Array(pbkdf2Sync(utf8.encode(password), salt, iterations, HASH[mechanism].bytes, HASH[mechanism].name));
}

/** The same off the event loop's thread: a PLAIN check costs a whole PBKDF2. */
export function saltedPasswordAsync(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    pbkdf2(utf8.encode(password), salt, iterations, HASH[mechanism].bytes, HASH[mechanism].name, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key)))),
  );
}

/** The credential for a SaltedPassword (AlterUserScramCredentials sends exactly that, never the password). */
export function credentialFromSalted(mechanism: ScramMechanism, salted: Uint8Array, salt: Uint8Array, iterations: number): ScramCredential {
  const clientKey = hmac(mechanism, salted, "Client Key");
  return { mechanism, iterations, salt: salt.slice(), storedKey: h(mechanism, clientKey), serverKey: hmac(mechanism, salted, "Server Key") };
}

/** A new credential for `password` with a fresh random salt. */
export function makeCredential(mechanism: ScramMechanism, password: string, iterations = SCRAM_ITERATIONS_DEFAULT): ScramCredential {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  return credentialFromSalted(mechanism, saltedPassword(mechanism, password, salt, iterations), salt, iterations);
}

export function newSalt(): Uint8Array {
  return new Uint8Array(randomBytes(SALT_BYTES));
}

/** Whether `password` is the one `credential` was made from (SASL/PLAIN checks passwords this way). */
export async function passwordMatches(credential: ScramCredential, password: string): Promise<boolean> {
  const salted = await saltedPasswordAsync(credential.mechanism, password, credential.salt, credential.iterations);
  const storedKey = h(credential.mechanism, hmac(credential.mechanism, salted, "Client Key"));
  return sameBytes(storedKey, credential.storedKey);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function unb64(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  return new Uint8Array(Buffer.from(s, "base64"));
}

export function escapeSaslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

/** The name a saslname stands for, or null when it has an "=" that is not an escape. */
export function unescapeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

/** "k=v" attributes of a SCRAM message, in order; null when one is not of that shape. */
function attributes(message: string): Array<[string, string]> | null {
  const out: Array<[string, string]> = [];
  for (const part of message.split(",")) {
    if (part.length < 2 || part[1] !== "=" || !/[a-zA-Z]/.test(part[0]!)) return null;
    out.push([part[0]!, part.slice(2)]);
  }
  return out;
}

function decodeText(bytes: Uint8Array): string | null {
  try {
    return text.decode(bytes);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The server's side.

/** One step of a server exchange: a challenge to send, success (with the last bytes), or failure. */
export type ScramServerStep =
  | { kind: "challenge"; bytes: Uint8Array }
  | { kind: "success"; bytes: Uint8Array; user: string }
  | { kind: "failure"; reason: string };

/**
 * The server's half of one SCRAM exchange: client-first → server-first, client-final →
 * server-final. `lookup` finds the user's credential for this mechanism. A user without one is not
 * told apart from a wrong password: it gets a made-up salt (the same for the same name) and fails
 * only at the proof, as RFC 5802 §5.1 suggests.
 */
export class ScramServer {
  private state: "first" | "final" | "done" = "first";
  private user = "";
  private credential: ScramCredential | null = null;
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";
  private gs2Header = "";

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string) => ScramCredential | undefined,
    /** Keys the made-up salts of unknown users: random per broker run. */
    private readonly fakeSaltKey: Uint8Array,
    /** The server's part of the nonce (tests pin it to replay RFC 7677's example). */
    private readonly serverNonce: () => string = () => b64(new Uint8Array(randomBytes(NONCE_BYTES))).replace(/=+$/, ""),
  ) {}

  step(token: Uint8Array): ScramServerStep {
    const state = this.state;
    this.state = "done";
    if (state === "first") return this.first(token);
    if (state === "final") return this.final(token);
    return { kind: "failure", reason: "the SCRAM exchange is already over" };
  }

  private first(token: Uint8Array): ScramServerStep {
    const message = decodeText(token);
    if (message === null) return { kind: "failure", reason: "client-first message is not UTF-8" };
    // gs2-header: a channel-binding flag ("n" or "y": we offer none), an optional authzid, then the bare message.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(message);
    if (m === null) return { kind: "failure", reason: "client-first message has no valid gs2 header" };
    const bare = m[3]!;
    const parts = bare.split(",");
    if (parts.length < 2 || !parts[0]!.startsWith("n=") || !parts[1]!.startsWith("r=")) return { kind: "failure", reason: "client-first message is malformed" };
    const user = unescapeSaslName(parts[0]!.slice(2));
    const clientNonce = parts[1]!.slice(2);
    if (user === null || user === "") return { kind: "failure", reason: "client-first message has an invalid user name" };
    if (clientNonce === "" || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) return { kind: "failure", reason: "client-first message has an invalid nonce" };
    // Extensions: "m=" is mandatory-to-understand (RFC 5802), Kafka's tokenauth=true is for
    // delegation tokens; we have neither. Others are ignored, as Kafka ignores unknown ones.
    for (const ext of parts.slice(2)) if (ext.startsWith("m=") || ext === "tokenauth=true") return { kind: "failure", reason: `unsupported SCRAM extension ${ext.split("=")[0]}` };
    if (m[2] !== undefined && unescapeSaslName(m[2].slice(2)) !== user) return { kind: "failure", reason: "authorization id differs from the user name" };
    this.user = user;
    this.credential = this.lookup(user) ?? null;
    const salt = this.credential?.salt ?? hmac(this.mechanism, this.fakeSaltKey, user).subarray(0, SALT_BYTES);
    const iterations = this.credential?.iterations ?? SCRAM_ITERATIONS_DEFAULT;
    this.gs2Header = message.slice(0, message.length - bare.length);
    this.clientFirstBare = bare;
    this.nonce = clientNonce + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${b64(salt)},i=${iterations}`;
    this.state = "final";
    return { kind: "challenge", bytes: utf8.encode(this.serverFirst) };
  }

  private final(token: Uint8Array): ScramServerStep {
    const message = decodeText(token);
    const attrs = message === null ? null : attributes(message);
    if (message === null || attrs === null || attrs.length < 3) return { kind: "failure", reason: "client-final message is malformed" };
    const [c, r] = attrs;
    const p = attrs[attrs.length - 1]!;
    if (c![0] !== "c" || r![0] !== "r" || p[0] !== "p") return { kind: "failure", reason: "client-final message is malformed" };
    const binding = unb64(c![1]);
    if (binding === null || decodeText(binding) !== this.gs2Header) return { kind: "failure", reason: "channel binding does not match the gs2 header" };
    // Kafka checks only that the nonce ends with the server's (ScramSaslServer): librdkafka (at
    // least to 2.x) sends its own nonce again in front of the whole server nonce.
    if (!r![1].endsWith(this.nonce)) return { kind: "failure", reason: "nonce does not match" };
    const proof = unb64(p[1]);
    const credential = this.credential;
    if (proof === null || proof.length !== hashBytes(this.mechanism) || credential === null) return { kind: "failure", reason: "invalid credentials" };
    const withoutProof = message.slice(0, message.length - p[1].length - 3);
    const authMessage = utf8.encode(`${this.clientFirstBare},${this.serverFirst},${withoutProof}`);
    const clientSignature = hmac(this.mechanism, credential.storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    if (!sameBytes(h(this.mechanism, clientKey), credential.storedKey)) return { kind: "failure", reason: "invalid credentials" };
    const serverSignature = hmac(this.mechanism, credential.serverKey, authMessage);
    return { kind: "success", bytes: utf8.encode(`v=${b64(serverSignature)}`), user: this.user };
  }
}

// ---------------------------------------------------------------------------------------------
// The client's side.

interface ServerFirst {
  message: string;
  nonce: string;
  salt: Uint8Array;
  iterations: number;
}

/** The client's half of one exchange: first() → send; final(serverFirst) → send; verify(serverFinal). */
export class ScramClient {
  private readonly clientNonce: string;
  private clientFirstBare = "";
  private serverSignature: Uint8Array | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
    nonce?: string,
  ) {
    this.clientNonce = nonce ?? b64(new Uint8Array(randomBytes(NONCE_BYTES))).replace(/=+$/, "");
  }

  first(): Uint8Array {
    this.clientFirstBare = `n=${escapeSaslName(this.user)},r=${this.clientNonce}`;
    return utf8.encode(`n,,${this.clientFirstBare}`);
  }

  /** The client-final message for the server's first message; throws when that message is unusable. */
  final(serverFirstBytes: Uint8Array): Uint8Array {
    const first = this.parseServerFirst(serverFirstBytes);
    return this.finalWith(first, saltedPassword(this.mechanism, this.password, first.salt, first.iterations));
  }

  /** final() with the PBKDF2 off the event loop's thread (a connection's login must not stall the others). */
  async finalAsync(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const first = this.parseServerFirst(serverFirstBytes);
    return this.finalWith(first, await saltedPasswordAsync(this.mechanism, this.password, first.salt, first.iterations));
  }

  private parseServerFirst(serverFirstBytes: Uint8Array): ServerFirst {
    const serverFirst = decodeText(serverFirstBytes);
    const attrs = serverFirst === null ? null : attributes(serverFirst);
    if (serverFirst === null || attrs === null) throw new Error("SCRAM: server-first message is malformed");
    const get = (k: string) => attrs.find(([key]) => key === k)?.[1];
    if (get("e") !== undefined) throw new Error(`SCRAM: server error ${get("e")}`);
    const nonce = get("r");
    const salt = unb64(get("s") ?? "");
    const iterations = Number(get("i"));
    if (nonce === undefined || !nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) throw new Error("SCRAM: server nonce is invalid");
    if (salt === null || salt.length === 0 || !Number.isSafeInteger(iterations) || iterations < 1) throw new Error("SCRAM: server-first message is malformed");
    if (iterations > SCRAM_ITERATIONS_MAX * 64) throw new Error(`SCRAM: server asks for ${iterations} iterations`);
    return { message: serverFirst, nonce, salt, iterations };
  }

  private finalWith({ message: serverFirst, nonce }: ServerFirst, salted: Uint8Array): Uint8Array {
    const clientKey = hmac(this.mechanism, salted, "Client Key");
    const storedKey = h(this.mechanism, clientKey);
    const withoutProof = `c=${b64(utf8.encode("n,,"))},r=${nonce}`;
    const authMessage = utf8.encode(`${this.clientFirstBare},${serverFirst},${withoutProof}`);
    const proof = xor(clientKey, hmac(this.mechanism, storedKey, authMessage));
    this.serverSignature = hmac(this.mechanism, hmac(this.mechanism, salted, "Server Key"), authMessage);
    return utf8.encode(`${withoutProof},p=${b64(proof)}`);
  }

  /** Throws unless the server proved it knows the credential (server-final "v=…"). */
  verify(serverFinalBytes: Uint8Array): void {
    const serverFinal = decodeText(serverFinalBytes) ?? "";
    if (serverFinal.startsWith("e=")) throw new Error(`SCRAM: server error ${serverFinal.slice(2)}`);
    const v = serverFinal.startsWith("v=") ? unb64(serverFinal.slice(2)) : null;
    if (v === null || this.serverSignature === null || !sameBytes(v, this.serverSignature)) throw new Error("SCRAM: the server's signature is wrong");
  }
}
