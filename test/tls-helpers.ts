// Certificates for the security tests, made at test time with Debian's openssl (nothing secret is
// checked in): a CA, a server certificate for 127.0.0.1 and localhost, a client certificate with
// CN=alice signed by that CA, and one signed by another CA (which the broker must not trust).
import { join } from "node:path";
import { tempDir } from "./harness.ts";

export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate (CN=mallory) from a CA the broker does not know. */
  strangerCert: string;
  strangerKey: string;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr.toString()}`);
}

function signed(dir: string, name: string, cn: string, ca: string, ext?: string): void {
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
  const extArgs = ext ? ["-extfile", ext] : [];
  openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", ...extArgs], dir);
}

export async function makeCerts(): Promise<TestCerts> {
  const dir = tempDir("streamctl-certs-");
  await Bun.write(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const ca of ["ca", "other-ca"]) openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${ca}.key`, "-out", `${ca}.pem`, "-days", "2", "-subj", `/CN=streamctl test ${ca}`], dir);
  signed(dir, "server", "localhost", "ca", "san.ext");
  signed(dir, "client", "alice", "ca");
  signed(dir, "stranger", "mallory", "other-ca");
  const p = (f: string) => join(dir, f);
  return {
    dir,
    ca: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    strangerCert: p("stranger.pem"),
    strangerKey: p("stranger.key"),
  };
}

/** serve's flags for a TLS listener with these certificates. */
export function tlsServeArgs(c: TestCerts, clientAuth: "none" | "requested" | "required" = "none"): string[] {
  return ["--tls-cert", c.serverCert, "--tls-key", c.serverKey, "--tls-ca", c.ca, "--tls-client-auth", clientAuth];
}
