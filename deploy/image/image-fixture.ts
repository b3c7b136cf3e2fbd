import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  IMAGE,
  type ImageConfig,
  inspectImage,
  type MountedImage,
  mountImage,
  numericUser,
  ROOT,
} from "./image-rig.js";

/**
 * What the image test files (image-contents.test.ts, image-run.test.ts) share: the image opened
 * for one file (its config, its numeric user, its filesystem mounted with a writable DATA_DIR),
 * the checkout's manifests the image is held to, and readers of what the image declares and holds.
 * Each file opens its own mount, so it runs alone and starts from an empty DATA_DIR.
 */

/** The image's one volume (DESIGN: DATA_DIR), where a container may write and nowhere else. */
export const DATA_DIR = "/data";

/** This checkout's package.json: the version the image is labelled with and the dependencies it holds. */
export const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** This checkout's package-lock.json: which installed package is dev-only, and which it does not hold. */
export const LOCK = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { dev?: boolean }>;
};

/** The built image opened for a test file; `mounted.remove()` undoes it. */
export interface OpenedImage {
  readonly config: ImageConfig;
  /** USER as numbers: whom every file and process is checked against. */
  readonly user: { uid: number; gid: number };
  readonly mounted: MountedImage;
}

/**
 * Inspects and mounts the image `make image-test` builds. Refuses unless run as root (mount and
 * chroot need it) and unless USER is numeric: a runtime cannot prove a user name is not root.
 */
export async function openImage(): Promise<OpenedImage> {
  if (process.getuid?.() !== 0) throw new Error("the image test mounts and chroots: run it as root");
  const config = await inspectImage(IMAGE);
  const user = numericUser(config.user);
  if (!user) throw new Error(`USER must be a numeric uid:gid, got "${config.user}"`);
  return { config, user, mounted: await mountImage(IMAGE, user, DATA_DIR) };
}

/** The image's HEALTHCHECK command line (exec or shell form). */
export function healthcheckCommand(config: ImageConfig): string[] {
  const [form, ...rest] = config.healthcheck ?? [];
  if (form === "CMD") return rest;
  if (form === "CMD-SHELL") return ["/bin/sh", "-c", rest.join(" ")];
  throw new Error(`the image has no HEALTHCHECK command (${form})`);
}

/** Lock-file keys (node_modules/a, node_modules/a/node_modules/@s/b) of every package under `dir`. */
export function installedPackages(files: string, dir: string, prefix = "node_modules"): string[] {
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(files, dir));
  } catch {
    return found;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const scoped = name.startsWith("@")
      ? readdirSync(join(files, dir, name)).map((n) => `${name}/${n}`)
      : [name];
    for (const pkg of scoped) {
      found.push(`${prefix}/${pkg}`);
      found.push(...installedPackages(files, `${dir}/${pkg}/node_modules`, `${prefix}/${pkg}/node_modules`));
    }
  }
  return found;
}
