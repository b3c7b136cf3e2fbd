import { execFile } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/**
 * What the image smoke tests (image-*.test.ts) run an image with on a machine that builds images but
 * cannot run containers (../shared/containers.md): buildah to inspect and mount the image, mounts
 * that give it a read-only root and a writable DATA_DIR, chroot to run its entrypoint as its user,
 * and /proc and the file tree to check what it runs and holds.
 */

const run = promisify(execFile);

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The image `make image-test` builds (deploy/image/build.sh tags IMAGE:latest, IMAGE default teller). */
export const IMAGE = `localhost/${process.env.IMAGE ?? "teller"}:latest`;

/**
 * Environment of every buildah call: CONTAINERS_CONF with an empty default_ulimits, without which
 * some buildah commands set rlimits these machines refuse (build.sh writes the same file).
 */
export function buildahEnv(): NodeJS.ProcessEnv {
  let conf = process.env.CONTAINERS_CONF;
  if (!conf) {
    conf = join(ROOT, ".test-data/image/containers.conf");
    mkdirSync(dirname(conf), { recursive: true });
    writeFileSync(conf, "[containers]\ndefault_ulimits = []\n");
  }
  return { ...process.env, CONTAINERS_CONF: conf };
}

/** Runs buildah and returns its trimmed stdout; rejects with its stderr. */
export async function buildah(args: readonly string[]): Promise<string> {
  const { stdout } = await run("buildah", args, { env: buildahEnv(), maxBuffer: 64 << 20 });
  return stdout.trim();
}

/** The parts of an image's config that say how a runtime starts it (Docker format). */
export interface ImageConfig {
  /** USER as written, e.g. "10001:10001". */
  readonly user: string;
  readonly env: Readonly<Record<string, string>>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly volumes: readonly string[];
  readonly exposedPorts: readonly string[];
  /** HEALTHCHECK's Test, e.g. ["CMD", "node", "/app/healthcheck.mjs"]; undefined without one. */
  readonly healthcheck?: readonly string[];
  /** What made each layer (history created_by), as anyone pulling the image can read it. */
  readonly history: readonly string[];
}

interface DockerConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  Volumes?: Record<string, unknown> | null;
  ExposedPorts?: Record<string, unknown> | null;
  Healthcheck?: { Test?: string[] } | null;
}

/** Reads an image's config with `buildah inspect`. */
export async function inspectImage(image: string): Promise<ImageConfig> {
  const inspected = JSON.parse(await buildah(["inspect", "--type", "image", image])) as {
    Docker: { config: DockerConfig };
    History?: { created_by?: string }[];
  };
  const config = inspected.Docker.config;
  const env: Record<string, string> = {};
  for (const entry of config.Env ?? []) {
    const at = entry.indexOf("=");
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return {
    user: config.User ?? "",
    env,
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    workingDir: config.WorkingDir || "/",
    labels: config.Labels ?? {},
    volumes: Object.keys(config.Volumes ?? {}),
    exposedPorts: Object.keys(config.ExposedPorts ?? {}),
    healthcheck: config.Healthcheck?.Test,
    history: (inspected.History ?? []).map((entry) => entry.created_by ?? ""),
  };
}

/** A numeric USER ("uid" or "uid:gid"); undefined for a user name, which the test refuses. */
export function numericUser(user: string): { uid: number; gid: number } | undefined {
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) return undefined;
  const uid = Number(match[1]);
  return { uid, gid: match[2] === undefined ? uid : Number(match[2]) };
}

/** An image's filesystem, mounted twice: as stored, and as a container would see it. */
export interface MountedImage {
  /** The working container's filesystem as buildah mounts it (writable by root; for inspection). */
  readonly files: string;
  /** A read-only bind of `files` with a writable host folder over DATA_DIR: where processes run. */
  readonly root: string;
  /** The host folder behind DATA_DIR, owned by the image's user. */
  readonly data: string;
  /** Unmounts everything and removes the working container and the folders; never throws. */
  remove(): Promise<string[]>;
}

/**
 * Mounts `image` for running: a working container, a read-only view of its root filesystem (as
 * `--read-only` gives a container) and an empty folder owned by `owner` over `dataDir` (the volume).
 * What was set up is undone by remove(), also when a later step here fails.
 */
