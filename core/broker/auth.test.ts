// The broker's auth use cases: users kept across a reopen and never as a password, Kafka's rules
// for AlterUserScramCredentials, SASL exchanges against the stored users, authorize()'s table and
// the ACLs it decides by (issue #18).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeFileLayer } from "../fs.ts";
import { saltedPassword, ScramClient } from "../security/scram.ts";
import { type AclBinding, ANONYMOUS, Auth, CLUSTER, MATCH_ALL, requester, type SaslStep, userPrincipal } from "./auth.ts";
import { CoreError } from "../errors.ts";

const fs = new NodeFileLayer();
const utf8 = new TextEncoder();
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "streamctl-auth-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function scramLogin(auth: Auth, mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512", user: string, password: string): Promise<SaslStep> {
  const ex = auth.startSasl(mechanism);
  const client = new ScramClient(mechanism, user, password);
  const first = await ex.step(client.first());
  if (first.kind !== "challenge") return first;
  return ex.step(client.final(first.bytes));
}

async function plainLogin(auth: Auth, user: string, password: string, authzid = ""): Promise<SaslStep> {
  return auth.startSasl("PLAIN").step(utf8.encode(`${authzid}\0${user}\0${password}`));
}

describe("users", () => {
  test("survive a reopen, log in with every mechanism, and are never on disk in plaintext", async () => {
    const auth = Auth.open(fs, dir);
    expect(await auth.bootstrapAdmin("Admin-Pa55word")).toBe(true);
    await auth.setPassword("alice", "correct horse", { mode: "create" });
    expect(await auth.bootstrapAdmin("other")).toBe(false);

    const again = Auth.open(fs, dir);
    expect(again.listUsers()).toEqual([
      { name: "admin", superUser: true, credentials: [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }, { mechanism: "SCRAM-SHA-512", iterations: 4096 }] },
      { name: "alice", superUser: false, credentials: [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }, { mechanism: "SCRAM-SHA-512", iterations: 4096 }] },
    ]);
    for (const m of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      expect(await scramLogin(again, m, "alice", "correct horse")).toMatchObject({ kind: "success", principal: userPrincipal("alice") });
      expect((await scramLogin(again, m, "alice", "wrong")).kind).toBe("failure");
    }
    expect(await plainLogin(again, "admin", "Admin-Pa55word")).toMatchObject({ kind: "success", principal: userPrincipal("admin") });
    expect((await plainLogin(again, "admin", "wrong")).kind).toBe("failure");
    expect((await plainLogin(again, "nobody", "Admin-Pa55word")).kind).toBe("failure");
    expect((await plainLogin(again, "admin", "Admin-Pa55word", "alice")).kind).toBe("failure");

    const onDisk = readFileSync(join(dir, "users.json"), "utf8");
    for (const secret of ["Admin-Pa55word", "correct horse", Buffer.from("correct horse").toString("base64")]) expect(onDisk).not.toContain(secret);
    expect(onDisk).toContain('"crc32c"');
  });

  test("a changed password replaces every credential; delete removes the user", async () => {
    const auth = Auth.open(fs, dir);
    await auth.setPassword("bob", "one", { mode: "create" });
    await expect(auth.setPassword("bob", "two", { mode: "create" })).rejects.toMatchObject({ code: "USER_EXISTS" });
    await auth.setPassword("bob", "two", { mode: "change", mechanisms: ["SCRAM-SHA-512"] });
    expect(auth.user("bob")!.credentials.map((c) => c.mechanism)).toEqual(["SCRAM-SHA-512"]);
    expect((await plainLogin(auth, "bob", "one")).kind).toBe("failure");
    expect((await plainLogin(auth, "bob", "two")).kind).toBe("success");
    await auth.deleteUser("bob");
    await expect(auth.deleteUser("bob")).rejects.toMatchObject({ code: "USER_NOT_FOUND" });
    await expect(auth.setPassword("carol", "x", { mode: "change" })).rejects.toMatchObject({ code: "USER_NOT_FOUND" });
    expect(Auth.open(fs, dir).userCount).toBe(0);
  });

  test.each([
    ["an empty name", "", "p", {}],
    ["a control character", "a\nb", "p", {}],
    ["an empty password", "a", "", {}],
    ["too few iterations", "a", "p", { iterations: 100 }],
    ["too many iterations", "a", "p", { iterations: 1 << 20 }],
  ])("%s is UNACCEPTABLE_CREDENTIAL", async (_what, name, password, extra) => {
    await expect(Auth.open(fs, dir).setPassword(name, password, { mode: "create", ...extra })).rejects.toMatchObject({ code: "UNACCEPTABLE_CREDENTIAL" });
  });

  test("a damaged users.json stops the open with one message naming the file", async () => {
    await Auth.open(fs, dir).setPassword("alice", "x", { mode: "create" });
    const path = join(dir, "users.json");
    writeFileSync(path, readFileSync(path, "utf8").replace('"alice"', '"alicf"'));
    expect(() => Auth.open(fs, dir)).toThrow(/users\.json is damaged \(checksum mismatch/);
    writeFileSync(path, "{");
    expect(() => Auth.open(fs, dir)).toThrow(CoreError);
  });
});

