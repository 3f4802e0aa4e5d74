// The broker's auth decisions, for every door: who a SASL exchange proves a client to be (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512 against the users in core/security/users.ts), which principals are
// super users, what a principal may do (authorize, by the ACLs of core/security/acls.ts), and the
// use cases that manage users and ACLs. No sockets and no Kafka error codes: refusals are
// CoreErrors, exchanges report failure as data.
//
// authorize(requester, operation, resource) is the one gate every door asks:
//
// | authorization       | principal          | operation on resource                      | answer           |
// |---------------------|--------------------|--------------------------------------------|------------------|
// | off (no listener    | anyone             | anything                                   | allow            |
// | authenticates)      |                    |                                            |                  |
// | on                  | a super user       | anything                                   | allow            |
// | on                  | anyone else        | anything                                   | the ACLs decide  |
// |                     | (User:ANONYMOUS    |                                            | (DENY wins; no   |
// |                     | included)          |                                            | ACL: deny)       |
//
// Decisions are cached per (principal, host, operation, resource) until the ACLs change (super
// users are asked first, uncached: a user made one counts at once): a produce asks once per topic
// per request, and the answer is a map lookup.
import { createHmac, randomBytes } from "node:crypto";
import { CoreError } from "../errors.ts";
import type { FileLayer } from "../fs.ts";
import { ANONYMOUS, type Principal, parsePrincipal, samePrincipal, userPrincipal } from "../security/principal.ts";
import {
  credentialFromSalted,
  hashBytes,
  isScramMechanism,
  makeCredential,
  passwordMatches,
  SCRAM_ITERATIONS_DEFAULT,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  ScramServer,
} from "../security/scram.ts";
import { type User, userNameProblem, UserStore, withCredential } from "../security/users.ts";
import {
  type AclBinding,
  type AclFilter,
  AclStore,
  bindingProblem,
  CLUSTER_NAME,
  filterProblem,
  type Operation,
  type ResourceType,
  SUPPORTED_OPERATIONS,
} from "../security/acls.ts";

export { ANONYMOUS, parsePrincipal, type Principal, principalString, samePrincipal, userPrincipal } from "../security/principal.ts";
export {
  ACL_OPERATIONS,
  type AclBinding,
  type AclFilter,
  type AclOperation,
  CLUSTER_NAME,
  MATCH_ALL,
  type Operation,
  PATTERN_TYPES,
  type PatternType,
  type Permission,
  PERMISSIONS,
  RESOURCE_TYPES,
  type ResourceType,
  SUPPORTED_OPERATIONS,
} from "../security/acls.ts";
export { SCRAM_ITERATIONS_DEFAULT, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_MECHANISMS, type ScramMechanism } from "../security/scram.ts";

