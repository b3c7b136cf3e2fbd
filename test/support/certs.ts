import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** One PEM file pair: paths for *_FILE variables and the text for clients built in the test. */
export interface PemPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** Certificates made for one test run by the `openssl` CLI, in a directory of their own. */
export interface TestCerts {
  readonly dir: string;
  /** The CA the servers' and the client's certificates chain to. */
  readonly ca: PemPair;
  /** A server certificate from `ca` for localhost, 127.0.0.1 and ::1 (subjectAltName). */
  readonly server: PemPair;
  /** A client certificate from `ca` (extendedKeyUsage clientAuth). */
  readonly client: PemPair;
  /** A second CA that has nothing to do with the first. */
  readonly otherCa: PemPair;
  /** A client certificate from `otherCa`, with the same subject as `client`. */
  readonly strangerClient: PemPair;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/**
 * Makes a fresh set of certificates with `openssl` (EC P-256, valid one day), so no key is
 * committed and every run proves the code with certificates it has never seen.
 */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), "teller-certs-"));
  const ca = await selfSigned(dir, "ca", "Teller Test CA");
  const otherCa = await selfSigned(dir, "other-ca", "Unrelated Test CA");
  const server = await issued(dir, "server", "localhost", ca, [
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
    "extendedKeyUsage=serverAuth",
  ]);
  const client = await issued(dir, "client", "teller-gateway", ca, ["extendedKeyUsage=clientAuth"]);
  const strangerClient = await issued(dir, "stranger", "teller-gateway", otherCa, [
    "extendedKeyUsage=clientAuth",
  ]);
  return {
    dir,
    ca,
    server,
    client,
    otherCa,
    strangerClient,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function selfSigned(dir: string, name: string, commonName: string): Promise<PemPair> {
  const [certFile, keyFile] = [join(dir, `${name}.pem`), join(dir, `${name}.key`)];
  await openssl(
    ["req", "-x509", ...EC, "-keyout", keyFile, "-out", certFile, "-days", "1"].concat(
      ["-subj", `/CN=${commonName}`, "-addext", "basicConstraints=critical,CA:TRUE"],
      ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ),
  );
  return pair(certFile, keyFile);
}

async function issued(
  dir: string,
  name: string,
  commonName: string,
  issuer: PemPair,
  extensions: string[],
): Promise<PemPair> {
  const [certFile, keyFile, csr, ext] = ["pem", "key", "csr", "ext"].map((e) => join(dir, `${name}.${e}`));
  await writeFile(ext, ["basicConstraints=CA:FALSE", ...extensions].join("\n"));
  await openssl(["req", ...EC, "-keyout", keyFile, "-out", csr, "-subj", `/CN=${commonName}`]);
  await openssl(
    ["x509", "-req", "-in", csr, "-CA", issuer.certFile, "-CAkey", issuer.keyFile].concat([
      "-set_serial",
      `0x${randomBytes(8).toString("hex")}`,
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      certFile,
    ]),
  );
  return pair(certFile, keyFile);
}

async function pair(certFile: string, keyFile: string): Promise<PemPair> {
  return { certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is the openssl CLI installed?): ${(err as Error).message}`);
  }
}
