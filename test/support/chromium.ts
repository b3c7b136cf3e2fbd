import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Where Debian's chromium package puts the browser; CHROMIUM_PATH names another. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** What a developer without the browser reads: one line, how to get it. */
export const CHROMIUM_HOW_TO = `No Chromium at ${CHROMIUM_PATH}: install it with 'sudo apt-get install -y chromium' (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium binary.`;

/**
 * The Chromium the browser tests drive through playwright-core (which downloads no browser of its
 * own). `make` installs it when missing; this repeats that for a bare `mocha` run: as root with
 * apt-get it installs the package, which can take a minute or two. Without it the caller's test
 * fails with CHROMIUM_HOW_TO — never skips, so a missing browser is never a green run.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() === 0 && CHROMIUM_PATH === "/usr/bin/chromium" && existsSync("/usr/bin/apt-get")) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
      execFileSync("apt-get", ["update"], { stdio: "ignore", env, timeout: 300_000 });
      execFileSync("apt-get", ["install", "-y", "chromium"], { stdio: "ignore", env, timeout: 600_000 });
    } catch {
      // Reported below as the one line that says how to install it by hand.
    }
  }
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  throw new Error(CHROMIUM_HOW_TO);
}