describe("AlterUserScramCredentials", () => {
  const salt = utf8.encode("salty");
  const upsert = (user: string, mechanism: string, password: string, iterations = 4096) => ({
    kind: "upsert" as const,
    user,
    mechanism,
    iterations,
    salt,
    saltedPassword: mechanism === "SCRAM-SHA-512" || mechanism === "SCRAM-SHA-256" ? saltedPassword(mechanism, password, salt, Math.max(iterations, 1)) : new Uint8Array(32),
  });

  test("each user's changes apply together or not at all, with Kafka's errors", async () => {
    const auth = Auth.open(fs, dir);
    const results = await auth.alterScramCredentials([
      upsert("alice", "SCRAM-SHA-256", "a1"),
      upsert("bob", "SCRAM-SHA-256", "b1"),
      upsert("bob", "SCRAM-SHA-256", "b2"),
      upsert("carol", "SCRAM-SHA-512", "c1", 10),
      { kind: "delete", user: "dave", mechanism: "SCRAM-SHA-256" },
      upsert("erin", "SCRAM-SHA-1", "e"),
      upsert("", "SCRAM-SHA-256", "x"),
    ]);
    const codes = Object.fromEntries([...results].map(([u, e]) => [u, e?.code ?? null]));
    expect(codes).toEqual({ alice: null, bob: "DUPLICATE_RESOURCE", carol: "UNACCEPTABLE_CREDENTIAL", dave: "USER_NOT_FOUND", erin: "UNSUPPORTED_MECHANISM", "": "UNACCEPTABLE_CREDENTIAL" });
    expect(auth.listUsers().map((u) => u.name)).toEqual(["alice"]);
    expect(await scramLogin(auth, "SCRAM-SHA-256", "alice", "a1")).toMatchObject({ kind: "success" });

    // Deleting the last credential removes the user.
    const del = await auth.alterScramCredentials([{ kind: "delete", user: "alice", mechanism: "SCRAM-SHA-256" }]);
    expect(del.get("alice")).toBeNull();
    expect(Auth.open(fs, dir).userCount).toBe(0);
  });
});

