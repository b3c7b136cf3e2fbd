import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import { type CoreConfig, loadCoreConfig } from "../../core/config.js";
import { type GatewayConfig, loadGatewayConfig } from "../../gateways/config.js";
import type { Env } from "../../lib/env.js";

const run = promisify(execFile);

/** The deployment folder under test; every path below is relative to the repository root. */
export const DEPLOY = "deploy";
export const KUBERNETES = join(DEPLOY, "kubernetes");

/** The parts of a Kubernetes object these tests read. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Labels };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form; each test reads the fields it checks.
  readonly spec?: any;
  readonly data?: Readonly<Record<string, string>>;
}
export type Labels = Readonly<Record<string, string>>;

/** The documents of every file kustomization.yaml lists, and the list itself. */
export async function loadKubernetes(): Promise<{ resources: string[]; objects: K8sObject[] }> {
  const kustomization = parse(await readFile(join(KUBERNETES, "kustomization.yaml"), "utf8"));
  const resources = kustomization.resources as string[];
  const objects: K8sObject[] = [];
  for (const file of resources) {
    for (const doc of parseAllDocuments(await readFile(join(KUBERNETES, file), "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      objects.push(doc.toJS() as K8sObject);
    }
  }
  return { resources, objects };
}

/** The parsed compose file, its `${…}` references resolved from `vars` the way Compose does. */
// biome-ignore lint/suspicious/noExplicitAny: a compose file is free-form, as above.
export async function loadCompose(vars: Readonly<Record<string, string>>): Promise<any> {
  const doc = parse(await readFile(join(DEPLOY, "compose.yaml"), "utf8"), { merge: true });
  return mapStrings(doc, (text) => interpolate(text, vars));
}

/** KEY=VALUE lines of an env file (comments and blank lines skipped), as Compose reads `.env`. */
export async function readEnvFile(path: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) vars[match[1] as string] = (match[2] as string).trim();
  }
  return vars;
}

/**
 * Compose interpolation: `$$` is a literal `$`; `${V}`, `${V:-default}`, `${V-default}`,
 * `${V:?message}` and `${V?message}` read `vars`. An unset plain `${V}` throws where Compose would
 * warn and use "": a manifest relying on that is a mistake.
 */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  const pattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  return text.replace(pattern, (match, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === "$$") return "$";
    const name = (braced ?? bare) as string;
    const value = vars[name];
    const missing = value === undefined || (op?.startsWith(":") === true && value === "");
    if (op?.endsWith("-")) return missing ? (arg as string) : (value as string);
    if (missing) throw new Error(`${name}: ${op?.endsWith("?") ? arg : "not set"}`);
    return value as string;
  });
}

function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, fn)]));
  }
  return value;
}

/**
 * What an operator adds by hand next to what deploy/generate-secrets.sh makes (deploy/README.md):
 * the providers' credentials, the webhook host's public certificate, the cluster's own Redis and
 * PostgreSQL URLs. Stand-in values of the right shape.
 */
async function handMadeSecrets(dir: string): Promise<Record<string, string>> {
  const read = (file: string) => readFile(join(dir, file), "utf8");
  return {
    "whatsapp-app-secret": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "whatsapp-access-token": "EAAtest-access-token-of-a-system-user",
    "twilio-auth-token": "00112233445566778899aabbccddeeff",
    // Any valid pair stands for the public certificate; Meta's trust is not under test.
    "gateway-tls.crt": await read("core.crt"),
    "gateway-tls.key": await read("core.key"),
    "cluster-redis-url": "rediss://redis.bank.example:6380",
    "cluster-database-url": "postgres://teller@postgres.bank.example:5432/teller?sslmode=verify-full",
  };
}

/** Settings an operator fills in deploy/.env or the ConfigMaps, with stand-in values. */
export const OPERATOR_SETTINGS: Readonly<Record<string, string>> = {
  WHATSAPP_PHONE_NUMBER_ID: "106540352242922",
  TWILIO_ACCOUNT_SID: `AC${"0123456789abcdef".repeat(2)}`,
  TWILIO_SMS_FROM: "+15551234567",
};

/** A secrets folder as deploy/README.md has the operator build it: the script's output plus the hand-made files. */
export async function makeSecretsDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "teller-deploy-"));
  const dir = join(root, "secrets");
  await run("bash", [join(DEPLOY, "generate-secrets.sh"), dir], {
    env: { ...process.env, CORE_TLS_NAMES: "" },
  });
  for (const [file, text] of Object.entries(await handMadeSecrets(dir))) {
    await writeFile(join(dir, file), text, { mode: 0o444 });
  }
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** The process a container runs (`teller core` or `teller gateways`), with its config loader. */
export type Process = "core" | "gateways";

/** Loads `env` with the real loader of `process`, and records every variable name it looked at. */
export function loadRecording(
  process: Process,
  env: Env,
): { config: CoreConfig | GatewayConfig; read: Set<string> } {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name) {
      if (typeof name === "string") read.add(name);
      return Reflect.get(target, name);
    },
  });
  const config = process === "core" ? loadCoreConfig(recording) : loadGatewayConfig(recording);
  return { config, read };
}

/**
 * The Secrets deploy/README.md has the operator create: for each `kubectl … create secret generic
 * NAME`, its `--from-file=KEY=deploy/secrets/FILE` entries as KEY → FILE.
 */
export async function readmeSecrets(): Promise<Map<string, Map<string, string>>> {
  const text = (await readFile(join(DEPLOY, "README.md"), "utf8")).replace(/\\\n\s*/g, " ");
  const secrets = new Map<string, Map<string, string>>();
  for (const line of text.split("\n")) {
    const name = /\bkubectl\b.*?\bcreate secret generic ([a-z0-9.-]+)/.exec(line)?.[1];
    if (name === undefined) continue;
    const keys = new Map<string, string>();
    for (const [, key, file] of line.matchAll(/--from-file=([A-Za-z0-9._-]+)=deploy\/secrets\/(\S+)/g)) {
      keys.set(key as string, file as string);
    }
    secrets.set(name, keys);
  }
  return secrets;
}
