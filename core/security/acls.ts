// Access control lists, Kafka's model (clients/.../common/acl, metadata/.../StandardAuthorizer):
// a binding is a resource pattern (type, name, LITERAL or PREFIXED) and an entry (principal,
// host, operation, ALLOW or DENY). Kept durable in the data dir:
//
//   DATA/acls.json   {"version":1,"acls":[{"resourceType":"TOPIC","resourceName":"orders",
//                     "patternType":"LITERAL","principal":"User:alice","host":"*",
//                     "operation":"READ","permission":"ALLOW"},…],"crc32c":"…"}
//
// written like users.json (core/security/users.ts): the whole table as checked JSON to a temp file,
// fdatasync, rename, fsync the directory; writes one at a time in call order; the table in memory
// changes only once its file is on disk; a damaged file stops the broker from opening (read as "no
// ACLs" it would deny everyone, or worse, if a future default allowed, allow everyone).
//
// The decision (decide(), as Kafka's AclAuthorizer/StandardAuthorizer with
// allow.everyone.if.no.acl.found=false; super users are the caller's, core/broker/auth.ts):
//
// | step | ACLs that match the resource, principal and host           | answer |
// |------|------------------------------------------------------------|--------|
// | 1    | a DENY for the operation or ALL                            | deny   |
// | 2    | an ALLOW for the operation, ALL, or one that implies it    | allow  |
// | 3    | anything else (no ACL at all included)                     | deny   |
//
// A binding matches a resource when the types are equal and its name is the resource's (LITERAL),
// is "*" (LITERAL, every resource of the type), or is a prefix of it (PREFIXED); its principal is
// the requester's or "User:*"; its host is the requester's address or "*". Implied operations
// (Kafka's): DESCRIBE is allowed by READ, WRITE, DELETE or ALTER; DESCRIBE_CONFIGS by
// ALTER_CONFIGS. Implication never applies to DENY: a DENY of READ leaves DESCRIBE to the ALLOWs.
import { assert } from "../assert.ts";
import { encodeCheckedJson, hasExactKeys, readCheckedJson } from "../checked-json.ts";
import { CoreError } from "../errors.ts";
import { type FileLayer, joinPath, writeFileAtomic } from "../fs.ts";

export const ACLS_FILE = "acls.json";
const FORMAT_VERSION = 1;
/** Bindings kept at most: each is checked on every uncached decision, and a table this large is a
 * script gone wrong, not a policy (Kafka sets no bound). */
export const ACLS_MAX = 100_000;
/** Longest resource name, principal or host in a binding (Kafka's strings are int16-prefixed). */
const FIELD_CHARS_MAX = 32_767;

export type ResourceType = "TOPIC" | "GROUP" | "CLUSTER" | "TRANSACTIONAL_ID";
export type Operation = "READ" | "WRITE" | "CREATE" | "DELETE" | "ALTER" | "DESCRIBE" | "CLUSTER_ACTION" | "DESCRIBE_CONFIGS" | "ALTER_CONFIGS" | "IDEMPOTENT_WRITE";
export type AclOperation = Operation | "ALL";
export type PatternType = "LITERAL" | "PREFIXED";
export type Permission = "ALLOW" | "DENY";

export const RESOURCE_TYPES: readonly ResourceType[] = ["TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID"];
export const PATTERN_TYPES: readonly PatternType[] = ["LITERAL", "PREFIXED"];
export const PERMISSIONS: readonly Permission[] = ["ALLOW", "DENY"];
export const ACL_OPERATIONS: readonly AclOperation[] = ["ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE"];

/** The one cluster resource's name, as Kafka names it. */
export const CLUSTER_NAME = "kafka-cluster";
/** The literal name that stands for every resource of its type; the principal and host for anyone. */
export const WILDCARD = "*";
export const WILDCARD_PRINCIPAL = "User:*";

