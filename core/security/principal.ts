// Who a connection or request acts as: Kafka's KafkaPrincipal, "User:<name>". A SASL login gives
// User:<user name>, a verified TLS client certificate User:<its subject CN>, anything else
// User:ANONYMOUS (Kafka's names, so that principals in --super-users and, later, ACLs read the
// same as in a Kafka cluster's configuration).

export interface Principal {
  readonly type: "User";
  readonly name: string;
}

export const ANONYMOUS: Principal = Object.freeze({ type: "User", name: "ANONYMOUS" });

export function userPrincipal(name: string): Principal {
  return { type: "User", name };
}

export function principalString(p: Principal): string {
  return `${p.type}:${p.name}`;
}

/** `User:alice` → the principal; null for anything else. */
export function parsePrincipal(s: string): Principal | null {
  const m = /^User:(.+)$/.exec(s.trim());
  return m ? userPrincipal(m[1]!) : null;
}

export function samePrincipal(a: Principal, b: Principal): boolean {
  return a.type === b.type && a.name === b.name;
}
