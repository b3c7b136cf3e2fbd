import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";

const run = promisify(execFile);
const SECRETLINT = join(process.cwd(), "node_modules", ".bin", "secretlint");
const CONFIG = join(process.cwd(), ".secretlintrc.json");

/**
 * Secrets scanning of the repository (issue 7: "no key, token or .env committed"), run by
 * `make test` and so by CI. Every file git would commit (tracked, or new and not ignored) goes
 * through secretlint's recommended rules (private keys, cloud and SaaS tokens, basic-auth URLs…);
 * key and environment files are refused by name, whatever their content.
 */
describe("Repository secrets", function () {
  this.timeout(60_000);

  it("should hold no secret in any file git would commit", async () => {
    const files = await committable();
    expect(files.length, "files found").to.be.greaterThan(100);
    const found = await secretlint(files);
    expect(found.output, found.output).to.equal("");
    expect(found.code).to.equal(0);
  });

  it("should hold no environment, key or keystore file", async () => {
    const refused = /(^|\/)(\.env(\..+)?|id_(rsa|dsa|ecdsa|ed25519)|.+\.(pem|key|p12|pfx|jks|keystore))$/;
    const allowed = new Set([".env.example"]);
    const offending = (await committable()).filter((file) => refused.test(file) && !allowed.has(file));
    expect(offending).to.deep.equal([]);
  });

  it("should catch a private key or a token if one were committed", async () => {
    // The scan above passing would mean nothing if the scanner missed these.
    const dir = await mkdtemp(join(tmpdir(), "teller-secrets-"));
    try {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      await writeFile(join(dir, "key.ts"), `export const KEY = \`${pem}\`;\n`);
      const token = `ghp_${randomBytes(18).toString("hex")}`;
      await writeFile(join(dir, "token.ts"), `export const TOKEN = "${token}";\n`);
      // secretlint only reads files under its working directory, so it runs in the scratch one.
      const found = await secretlint(["key.ts", "token.ts"], dir);
      expect(found.code).to.not.equal(0);
      expect(found.output).to.include("privatekey").and.include("github");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Tracked files plus new ones git does not ignore: what the next commit could contain. */
async function committable(): Promise<string[]> {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    maxBuffer: 16 << 20,
  });
  return stdout.split("\0").filter((file) => file !== "");
}

async function secretlint(files: string[], cwd = process.cwd()): Promise<{ code: number; output: string }> {
  try {
    const args = ["--secretlintrc", CONFIG, "--format", "compact", ...files];
    await run(SECRETLINT, args, { cwd, maxBuffer: 16 << 20 });
    return { code: 0, output: "" };
  } catch (err) {
    const { code, stdout, stderr } = err as { code?: number; stdout?: string; stderr?: string };
    return { code: code ?? 1, output: `${stdout ?? ""}${stderr ?? ""}`.toLowerCase() };
  }
}
