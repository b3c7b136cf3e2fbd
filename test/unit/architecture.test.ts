import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { expect } from "chai";

/**
 * Guards the import rules of STYLE.md §1 by reading every import of the source tree: the
 * architecture holds because a test fails when it doesn't, not because reviewers remember.
 */
const ROOTS = ["bin", "core", "gateways", "lib"];
const PURE_LIB = [
  "lib/clock.ts",
  "lib/ids.ts",
  "lib/money.ts",
  "lib/subject-id.ts",
  "lib/redact.ts",
  "lib/duration.ts",
  "lib/canonical-json.ts",
  "lib/sha256.ts",
  // Pure functions of node:crypto, like ids.ts and sha256.ts: no I/O, no state.
  "lib/otp-code.ts",
  "lib/totp.ts",
];

interface Edge {
  readonly from: string;
  readonly to: string;
}

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

function edges(): Edge[] {
  const found: Edge[] = [];
  for (const file of ROOTS.flatMap(sources)) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(
      /(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(["']([^"']+)["']\)/g,
    )) {
      const spec = (match[1] ?? match[2]) as string;
      const to = spec.startsWith(".") ? normalize(join(dirname(file), spec)).replace(/\.js$/, ".ts") : spec;
      found.push({ from: file, to });
    }
  }
  return found;
}

const all = edges();
const within = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);
const offenders = (from: string, allowed: (to: string) => boolean) =>
  all.filter((e) => within(e.from, from) && !allowed(e.to)).map((e) => `${e.from} → ${e.to}`);

describe("architecture (STYLE.md §1 import rules)", () => {
  it("should find the source tree", () => {
    expect(all.length).to.be.greaterThan(50);
  });

  it("should keep the domain pure: its own files and the pure parts of lib only", () => {
    const allowed = (to: string) => within(to, "core/domain") || PURE_LIB.includes(to);
    expect(offenders("core/domain", allowed)).to.deep.equal([]);
  });

  it("should keep rpc adapters off stores, transports and servers", () => {
    const banned = (to: string) =>
      within(to, "core/stores") ||
      within(to, "core/transport") ||
      /^(ioredis|pg|koa|@electric-sql|@grpc)/.test(to);
    expect(offenders("core/rpc", (to) => !banned(to))).to.deep.equal([]);
  });

  it("should keep stores off rpc, transports and generated code", () => {
    const banned = (to: string) =>
      within(to, "core/rpc") || within(to, "core/transport") || within(to, "gen");
    expect(offenders("core/stores", (to) => !banned(to))).to.deep.equal([]);
  });

  it("should keep lib free of core, gateways and bin", () => {
    const banned = (to: string) => ["core", "gateways", "bin"].some((f) => within(to, f));
    expect(offenders("lib", (to) => !banned(to))).to.deep.equal([]);
  });

  it("should keep gateways off core and everyone off bin", () => {
    expect(offenders("gateways", (to) => !within(to, "core"))).to.deep.equal([]);
    const intoBin = all.filter((e) => !within(e.from, "bin") && within(e.to, "bin"));
    expect(intoBin.map((e) => relative(".", e.from))).to.deep.equal([]);
  });

  it("should write to the console only from bin/", () => {
    const noisy = ["core", "gateways", "lib"]
      .flatMap(sources)
      .filter((file) => /\bconsole\.(log|error|warn|info)\(/.test(readFileSync(file, "utf8")));
    expect(noisy).to.deep.equal([]);
  });
});
