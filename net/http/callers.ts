// Who an HTTP request acts as (issue #18 item 5): the same users as the Kafka door's SASL logins.
//
// | Authorization header          | token configured        | no token                                |
// |-------------------------------|-------------------------|-----------------------------------------|
// | none                          | 401                     | User:ANONYMOUS (the ACLs decide; with   |
// |                               |                         |   authorization off: everything)        |
// | Bearer <the token>            | the operator: a super user                                        |
// | Bearer <anything else>        | 401                                                               |
// | Basic base64(user:password)   | User:<user> when the password matches the user's SCRAM            |
// |                               |   credential (as SASL/PLAIN does), else 401                       |
// | any other scheme, or garbage  | 401                                                               |
//
// Every 401 carries `WWW-Authenticate: Bearer, Basic realm="streamctl", charset="UTF-8"`.
import { timingSafeEqual } from "node:crypto";
import { ANONYMOUS, type Principal } from "../../core/broker/auth.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { HttpError } from "./errors.ts";

export const WWW_AUTHENTICATE = 'Bearer, Basic realm="streamctl", charset="UTF-8"';

/** The token holder (a super user) or a principal the ACLs decide for. */
export type Caller = { kind: "operator" } | { kind: "principal"; principal: Principal };

export function unauthorized(message: string): HttpError {
  return new HttpError(401, "UNAUTHORIZED", message);
}

export class CallerCheck {
  private readonly wantBearer: Buffer | null;

  constructor(
    private readonly broker: Broker,
    token: string | undefined,
  ) {
    this.wantBearer = token === undefined ? null : Buffer.from(token);
  }

  /** The caller of a request with this Authorization header; throws 401 when it proves nobody. */
  async of(header: string | null): Promise<Caller> {
    if (header === null || header.trim() === "") {
      if (this.wantBearer !== null) throw unauthorized("credentials required: a Bearer token or HTTP Basic user and password");
      return { kind: "principal", principal: ANONYMOUS };
    }
    const space = header.indexOf(" ");
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? "" : header.slice(space + 1).trim();
    if (scheme === "bearer") {
      if (this.wantBearer !== null) {
        const got = Buffer.from(value);
        if (got.length === this.wantBearer.length && timingSafeEqual(got, this.wantBearer)) return { kind: "operator" };
      }
      throw unauthorized(this.wantBearer === null ? "this broker has no control-plane token: use HTTP Basic with a user" : "wrong bearer token");
    }
    if (scheme === "basic") {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (!/^[A-Za-z0-9+/]+=*$/.test(value) || colon <= 0) throw unauthorized("malformed Basic credentials: expected base64 of user:password");
      const principal = await this.broker.auth.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
      if (principal === null) throw unauthorized("wrong user name or password");
      return { kind: "principal", principal };
    }
    throw unauthorized(`unsupported authorization scheme "${scheme}": use Bearer or Basic`);
  }
}
