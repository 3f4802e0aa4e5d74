// `streamctl acls list|create|delete` — access control lists over Kafka's ACL APIs (DescribeAcls,
// CreateAcls, DeleteAcls; net/client/admin-acls.ts), like kafka-acls, so the same commands manage
// Apache Kafka and Redpanda. Resources: --topic, --group, --transactional-id (repeatable) and
// --cluster; --resource-pattern-type literal (default on create) or prefixed, and for list/delete
// also any (the default there) or match (every binding that applies to the named resource).
// Operations take Kafka's names in any case (Read, DescribeConfigs, describe-configs, ALL).
//
//   streamctl acls create --allow-principal User:alice --operation Read --topic orders
//   streamctl acls create --allow-principal User:ci --operation Write --topic logs- --resource-pattern-type prefixed
//   streamctl acls create --deny-principal User:mallory --operation All --topic '*' --host 10.0.0.9
//   streamctl acls list --topic orders --resource-pattern-type match
//   streamctl acls delete --principal User:alice --topic orders
//
// Managing ACLs takes a principal allowed ALTER (create, delete) or DESCRIBE (list) on the cluster,
// usually a super user: --user/--sasl-mechanism/--password-file or a profile, as every command that
// connects. A broker without authorization answers SECURITY_DISABLED (exit 1, one line).
import { Command } from "commander";
import { type AclBindingView, type AclFilterSpec, createAcls, deleteAcls, describeAcls, describeBinding } from "../net/client/admin-acls.ts";
import type { AclOperationName, AclPatternType, AclResourceType } from "../net/protocol/acl-codes.ts";
import { type AdminFlags, collect, printJson, sameOutputBelow, withAdmin, withAdminOptions } from "./admin-common.ts";
import { type Io, UsageError } from "./io.ts";
import { formatTable } from "./table.ts";

const OPERATIONS: readonly AclOperationName[] = ["ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE"];
const CLUSTER_NAME = "kafka-cluster";

interface AclFlags extends AdminFlags {
  topic?: string[];
  group?: string[];
  transactionalId?: string[];
  cluster?: boolean;
  resourcePatternType?: string;
  principal?: string;
  allowPrincipal?: string[];
  denyPrincipal?: string[];
  operation?: string[];
  permission?: string;
  host?: string;
}

/** "DescribeConfigs", "describe-configs", "DESCRIBE_CONFIGS" → DESCRIBE_CONFIGS. */
export function operationName(value: string): AclOperationName {
  const name = value
    .trim()
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .replace(/-/g, "_")
    .toUpperCase() as AclOperationName;
  if (!OPERATIONS.includes(name)) throw new UsageError(`--operation: unknown operation "${value}": expected one of ${OPERATIONS.join(", ")}`);
  return name;
}

function principalOf(flag: string, value: string): string {
  if (!/^User:.+$/.test(value)) throw new UsageError(`${flag}: expected a principal like User:alice (or User:* for everyone), got "${value}"`);
  return value;
}

/** The resources named by the flags, in flag order; none when `required` is false and none given. */
function resources(flags: AclFlags, required: boolean): Array<{ type: AclResourceType; name: string }> {
  const out = [
    ...(flags.topic ?? []).map((name) => ({ type: "TOPIC" as const, name })),
    ...(flags.group ?? []).map((name) => ({ type: "GROUP" as const, name })),
    ...(flags.transactionalId ?? []).map((name) => ({ type: "TRANSACTIONAL_ID" as const, name })),
    ...(flags.cluster ? [{ type: "CLUSTER" as const, name: CLUSTER_NAME }] : []),
  ];
  for (const r of out) if (r.name === "") throw new UsageError(`--${r.type === "TRANSACTIONAL_ID" ? "transactional-id" : r.type.toLowerCase()}: a name cannot be empty`);
  if (required && out.length === 0) throw new UsageError("name a resource: --topic T, --group G, --transactional-id ID or --cluster");
  return out;
}

function patternType(flags: AclFlags, forFilter: boolean): AclPatternType | "ANY" | "MATCH" {
  const value = (flags.resourcePatternType ?? (forFilter ? "any" : "literal")).toUpperCase();
  const allowed = forFilter ? ["LITERAL", "PREFIXED", "ANY", "MATCH"] : ["LITERAL", "PREFIXED"];
  if (!allowed.includes(value)) throw new UsageError(`--resource-pattern-type: expected ${allowed.map((a) => a.toLowerCase()).join(", ")}, got "${flags.resourcePatternType}"`);
  return value as AclPatternType | "ANY" | "MATCH";
}

/** The filters list and delete send: one per named resource (or one for every resource). */
function filtersOf(flags: AclFlags): AclFilterSpec[] {
  const pattern = patternType(flags, true);
  const permission = flags.permission === undefined ? "ANY" : flags.permission.toUpperCase();
  if (!["ANY", "ALLOW", "DENY"].includes(permission)) throw new UsageError(`--permission: expected allow or deny, got "${flags.permission}"`);
  const operations = (flags.operation ?? []).map(operationName);
  const base = {
    patternType: pattern,
    principal: flags.principal === undefined ? null : principalOf("--principal", flags.principal),
    host: flags.host ?? null,
    permission: permission as AclFilterSpec["permission"],
  };
  const named = resources(flags, false);
  const targets = named.length === 0 ? [{ resourceType: "ANY" as const, resourceName: null }] : named.map((r) => ({ resourceType: r.type, resourceName: r.name }));
  const ops: Array<AclOperationName | "ANY"> = operations.length === 0 ? ["ANY"] : operations;
  return targets.flatMap((t) => ops.map((operation) => ({ ...base, ...t, operation })));
}