describe("authorize", () => {
  const who = (name: string, host = "10.0.0.1") => requester(name === "ANONYMOUS" ? ANONYMOUS : userPrincipal(name), host);
  const topic = (name: string) => ({ type: "TOPIC" as const, name });
  const group = (name: string) => ({ type: "GROUP" as const, name });
  const acl = (b: Partial<AclBinding>): AclBinding => ({ resourceType: "TOPIC", resourceName: "orders", patternType: "LITERAL", principal: "User:alice", host: "*", operation: "READ", permission: "ALLOW", ...b });

  test("off: everyone may do everything", () => {
    expect(Auth.open(fs, dir).authorize(who("ANONYMOUS"), "ALTER", CLUSTER)).toBe(true);
  });

  test("on: super users (stored or --super-users) may do anything; everyone else nothing without an ACL", async () => {
    const auth = Auth.open(fs, dir, { authorizationEnabled: true, superUsers: ["User:ops"] });
    await auth.bootstrapAdmin("pw");
    await auth.setPassword("alice", "pw", { mode: "create" });
    for (const p of ["admin", "ops"]) {
      expect(auth.authorize(who(p), "ALTER", CLUSTER)).toBe(true);
      expect(auth.authorize(who(p), "WRITE", topic("t"))).toBe(true);
    }
    for (const p of ["alice", "ANONYMOUS"]) {
      expect(auth.authorize(who(p), "ALTER", CLUSTER)).toBe(false);
      expect(auth.authorize(who(p), "DESCRIBE", CLUSTER)).toBe(false);
      expect(auth.authorize(who(p), "WRITE", topic("t"))).toBe(false);
      expect(auth.authorize(who(p), "READ", group("g"))).toBe(false);
    }
    expect(() => auth.require(who("alice"), "ALTER", CLUSTER)).toThrow("User:alice may not ALTER CLUSTER kafka-cluster");
  });

  test("a --super-users entry that is not a principal is refused", () => {
    expect(() => Auth.open(fs, dir, { superUsers: ["alice"] })).toThrow("User:NAME");
  });

  test("ACLs: literal, wildcard, prefixed; DENY wins; READ implies DESCRIBE but a DENY of READ does not deny DESCRIBE; hosts", async () => {
    const auth = Auth.open(fs, dir, { authorizationEnabled: true });
    expect(await auth.createAcls([
      acl({}),
      acl({ resourceName: "logs-", patternType: "PREFIXED", operation: "WRITE" }),
      acl({ resourceName: "logs-secret", operation: "WRITE", permission: "DENY" }),
      acl({ resourceName: "*", principal: "User:*", operation: "DESCRIBE" }),
      acl({ resourceName: "metrics", principal: "User:bob", host: "10.0.0.2", operation: "ALL" }),
      acl({ resourceName: "orders", operation: "READ", permission: "DENY", principal: "User:carol" }),
      acl({ resourceName: "orders", operation: "ALL", principal: "User:carol" }),
    ])).toEqual([null, null, null, null, null, null, null]);
    expect(auth.authorize(who("alice"), "READ", topic("orders"))).toBe(true);
    expect(auth.authorize(who("alice"), "WRITE", topic("orders"))).toBe(false);
    expect(auth.authorize(who("alice"), "WRITE", topic("logs-app"))).toBe(true);
    expect(auth.authorize(who("alice"), "DESCRIBE", topic("logs-app"))).toBe(true); // WRITE implies DESCRIBE
    expect(auth.authorize(who("alice"), "WRITE", topic("logs-secret"))).toBe(false); // DENY over the PREFIXED ALLOW
    expect(auth.authorize(who("alice"), "WRITE", topic("logsx"))).toBe(false);
    expect(auth.authorize(who("dave"), "DESCRIBE", topic("anything"))).toBe(true); // User:* on "*"
    expect(auth.authorize(who("dave"), "READ", topic("anything"))).toBe(false);
    expect(auth.authorize(who("bob", "10.0.0.2"), "DELETE", topic("metrics"))).toBe(true); // ALL
    expect(auth.authorize(who("bob", "10.0.0.3"), "DELETE", topic("metrics"))).toBe(false); // another host
    expect(auth.authorize(who("carol"), "READ", topic("orders"))).toBe(false); // DENY READ over ALLOW ALL
    expect(auth.authorize(who("carol"), "WRITE", topic("orders"))).toBe(true);
    expect(auth.authorize(who("carol"), "DESCRIBE", topic("orders"))).toBe(true);
    expect(auth.authorizedOperations(who("alice"), topic("orders"))).toEqual(["READ", "DESCRIBE"]);
    expect(auth.authorizeAny(who("alice"), "WRITE", "TOPIC")).toBe(true);
    expect(auth.authorizeAny(who("dave"), "WRITE", "TOPIC")).toBe(false);
  });

  test("ACLs survive a reopen, change decisions at once, and a damaged acls.json stops the open", async () => {
    const auth = Auth.open(fs, dir, { authorizationEnabled: true });
    expect(auth.authorize(who("alice"), "READ", topic("orders"))).toBe(false);
    await auth.createAcls([acl({}), acl({})]);
    expect(auth.authorize(who("alice"), "READ", topic("orders"))).toBe(true);
    const again = Auth.open(fs, dir, { authorizationEnabled: true });
    expect(again.describeAcls(MATCH_ALL)).toEqual([acl({})]);
    const removed = await again.deleteAcls([{ ...MATCH_ALL, resourceType: "GROUP" }, { ...MATCH_ALL, principal: "User:alice" }]);
    expect(removed).toEqual([{ error: null, removed: [] }, { error: null, removed: [acl({})] }]);
    expect(again.authorize(who("alice"), "READ", topic("orders"))).toBe(false);
    writeFileSync(join(dir, "acls.json"), readFileSync(join(dir, "acls.json"), "utf8").replace("[]", "[{}]"));
    expect(() => Auth.open(fs, dir)).toThrow("acls.json is damaged");
  });

  test("ACL filters: MATCH finds what applies to a name; bad bindings are refused one by one; off answers SECURITY_DISABLED", async () => {
    const auth = Auth.open(fs, dir, { authorizationEnabled: true });
    const results = await auth.createAcls([
      acl({ resourceName: "*" }),
      acl({ resourceName: "ord", patternType: "PREFIXED" }),
      acl({ resourceName: "other" }),
      acl({ resourceType: "GROUP", operation: "WRITE" }),
      acl({ resourceType: "CLUSTER", resourceName: "c" }),
      acl({ principal: "alice" }),
    ]);
    expect(results.map((r) => r?.code ?? null)).toEqual([null, null, null, "INVALID_ACL", "INVALID_ACL", "INVALID_ACL"]);
    const match = auth.describeAcls({ ...MATCH_ALL, resourceType: "TOPIC", resourceName: "orders", patternType: "MATCH" });
    expect(match.map((b) => b.resourceName).sort()).toEqual(["*", "ord"]);
    expect(() => Auth.open(fs, dir).describeAcls(MATCH_ALL)).toThrow(CoreError);
  });
});
