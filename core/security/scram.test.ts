// SCRAM against RFC 7677's worked example, both ends against each other, and the ways a server
// exchange must fail (issue #18).
import { describe, expect, test } from "bun:test";
import { credentialFromSalted, makeCredential, passwordMatches, saltedPassword, ScramClient, type ScramCredential, type ScramMechanism, ScramServer, escapeSaslName, unescapeSaslName } from "./scram.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();
const KEY = new Uint8Array(32);

// RFC 7677 §3: user "user", password "pencil".
const RFC = {
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  salt: Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64"),
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

function rfcCredential(): ScramCredential {
  const salt = new Uint8Array(RFC.salt);
  return credentialFromSalted("SCRAM-SHA-256", saltedPassword("SCRAM-SHA-256", "pencil", salt, 4096), salt, 4096);
}

describe("RFC 7677 SCRAM-SHA-256 example", () => {
  test("the client sends the RFC's messages and accepts its server signature", () => {
    const client = new ScramClient("SCRAM-SHA-256", "user", "pencil", RFC.clientNonce);
    expect(text.decode(client.first())).toBe(RFC.clientFirst);
    expect(text.decode(client.final(utf8.encode(RFC.serverFirst)))).toBe(RFC.clientFinal);
    expect(() => client.verify(utf8.encode(RFC.serverFinal))).not.toThrow();
    expect(() => client.verify(utf8.encode("v=AAAA"))).toThrow("signature");
  });

  test("the server answers the RFC's messages from the stored credential alone", () => {
    const server = new ScramServer("SCRAM-SHA-256", (u) => (u === "user" ? rfcCredential() : undefined), KEY, () => RFC.serverNonce);
    const first = server.step(utf8.encode(RFC.clientFirst));
    expect(first.kind).toBe("challenge");
    expect(text.decode((first as { bytes: Uint8Array }).bytes)).toBe(RFC.serverFirst);
    const final = server.step(utf8.encode(RFC.clientFinal));
    expect(final).toEqual({ kind: "success", bytes: utf8.encode(RFC.serverFinal), user: "user" });
  });
});

describe.each(["SCRAM-SHA-256", "SCRAM-SHA-512"] as ScramMechanism[])("%s", (mechanism) => {
  const users = new Map([["alice", makeCredential(mechanism, "s3cret")], ["a,b=c", makeCredential(mechanism, "x")]]);
  const server = () => new ScramServer(mechanism, (u) => users.get(u), KEY);

  function exchange(user: string, password: string) {
    const client = new ScramClient(mechanism, user, password);
    const s = server();
    const first = s.step(client.first());
    if (first.kind !== "challenge") return first;
    const final = s.step(client.final(first.bytes));
    if (final.kind === "success") client.verify(final.bytes);
    return final;
  }

  test("the right password logs in, and the client checks the server's proof", () => {
    expect(exchange("alice", "s3cret")).toMatchObject({ kind: "success", user: "alice" });
    expect(exchange("a,b=c", "x")).toMatchObject({ kind: "success", user: "a,b=c" });
  });

  test("a wrong password and an unknown user fail the same way, at the proof", () => {
    expect(exchange("alice", "wrong")).toEqual({ kind: "failure", reason: "invalid credentials" });
    expect(exchange("mallory", "s3cret")).toEqual({ kind: "failure", reason: "invalid credentials" });
  });

  test("an unknown user gets the same made-up salt every time", () => {
    const salt = () => text.decode((server().step(new ScramClient(mechanism, "mallory", "p").first()) as { bytes: Uint8Array }).bytes).split(",")[1];
    expect(salt()).toBe(salt()!);
  });

  test.each([
    ["not a gs2 header", "n=alice,r=abc"],
    ["no nonce", "n,,n=alice"],
    ["an empty user", "n,,n=,r=abc"],
    ["a bad escape", "n,,n=a=b,r=abc"],
    ["a mandatory extension", "n,,n=alice,r=abc,m=x"],
    ["a delegation token", "n,,n=alice,r=abc,tokenauth=true"],
    ["an authzid for someone else", "n,a=bob,n=alice,r=abc"],
  ])("client-first with %s fails", (_what, message) => {
    expect(server().step(utf8.encode(message)).kind).toBe("failure");
  });

  test("client-final with another nonce, channel binding or a short proof fails", () => {
    for (const tamper of [(m: string) => m.replace(/,r=([^,]*)/, ",r=$1x"), (m: string) => m.replace("c=biws", "c=eSws"), (m: string) => m.replace(/p=.*/, "p=AAAA")]) {
      const client = new ScramClient(mechanism, "alice", "s3cret");
      const s = server();
      const first = s.step(client.first()) as { bytes: Uint8Array };
      expect(s.step(utf8.encode(tamper(text.decode(client.final(first.bytes))))).kind).toBe("failure");
    }
  });

  test("an exchange is one use: a third message fails", () => {
    const s = server();
    const client = new ScramClient(mechanism, "alice", "s3cret");
    const first = s.step(client.first()) as { bytes: Uint8Array };
    const final = client.final(first.bytes);
    expect(s.step(final).kind).toBe("success");
    expect(s.step(final).kind).toBe("failure");
  });

  test("PLAIN's check against the stored credential", async () => {
    expect(await passwordMatches(users.get("alice")!, "s3cret")).toBe(true);
    expect(await passwordMatches(users.get("alice")!, "s3cret ")).toBe(false);
  });
});

test("saslname escapes round trip", () => {
  for (const name of ["plain", "a,b", "x=y", "=2C", ",=,"]) expect(unescapeSaslName(escapeSaslName(name))).toBe(name);
  expect(unescapeSaslName("a=b")).toBeNull();
});