export type SaslMechanism = "PLAIN" | ScramMechanism;
export const SASL_MECHANISMS: readonly SaslMechanism[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

export function isSaslMechanism(m: string): m is SaslMechanism {
  return m === "PLAIN" || isScramMechanism(m);
}

/** A resource of Kafka's model, for authorize(). */
export interface Resource {
  readonly type: ResourceType;
  readonly name: string;
}
/** The one cluster resource, named as Kafka names it. */
export const CLUSTER: Resource = Object.freeze({ type: "CLUSTER", name: CLUSTER_NAME });

/** Who asks: the principal, and the address it connects from (ACLs may name hosts). */
export interface Requester {
  readonly principal: Principal;
  /** The client's IP address as the door sees it ("" when unknown: only "*" ACLs match). */
  readonly host: string;
}

/** A requester with no address, for in-process callers and tests. */
export function requester(principal: Principal, host = ""): Requester {
  return { principal, host };
}

/** One DeleteAcls filter's outcome: the bindings it removed, or why it removed none. */
export type AclDeletion = { error: CoreError } | { error: null; removed: AclBinding[] };

/** Decisions cached at most; past this the cache starts over (a scan of thousands of names). */
const DECISIONS_CACHED_MAX = 50_000;

/** Passwords checked and remembered at most (HTTP Basic); past this the memory starts over. */
const PASSWORDS_REMEMBERED_MAX = 1_000;

/** One step of a SASL exchange, as the door sends it on. */
export type SaslStep =
  | { kind: "challenge"; bytes: Uint8Array }
  | { kind: "success"; bytes: Uint8Array; principal: Principal }
  /** `reason` is for the broker's log only: a client is told no more than that it failed. */
  | { kind: "failure"; reason: string };

export interface SaslExchange {
  readonly mechanism: SaslMechanism;
  step(token: Uint8Array): SaslStep | Promise<SaslStep>;
}

export interface AuthConfig {
  /** Principals that may do anything (serve --super-users), beside users stored as super users. */
  superUsers?: readonly string[];
  /** Whether authorize() decides anything: on when any listener authenticates. */
  authorizationEnabled?: boolean;
}

/** What may be shown of a user: never a salt or key. */
export interface UserInfo {
  name: string;
  superUser: boolean;
  credentials: Array<{ mechanism: ScramMechanism; iterations: number }>;
}

/** One change of AlterUserScramCredentials: a SaltedPassword (the client hashed it) or a removal. */
export type ScramAlteration =
  | { kind: "upsert"; user: string; mechanism: string; iterations: number; salt: Uint8Array; saltedPassword: Uint8Array }
  | { kind: "delete"; user: string; mechanism: string };

/** Per user, in first-mention order: null (every change of the user applied) or why none was. */
export type ScramAlterResult = Map<string, CoreError | null>;

export class Auth {
  private readonly superUsers: readonly Principal[];
  /** (acl version, principal, host, operation, type, name) → allowed. */
  private decisions = new Map<string, boolean>();
  private decisionsVersion = -1;
  /** Keys the made-up SCRAM salts of unknown users (core/security/scram.ts). */
  private readonly fakeSaltKey = new Uint8Array(randomBytes(32));
  /** A credential to spend a PLAIN check's PBKDF2 on when the user does not exist. */
  private decoy: ScramCredential | null = null;
  /** HMAC(user, password) → the credential it matched: a client sending Basic on every request
   * pays the PBKDF2 once, not per request. A new password or a deleted user makes a new (or no)
   * credential object, so the entry no longer counts. Keyed by a per-process secret: the map holds
   * no fast hash of a password that could be guessed offline. */
  private remembered = new Map<string, ScramCredential>();
  private readonly rememberKey = new Uint8Array(randomBytes(32));

  private constructor(
    private readonly store: UserStore,
    private readonly acls: AclStore,
    config: AuthConfig,
    readonly authorizationEnabled: boolean,
  ) {
    this.superUsers = (config.superUsers ?? []).map((s) => {
      const p = parsePrincipal(s);
      if (p === null) throw new CoreError("UNACCEPTABLE_CREDENTIAL", `super user ${JSON.stringify(s)} is not a principal like User:NAME`);
      return p;
    });
  }

  /** Reads the users and ACLs of `dataDir` (CoreError STORAGE when users.json or acls.json is damaged). */
  static open(fs: FileLayer, dataDir: string, config: AuthConfig = {}): Auth {
    return new Auth(UserStore.open(fs, dataDir), AclStore.open(fs, dataDir), config, config.authorizationEnabled ?? false);
  }

  // --- authentication -------------------------------------------------------------------------

  /** A server exchange for `mechanism` (one per authentication attempt). */
  startSasl(mechanism: SaslMechanism): SaslExchange {
    if (mechanism === "PLAIN") return { mechanism, step: (token) => this.plain(token) };
    const scram = new ScramServer(mechanism, (user) => this.store.get(user)?.credentials.get(mechanism), this.fakeSaltKey);
    return {
      mechanism,
      step(token) {
        const s = scram.step(token);
        return s.kind === "success" ? { kind: "success", bytes: s.bytes, principal: userPrincipal(s.user) } : s;
      },
    };
  }

  /** SASL/PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, checked against a SCRAM credential. */
  private async plain(token: Uint8Array): Promise<SaslStep> {
    let message: string;
    try {
      message = new TextDecoder("utf-8", { fatal: true }).decode(token);
    } catch {
      return { kind: "failure", reason: "PLAIN message is not UTF-8" };
    }
    const parts = message.split("\0");
    if (parts.length !== 3) return { kind: "failure", reason: "PLAIN message is not authzid NUL user NUL password" };
    const [authzid, user, password] = parts as [string, string, string];
    if (user === "" || password === "") return { kind: "failure", reason: "PLAIN user name or password is empty" };
    if (authzid !== "" && authzid !== user) return { kind: "failure", reason: "PLAIN authorization id differs from the user name" };
    const stored = this.store.get(user);
    // The cheaper hash when the user has both: a PLAIN check costs a whole PBKDF2.
    const credential = stored?.credentials.get("SCRAM-SHA-256") ?? stored?.credentials.get("SCRAM-SHA-512");
    // An unknown user costs the same PBKDF2 as a known one: timing does not tell them apart.
    const ok = await passwordMatches(credential ?? this.decoyCredential(), password);
    if (!ok || credential === undefined) return { kind: "failure", reason: `PLAIN: invalid credentials for ${JSON.stringify(user)}` };
    return { kind: "success", bytes: new Uint8Array(0), principal: userPrincipal(user) };
  }

  /**
   * The principal `user` is when `password` is theirs (HTTP Basic, checked like SASL/PLAIN against
   * the SCRAM credentials), or null. A password that matched once is remembered until it changes.
   */
  async checkPassword(user: string, password: string): Promise<Principal | null> {
    if (user === "" || password === "") return null;
    const key = createHmac("sha256", this.rememberKey).update(user).update("\0").update(password).digest("base64");
    const stored = this.store.get(user);
    const credential = stored?.credentials.get("SCRAM-SHA-256") ?? stored?.credentials.get("SCRAM-SHA-512");
    if (credential !== undefined && this.remembered.get(key) === credential) return userPrincipal(user);
    const step = await this.plain(new TextEncoder().encode(`\0${user}\0${password}`));
    if (step.kind !== "success" || credential === undefined) return null;
    if (this.remembered.size >= PASSWORDS_REMEMBERED_MAX) this.remembered = new Map();
    this.remembered.set(key, credential);
    return step.principal;
  }

  private decoyCredential(): ScramCredential {
    this.decoy ??= makeCredential("SCRAM-SHA-256", Buffer.from(randomBytes(16)).toString("hex"));
    return this.decoy;
  }

  // --- authorization --------------------------------------------------------------------------

  isSuperUser(principal: Principal): boolean {
    if (this.superUsers.some((p) => samePrincipal(p, principal))) return true;
    return principal.type === "User" && principal !== ANONYMOUS && this.store.get(principal.name)?.superUser === true;
  }

  /** Whether the requester may do `operation` on `resource` (the table at the top of this file). */
  authorize(who: Requester, operation: Operation, resource: Resource): boolean {
    if (!this.authorizationEnabled || this.isSuperUser(who.principal)) return true;
    if (this.acls.version !== this.decisionsVersion || this.decisions.size >= DECISIONS_CACHED_MAX) {
      this.decisions = new Map();
      this.decisionsVersion = this.acls.version;
    }
    const principal = `${who.principal.type}:${who.principal.name}`;
    const key = `${principal}\0${who.host}\0${operation}\0${resource.type}\0${resource.name}`;
    let allowed = this.decisions.get(key);
    if (allowed === undefined) {
      allowed = this.acls.decide(principal, who.host, operation, resource.type, resource.name) === "allow";
      this.decisions.set(key, allowed);
    }
    return allowed;
  }

  /** CoreError NOT_AUTHORIZED unless authorize() allows it. */
  require(who: Requester, operation: Operation, resource: Resource): void {
    if (!this.authorize(who, operation, resource)) {
      throw new CoreError("NOT_AUTHORIZED", `${who.principal.type}:${who.principal.name} may not ${operation} ${resource.type} ${resource.name}`);
    }
  }

  /**
   * Whether the requester may do `operation` on some resource of `type` (Kafka's
   * authorizeByResourceType: an idempotent producer needs WRITE on any topic, KIP-679).
   */
  authorizeAny(who: Requester, operation: Operation, type: ResourceType): boolean {
    if (!this.authorizationEnabled || this.isSuperUser(who.principal)) return true;
    return this.acls.allowsAny(`${who.principal.type}:${who.principal.name}`, who.host, operation, type);
  }

  /** The operations of `resource`'s type the requester may do (KIP-430's authorized operations). */
  authorizedOperations(who: Requester, resource: Resource): Operation[] {
    return SUPPORTED_OPERATIONS[resource.type].filter((op) => this.authorize(who, op, resource));
  }

  // --- ACLs (DescribeAcls, CreateAcls, DeleteAcls; the door checks DESCRIBE/ALTER on CLUSTER) --

  private requireAclsOn(): void {
    if (!this.authorizationEnabled) {
      throw new CoreError("SECURITY_DISABLED", "authorization is off on this broker (no listener authenticates), so ACLs would decide nothing: add a SASL listener, or SSL with --tls-client-auth required");
    }
  }

  describeAcls(filter: AclFilter): AclBinding[] {
    this.requireAclsOn();
    const problem = filterProblem(filter);
    if (problem !== null) throw new CoreError("INVALID_ACL", problem);
    return this.acls.list(filter);
  }

  /** Adds every valid binding in one write; per binding, in order: null (added) or why not. */
  async createAcls(bindings: readonly AclBinding[]): Promise<Array<CoreError | null>> {
    this.requireAclsOn();
    const results = bindings.map((b) => {
      const problem = bindingProblem(b);
      return problem === null ? null : new CoreError("INVALID_ACL", problem);
    });
    const valid = bindings.filter((_, i) => results[i] === null);
    if (valid.length > 0) await this.acls.add(valid);
    return results;
  }

  /** Removes what each filter matches, in one write; per filter, in order, what it removed. */
  async deleteAcls(filters: readonly AclFilter[]): Promise<AclDeletion[]> {
    this.requireAclsOn();
    const problems = filters.map((f) => filterProblem(f));
    const usable = filters.filter((_, i) => problems[i] === null);
    const removed = usable.length > 0 ? await this.acls.remove(usable) : [];
    let next = 0;
    return problems.map((p) => (p !== null ? { error: new CoreError("INVALID_ACL", p) } : { error: null, removed: removed[next++]! }));
  }

  // --- users ----------------------------------------------------------------------------------

  get userCount(): number {
    return this.store.size;
  }

  listUsers(): UserInfo[] {
    return this.store.list().map(info);
  }

  user(name: string): UserInfo | undefined {
    const u = this.store.get(name);
    return u && info(u);
  }

  /**
   * Creates `name` (CoreError USER_EXISTS if it exists) or, with `replace`, sets its password,
   * with a credential per mechanism made here from `password` (which is not kept).
   */
  async setPassword(name: string, password: string, options: { mechanisms?: readonly ScramMechanism[]; iterations?: number; superUser?: boolean; mode: "create" | "change" }): Promise<UserInfo> {
    checkUserName(name);
    if (password.length === 0) throw new CoreError("UNACCEPTABLE_CREDENTIAL", "a password cannot be empty");
    const iterations = options.iterations ?? SCRAM_ITERATIONS_DEFAULT;
    checkIterations(iterations);
    const mechanisms = options.mechanisms ?? SCRAM_MECHANISMS;
    if (mechanisms.length === 0) throw new CoreError("UNACCEPTABLE_CREDENTIAL", "at least one SCRAM mechanism is needed");
    // The PBKDF2s run before the write queue: they take milliseconds each.
    const credentials = mechanisms.map((m) => makeCredential(m, password, iterations));
    const user = await this.store.update((users) => {
      const existing = users.get(name);
      if (options.mode === "create" && existing) throw new CoreError("USER_EXISTS", `user ${name} already exists`);
      if (options.mode === "change" && !existing) throw new CoreError("USER_NOT_FOUND", `no user ${name}`);
      // A new password replaces every credential: one left from the old password would still log in.
      let next: User = { name, superUser: options.superUser ?? existing?.superUser ?? false, credentials: new Map() };
      for (const c of credentials) next = withCredential(next, name, c);
      users.set(name, next);
      return next;
    });
    return info(user);
  }

  async deleteUser(name: string): Promise<void> {
    await this.store.update((users) => {
      if (!users.delete(name)) throw new CoreError("USER_NOT_FOUND", `no user ${name}`);
    });
  }

  /**
   * The first start of a broker with a SASL listener: creates the super user `admin` from
   * `password` when there are no users at all. Returns whether it did.
   */
  async bootstrapAdmin(password: string): Promise<boolean> {
    if (this.store.size > 0) return false;
    await this.setPassword("admin", password, { superUser: true, mode: "create" });
    return true;
  }

  /**
   * Kafka's AlterUserScramCredentials: each user's changes apply together or not at all (Kafka
   * checks them all first, then writes); the whole request is one write of users.json.
   */
  async alterScramCredentials(changes: readonly ScramAlteration[]): Promise<ScramAlterResult> {
    const results: ScramAlterResult = new Map();
    const seen = new Set<string>();
    const valid: ScramAlteration[] = [];
    // Checks that need no table: shapes, and (user, mechanism) twice in one request.
    for (const c of changes) if (!results.has(c.user)) results.set(c.user, null);
    for (const c of changes) {
      const key = `${c.mechanism}\0${c.user}`;
      const problem = seen.has(key) ? new CoreError("DUPLICATE_RESOURCE", "A user credential cannot be altered twice in the same request") : alterationProblem(c);
      seen.add(key);
      if (problem !== null && results.get(c.user) === null) results.set(c.user, problem);
    }
    for (const c of changes) if (results.get(c.user) === null) valid.push(c);
    if (valid.length === 0) return results;
    await this.store.update((users) => {
      const staged = new Map<string, User | undefined>();
      for (const c of valid) {
        if (results.get(c.user) !== null) continue;
        const current = staged.has(c.user) ? staged.get(c.user) : users.get(c.user);
        const mechanism = c.mechanism as ScramMechanism;
        if (c.kind === "delete") {
          if (!current?.credentials.has(mechanism)) {
            results.set(c.user, new CoreError("USER_NOT_FOUND", "Attempt to delete a user credential that does not exist"));
            continue;
          }
          const credentials = new Map(current.credentials);
          credentials.delete(mechanism);
          staged.set(c.user, credentials.size ? { ...current, credentials } : undefined);
        } else {
          staged.set(c.user, withCredential(current, c.user, credentialFromSalted(mechanism, c.saltedPassword, c.salt, c.iterations)));
        }
      }
      for (const [name, user] of staged) {
        if (results.get(name) !== null) continue;
        if (user === undefined) users.delete(name);
        else users.set(name, user);
      }
    });
    return results;
  }
}

function info(u: User): UserInfo {
  return {
    name: u.name,
    superUser: u.superUser,
    credentials: [...u.credentials.values()].sort((a, b) => a.mechanism.localeCompare(b.mechanism)).map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })),
  };
}

