import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * `make bench`: runs every benchmark one after another, each in its own process so that none
 * shares a CPU with another's load, and exits non-zero when any of them failed. Each writes its
 * own section of bench/RESULTS.md.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHMARKS = ["handle-message.bench.ts", "webhook.bench.ts", "transfers.ts", "tls.bench.ts"];

function run(script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(HERE, script)], { stdio: "inherit" });
    child.once("error", (err) => {
      console.error(`${script}: could not start:`, err);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const failed: string[] = [];
  for (const script of BENCHMARKS) {
    console.log(`\n== ${script}\n`);
    if ((await run(script)) !== 0) failed.push(script);
  }
  if (failed.length > 0) console.error(`\nbenchmarks failed: ${failed.join(", ")}`);
  return failed.length > 0 ? 1 : 0;
}

main().then((code) => process.exit(code));