export async function mountImage(
  image: string,
  owner: { uid: number; gid: number },
  dataDir: string,
): Promise<MountedImage> {
  const undo: (() => Promise<unknown>)[] = [];
  const remove = async () => {
    const problems: string[] = [];
    for (const step of undo.splice(0).reverse()) {
      await step().catch((err: unknown) => problems.push(String(err)));
    }
    return problems;
  };
  try {
    const container = await buildah(["from", "--pull=never", image]);
    undo.push(() => buildah(["rm", container]));
    const files = await buildah(["mount", container]);
    undo.push(() => buildah(["umount", container]));
    const scratch = mkdtempSync(join(tmpdir(), "teller-image-"));
    undo.push(async () => rmSync(scratch, { recursive: true, force: true }));
    const root = join(scratch, "root");
    const data = join(scratch, "data");
    mkdirSync(root);
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, owner.uid, owner.gid);
    chmodSync(data, 0o700);
    await run("mount", ["--bind", files, root]);
    undo.push(() => run("umount", [root]));
    // Private, so the volume mounted below does not propagate into the stored filesystem.
    await run("mount", ["--make-private", root]);
    await run("mount", ["-o", "remount,bind,ro", root]);
    await run("mount", ["--bind", data, join(root, dataDir)]);
    undo.push(() => run("umount", [join(root, dataDir)]));
    return { files, root, data, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** A command line that runs `args` after the image's entrypoint, chrooted into `root` as `user`. */
export function inImage(
  config: ImageConfig,
  root: string,
  command: readonly string[],
): { command: string; args: string[] } {
  return {
    command: "/usr/sbin/chroot",
    // env -C enters WORKDIR, which chroot does not; both exec, so the PID ends up as the command.
    args: [`--userspec=${config.user}`, root, "/usr/bin/env", "-C", config.workingDir, ...command],
  };
}

/** The image's environment with `overrides`, and nothing of the test runner's. */
export function imageEnv(config: ImageConfig, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...config.env, ...overrides };
}

/** Ids of one process, from /proc/PID/status. */
export interface ProcessIds {
  readonly pid: number;
  /** Real, effective, saved and filesystem uid. */
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  readonly groups: readonly number[];
}

/** The ids of one process; undefined once it is gone. */
export function processIds(pid: number): ProcessIds | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string) =>
    (new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "").split(/\s+/).filter(Boolean).map(Number);
  return { pid, uids: field("Uid"), gids: field("Gid"), groups: field("Groups") };
}

/** Every process whose root directory is `root`: all that runs from the image's filesystem. */
export function processesRootedAt(root: string): ProcessIds[] {
  const found: ProcessIds[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${name}/root`);
    } catch {
      continue;
    }
    if (link !== root) continue;
    const ids = processIds(Number(name));
    if (ids) found.push(ids);
  }
  return found;
}

/** One entry of an image's file tree. */
export interface ImageFile {
  /** The path inside the image, e.g. /app/package.json. */
  readonly path: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly kind: "file" | "dir" | "symlink" | "other";
}

/**
 * Every entry under `files` (symlinks not followed), as paths inside the image. The contents of
 * `skip` folders are left out: /proc, /sys and /dev are the runtime's, not the image's.
 */
export function listImage(files: string, skip: readonly string[] = ["/proc", "/sys", "/dev"]): ImageFile[] {
  const entries: ImageFile[] = [];
  const pending = ["/"];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    for (const name of readdirSync(join(files, path))) {
      const inner = path === "/" ? `/${name}` : `${path}/${name}`;
      const stat = lstatSync(join(files, inner));
      const kind = stat.isSymbolicLink()
        ? "symlink"
        : stat.isDirectory()
          ? "dir"
          : stat.isFile()
            ? "file"
            : "other";
      entries.push({ path: inner, uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777, kind });
      if (kind === "dir" && !skip.includes(inner)) pending.push(inner);
    }
  }
  return entries;
}

/** True when `path` is `dir` or inside it. */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** A TCP port free on 127.0.0.1 now, and `port + 1` too when `pair` (teller dev's two admin ports). */
export async function freePort(pair = false): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (
      !pair ||
      (await listenOnce(port + 1).then(
        () => true,
        () => false,
      ))
    )
      return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolvePort(bound));
    });
  });
}

/**
 * Whether `revision` is HEAD of this checkout or a commit before it: what build.sh labels the
 * image with, allowing for a commit made between the build and the test. Undefined outside git.
 */
export async function isCheckoutRevision(revision: string): Promise<boolean | undefined> {
  if (!existsSync(join(ROOT, ".git"))) return undefined;
  if (!/^[0-9a-f]{40}$/.test(revision)) return false;
  return run("git", ["merge-base", "--is-ancestor", revision, "HEAD"], { cwd: ROOT }).then(
    () => true,
    () => false,
  );
}