function table(bindings: readonly AclBindingView[]): string {
  return formatTable(
    ["RESOURCE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"],
    bindings.map((b) => [b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permission]),
  );
}

function sorted(bindings: AclBindingView[]): AclBindingView[] {
  const key = (b: AclBindingView) => [b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permission].join("\0");
  return bindings.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function resourceOptions(cmd: Command, forFilter: boolean): Command {
  return cmd
    .option("--topic <name>", "a topic (repeatable; '*' is every topic)", collect)
    .option("--group <name>", "a consumer group (repeatable; '*' is every group)", collect)
    .option("--transactional-id <id>", "a transactional id (repeatable)", collect)
    .option("--cluster", "the cluster itself (creating topics, managing users and ACLs, ...)")
    .option("--resource-pattern-type <type>", forFilter ? "any (default), match, literal or prefixed" : "literal (default) or prefixed: the name is a prefix");
}

function listCommand(io: Io): Command {
  const cmd = resourceOptions(new Command("list").description("list ACLs (all, or those of the named resources)"), true)
    .option("--principal <principal>", "only this principal's, like User:alice")
    .option("--operation <op>", "only this operation's (repeatable)", collect)
    .option("--permission <allow|deny>", "only ALLOW or only DENY bindings")
    .option("--host <host>", "only bindings for this host");
  return withAdminOptions(cmd).action((flags: AclFlags) =>
    withAdmin(flags, io, "acls list", async (s) => {
      const found = new Map<string, AclBindingView>();
      for (const f of filtersOf(flags)) for (const b of await describeAcls(s.admin, f)) found.set(JSON.stringify(b), b);
      const bindings = sorted([...found.values()]);
      if (flags.json) return printJson(io, { acls: bindings });
      if (bindings.length === 0) {
        io.stderr.write("no ACLs match\n");
        return;
      }
      io.stdout.write(table(bindings));
    }),
  );
}

function createCommand(io: Io): Command {
  const cmd = resourceOptions(new Command("create").description("add ACLs: each principal × operation × resource, ALLOW or DENY"), false)
    .option("--allow-principal <principal>", "principal to allow, like User:alice or User:* (repeatable)", collect)
    .option("--deny-principal <principal>", "principal to deny (repeatable; a DENY wins over every ALLOW)", collect)
    .option("--operation <op>", "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable)", collect)
    .option("--host <host>", "the client address the ACLs apply to (default *: any)");
  return withAdminOptions(cmd, false).action((flags: AclFlags) =>
    withAdmin(flags, io, "acls create", async (s) => {
      const principals = [
        ...(flags.allowPrincipal ?? []).map((p) => ({ principal: principalOf("--allow-principal", p), permission: "ALLOW" as const })),
        ...(flags.denyPrincipal ?? []).map((p) => ({ principal: principalOf("--deny-principal", p), permission: "DENY" as const })),
      ];
      if (principals.length === 0) throw new UsageError("name who: --allow-principal User:NAME or --deny-principal User:NAME");
      if ((flags.operation ?? []).length === 0) throw new UsageError("name what: --operation OP (Read, Write, Describe, ..., All)");
      const operations = flags.operation!.map(operationName);
      const pattern = patternType(flags, false) as AclPatternType;
      const bindings: AclBindingView[] = [];
      for (const r of resources(flags, true)) {
        for (const p of principals) {
          for (const operation of operations) {
            bindings.push({ resourceType: r.type, resourceName: r.name, patternType: r.type === "CLUSTER" ? "LITERAL" : pattern, principal: p.principal, host: flags.host ?? "*", operation, permission: p.permission });
          }
        }
      }
      await createAcls(s.admin, bindings);
      for (const b of bindings) io.stderr.write(`streamctl: created ACL: ${describeBinding(b)}\n`);
    }),
  );
}

function deleteCommand(io: Io): Command {
  const cmd = resourceOptions(new Command("delete").description("remove the ACLs that match: of the named resources, or of --principal"), true)
    .option("--principal <principal>", "only this principal's, like User:alice")
    .option("--operation <op>", "only this operation's (repeatable)", collect)
    .option("--permission <allow|deny>", "only ALLOW or only DENY bindings")
    .option("--host <host>", "only bindings for this host");
  return withAdminOptions(cmd).action((flags: AclFlags) =>
    withAdmin(flags, io, "acls delete", async (s) => {
      // Deleting every ACL at once is not a default: a resource or a principal says which.
      if (resources(flags, false).length === 0 && flags.principal === undefined) throw new UsageError("say which ACLs: a resource (--topic, --group, --transactional-id, --cluster) or --principal");
      const deleted = sorted(await deleteAcls(s.admin, filtersOf(flags)));
      if (flags.json) return printJson(io, { deleted });
      if (deleted.length > 0) io.stdout.write(table(deleted));
      io.stderr.write(`streamctl: deleted ${deleted.length} ACL${deleted.length === 1 ? "" : "s"}\n`);
    }),
  );
}

export function aclsCommand(io: Io): Command {
  const cmd = new Command("acls")
    .alias("acl")
    .description("list, create and delete ACLs: who may do what to topics, groups and the cluster (Kafka ACL APIs)")
    .addCommand(listCommand(io))
    .addCommand(createCommand(io))
    .addCommand(deleteCommand(io));
  return sameOutputBelow(cmd, io);
}