/** The operations each resource type has (Kafka 3.8's AclEntry.supportedOperations). */
export const SUPPORTED_OPERATIONS: Readonly<Record<ResourceType, readonly Operation[]>> = {
  TOPIC: ["READ", "WRITE", "CREATE", "DESCRIBE", "DELETE", "ALTER", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"],
  GROUP: ["READ", "DESCRIBE", "DELETE"],
  CLUSTER: ["CREATE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "ALTER", "DESCRIBE"],
  TRANSACTIONAL_ID: ["DESCRIBE", "WRITE"],
};

export interface AclBinding {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: PatternType;
  /** "User:alice", or "User:*" for everyone. */
  readonly principal: string;
  /** The client's IP address as the broker sees it, or "*". */
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: Permission;
}

/**
 * Which bindings DescribeAcls and DeleteAcls mean (Kafka's AclBindingFilter): null and "ANY" match
 * everything; patternType "MATCH" with a name matches every binding that would apply to a resource
 * of that name (its LITERAL, the "*" LITERAL and every PREFIXED that is a prefix of it).
 */
export interface AclFilter {
  readonly resourceType: ResourceType | "ANY";
  readonly resourceName: string | null;
  readonly patternType: PatternType | "ANY" | "MATCH";
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: AclOperation | "ANY";
  readonly permission: Permission | "ANY";
}

export const MATCH_ALL: AclFilter = Object.freeze({ resourceType: "ANY", resourceName: null, patternType: "ANY", principal: null, host: null, operation: "ANY", permission: "ANY" });

/** Why `b` cannot be stored (Kafka's InvalidRequestException messages, near enough), or null. */
export function bindingProblem(b: AclBinding): string | null {
  if (!RESOURCE_TYPES.includes(b.resourceType)) return `invalid resource type ${String(b.resourceType)}`;
  if (!PATTERN_TYPES.includes(b.patternType)) return `invalid pattern type ${String(b.patternType)}: a binding is LITERAL or PREFIXED`;
  if (!PERMISSIONS.includes(b.permission)) return `invalid permission ${String(b.permission)}: ALLOW or DENY`;
  if (!ACL_OPERATIONS.includes(b.operation)) return `invalid operation ${String(b.operation)}`;
  if (b.operation !== "ALL" && !SUPPORTED_OPERATIONS[b.resourceType].includes(b.operation)) {
    return `${b.operation} is not an operation of ${b.resourceType} (it has ${SUPPORTED_OPERATIONS[b.resourceType].join(", ")}, or ALL)`;
  }
  if (b.resourceName === "") return "the resource name cannot be empty";
  if (b.resourceType === "CLUSTER" && (b.resourceName !== CLUSTER_NAME || b.patternType !== "LITERAL")) return `the cluster resource is the LITERAL ${CLUSTER_NAME}`;
  if (b.patternType === "PREFIXED" && b.resourceName === WILDCARD) return `a PREFIXED pattern cannot be "${WILDCARD}": use a LITERAL "${WILDCARD}" for every resource`;
  if (!/^User:.+$/.test(b.principal)) return `principal ${JSON.stringify(b.principal)} is not like User:NAME (or ${WILDCARD_PRINCIPAL})`;
  if (b.host === "") return 'the host cannot be empty: an IP address or "*"';
  for (const s of [b.resourceName, b.principal, b.host]) {
    if (s.length > FIELD_CHARS_MAX) return `a field is longer than ${FIELD_CHARS_MAX} characters`;
    if (/[\x00-\x1f\x7f]/.test(s)) return "a field contains control characters";
  }
  return null;
}

/** Why `f` is not a usable filter, or null (Kafka refuses UNKNOWN values in filters too). */
export function filterProblem(f: AclFilter): string | null {
  if (f.resourceType !== "ANY" && !RESOURCE_TYPES.includes(f.resourceType)) return "invalid resource type in the filter";
  if (f.patternType !== "ANY" && f.patternType !== "MATCH" && !PATTERN_TYPES.includes(f.patternType)) return "invalid pattern type in the filter";
  if (f.operation !== "ANY" && !ACL_OPERATIONS.includes(f.operation)) return "invalid operation in the filter";
  if (f.permission !== "ANY" && !PERMISSIONS.includes(f.permission)) return "invalid permission in the filter";
  return null;
}

/** Whether binding `b`'s pattern covers the resource named `name` (the rule in the file comment). */
export function patternCovers(b: Pick<AclBinding, "patternType" | "resourceName">, name: string): boolean {
  if (b.patternType === "LITERAL") return b.resourceName === name || b.resourceName === WILDCARD;
  return name.startsWith(b.resourceName);
}

export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== "ANY" && f.resourceType !== b.resourceType) return false;
  if (f.patternType === "MATCH") {
    if (f.resourceName !== null && !patternCovers(b, f.resourceName)) return false;
  } else {
    if (f.patternType !== "ANY" && f.patternType !== b.patternType) return false;
    if (f.resourceName !== null && f.resourceName !== b.resourceName) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== "ANY" && f.operation !== b.operation) return false;
  return f.permission === "ANY" || f.permission === b.permission;
}