function checkUserName(name: string): void {
  const problem = userNameProblem(name);
  if (problem !== null) throw new CoreError("UNACCEPTABLE_CREDENTIAL", problem);
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN) throw new CoreError("UNACCEPTABLE_CREDENTIAL", `Too few iterations: at least ${SCRAM_ITERATIONS_MIN}`);
  if (iterations > SCRAM_ITERATIONS_MAX) throw new CoreError("UNACCEPTABLE_CREDENTIAL", `Too many iterations: at most ${SCRAM_ITERATIONS_MAX}`);
}

/** What is wrong with one alteration on its own (Kafka's messages), or null. */
function alterationProblem(c: ScramAlteration): CoreError | null {
  const nameProblem = userNameProblem(c.user);
  if (nameProblem !== null) return new CoreError("UNACCEPTABLE_CREDENTIAL", c.user === "" ? "Username must not be empty" : nameProblem);
  if (!isScramMechanism(c.mechanism)) return new CoreError("UNSUPPORTED_MECHANISM", "Unknown SCRAM mechanism");
  if (c.kind === "delete") return null;
  try {
    checkIterations(c.iterations);
  } catch (err) {
    return err as CoreError;
  }
  if (c.salt.length === 0) return new CoreError("UNACCEPTABLE_CREDENTIAL", "Salt must not be empty");
  if (c.saltedPassword.length !== hashBytes(c.mechanism)) return new CoreError("UNACCEPTABLE_CREDENTIAL", `Salted password must be ${hashBytes(c.mechanism)} bytes for ${c.mechanism}`);
  return null;
}
