import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import Mocha from "mocha";

/**
 * Runs every test tier and ends with the one line `N passed, N failed` (STYLE.md §8). Files are
 * found under test/ by their `.test.ts` suffix; a `grep` argument narrows the run.
 *
 * The files are split over TEST_JOBS processes (default 2) that run side by side: most of a test's
 * time is spent waiting on PostgreSQL, Redis and child processes, and every test already isolates
 * itself (its own schema, key prefix, ports and data directory), so shards never meet. Each shard's
 * report is printed whole when it ends, so the output reads as one run per shard.
 */
const SHARD_FLAG = "--shard";

if (process.argv[2] === SHARD_FLAG) {
  const [grep, ...files] = process.argv.slice(3);
  await runFiles(files, grep === "" ? undefined : grep);
} else {
  await runShards(process.argv[2]);
}

async function runFiles(files: string[], grep: string | undefined): Promise<void> {
  const mocha = new Mocha({ timeout: 30_000, reporter: "spec", grep });
  for (const file of files) mocha.addFile(file);
  await mocha.loadFilesAsync();
  const runner = mocha.run();
  runner.on("end", () => {
    const { passes = 0, failures = 0 } = runner.stats ?? {};
    console.log(`\n${passes} passed, ${failures} failed`);
    // Like mocha's --exit: a test that leaks a handle must not hang CI; the count is already out.
    process.exit(failures > 0 ? 1 : 0);
  });
}

async function runShards(grep: string | undefined): Promise<void> {
  const jobs = Math.max(1, Number(process.env.TEST_JOBS ?? 2) || 1);
  const shards = partition(testFiles("test").sort(), jobs);
  const results = await Promise.all(shards.map((files) => runShard(files, grep)));
  let passed = 0;
  let failed = 0;
  for (const [i, result] of results.entries()) {
    console.log(`\n==== shard ${i + 1} of ${shards.length} (exit ${result.code}) ====`);
    process.stdout.write(result.output);
    const counts = /(\d+) passed, (\d+) failed\s*$/.exec(result.output);
    passed += Number(counts?.[1] ?? 0);
    // A shard that died without its count line counts as one failure, never as a pass.
    failed += counts ? Number(counts[2]) : 1;
    if (result.code !== 0 && counts && Number(counts[2]) === 0) failed += 1;
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

function runShard(files: string[], grep: string | undefined): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/run.ts", SHARD_FLAG, grep ?? "", ...files],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("close", (code) => resolve({ code: code ?? 1, output: Buffer.concat(chunks).toString("utf8") }));
  });
}

/**
 * Deals the files out biggest first, each to the shard with the fewest bytes so far: a test file's
 * size is a fair guess at its run time, and the slow end-to-end files land on different shards.
 */
function partition(files: string[], jobs: number): string[][] {
  const shards = Array.from({ length: Math.min(jobs, files.length) }, () => ({
    bytes: 0,
    files: [] as string[],
  }));
  const sized = files.map((file) => ({
    file,
    bytes: statSync(file).size * (file.includes("/e2e/") ? 3 : 1),
  }));
  for (const { file, bytes } of sized.sort((a, b) => b.bytes - a.bytes)) {
    const lightest = shards.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    lightest.files.push(file);
    lightest.bytes += bytes;
  }
  return shards.map((shard) => shard.files.sort());
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}