function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permission === b.permission
  );
}

/** Operations whose ALLOW also allows `op` (the implication rule). */
function allowingOperations(op: Operation): readonly AclOperation[] {
  if (op === "DESCRIBE") return ["DESCRIBE", "READ", "WRITE", "DELETE", "ALTER", "ALL"];
  if (op === "DESCRIBE_CONFIGS") return ["DESCRIBE_CONFIGS", "ALTER_CONFIGS", "ALL"];
  return [op, "ALL"];
}

/** The ACL table: bindings grouped by resource type, and its file. */
export class AclStore {
  private acls: AclBinding[] = [];
  private byType = new Map<ResourceType, AclBinding[]>();
  private writes: Promise<void> = Promise.resolve();
  /** Rises with every change: decision caches keyed by it go stale at once. */
  version = 0;

  private constructor(
    private readonly fs: FileLayer,
    private readonly path: string,
  ) {}

  /** Reads DATA/acls.json (none: no ACLs yet). CoreError STORAGE when it is damaged. */
  static open(fs: FileLayer, dataDir: string): AclStore {
    const store = new AclStore(fs, joinPath(dataDir, ACLS_FILE));
    if (fs.stat(store.path) === null) return store;
    const read = readCheckedJson(fs.readFile(store.path));
    const acls = read.ok ? parseAcls(read.value) : read.reason;
    if (typeof acls === "string") {
      throw new CoreError("STORAGE", `${store.path} is damaged (${acls}): restore it from a backup, or remove it to start with no ACLs (only super users may then do anything)`, { file: store.path });
    }
    store.install(acls);
    return store;
  }

  get size(): number {
    return this.acls.length;
  }

  list(filter: AclFilter = MATCH_ALL): AclBinding[] {
    return this.acls.filter((b) => filterMatches(filter, b));
  }

  /**
   * The decision for `principal` at `host` doing `op` on the resource (the table at the top of the
   * file): "allow", or "deny" (with no ACL at all for the resource: also "deny").
   */
  decide(principal: string, host: string, op: Operation, type: ResourceType, name: string): "allow" | "deny" {
    const candidates = this.byType.get(type);
    if (candidates === undefined) return "deny";
    const allowing = allowingOperations(op);
    let allowed = false;
    for (const b of candidates) {
      if (b.principal !== principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.host !== host && b.host !== WILDCARD) continue;
      if (!patternCovers(b, name)) continue;
      if (b.permission === "DENY") {
        if (b.operation === op || b.operation === "ALL") return "deny";
      } else if (!allowed && allowing.includes(b.operation)) {
        allowed = true;
      }
    }
    return allowed ? "allow" : "deny";
  }

  /**
   * Whether some ALLOW lets `principal` at `host` do `op` on some resource of `type` that no DENY
   * takes back whole (Kafka's authorizeByResourceType, KIP-679: an idempotent producer needs WRITE
   * on any topic, or IDEMPOTENT_WRITE on the cluster).
   */
  allowsAny(principal: string, host: string, op: Operation, type: ResourceType): boolean {
    const applies = (b: AclBinding) => (b.principal === principal || b.principal === WILDCARD_PRINCIPAL) && (b.host === host || b.host === WILDCARD) && (b.operation === op || b.operation === "ALL");
    const candidates = (this.byType.get(type) ?? []).filter(applies);
    const denied = candidates.filter((b) => b.permission === "DENY");
    if (denied.some((b) => b.patternType === "LITERAL" && b.resourceName === WILDCARD)) return false;
    return candidates.some((b) => b.permission === "ALLOW" && !denied.some((d) => (d.patternType === "LITERAL" ? d.resourceName === b.resourceName && b.patternType === "LITERAL" : b.resourceName.startsWith(d.resourceName))));
  }

  /**
   * Adds the bindings (one already present is not added twice, as Kafka), then writes the table;
   * each must have passed bindingProblem(). One write for the whole call.
   */
  add(bindings: readonly AclBinding[]): Promise<void> {
    return this.update((acls) => {
      for (const b of bindings) {
        assert(bindingProblem(b) === null, "bindings are checked before they are added");
        if (!acls.some((a) => sameBinding(a, b))) acls.push(b);
      }
      if (acls.length > ACLS_MAX) throw new CoreError("POLICY_VIOLATION", `more than ${ACLS_MAX} ACLs: remove some first`);
    });
  }

  /** Removes every binding any filter matches; answers, per filter, the bindings it removed. */
  remove(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    return this.update((acls) => {
      const removed = filters.map((f) => acls.filter((b) => filterMatches(f, b)));
      const gone = new Set(removed.flat());
      const kept = acls.filter((b) => !gone.has(b));
      acls.length = 0;
      acls.push(...kept);
      return removed;
    });
  }

  private update<T>(change: (acls: AclBinding[]) => T): Promise<T> {
    const run = this.writes.then(async () => {
      const next = [...this.acls];
      const result = change(next);
      await writeFileAtomic(this.fs, this.path, encodeAcls(next));
      this.install(next);
      return result;
    });
    this.writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private install(acls: AclBinding[]): void {
    this.acls = acls;
    this.byType = new Map();
    for (const b of acls) {
      const list = this.byType.get(b.resourceType) ?? [];
      list.push(b);
      this.byType.set(b.resourceType, list);
    }
    this.version++;
  }
}

const BINDING_KEYS = ["resourceType", "resourceName", "patternType", "principal", "host", "operation", "permission"];

function encodeAcls(acls: readonly AclBinding[]): Uint8Array {
  const list = acls.map((b) => Object.fromEntries(BINDING_KEYS.map((k) => [k, b[k as keyof AclBinding]])));
  return encodeCheckedJson({ version: FORMAT_VERSION, acls: list }, 1);
}

/** The table in a parsed acls.json, or why it is not one. */
function parseAcls(doc: Record<string, unknown>): AclBinding[] | string {
  if (!hasExactKeys(doc, ["version", "acls"]) || doc.version !== FORMAT_VERSION || !Array.isArray(doc.acls)) return `not a version ${FORMAT_VERSION} ACL file`;
  const out: AclBinding[] = [];
  for (const entry of doc.acls as unknown[]) {
    if (typeof entry !== "object" || entry === null || !hasExactKeys(entry as Record<string, unknown>, BINDING_KEYS)) return "an ACL entry has the wrong shape";
    const e = entry as Record<string, unknown>;
    if (BINDING_KEYS.some((k) => typeof e[k] !== "string")) return "an ACL entry has a field that is not a string";
    const b = e as unknown as AclBinding;
    const problem = bindingProblem(b);
    if (problem !== null) return `an ACL entry is invalid: ${problem}`;
    out.push(b);
  }
  return out;
}
