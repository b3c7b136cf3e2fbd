import { readdirSync } from "node:fs";
import { join } from "node:path";
import Mocha from "mocha";

/**
 * Runs every test tier and ends with the one line `N passed, N failed` (STYLE.md §8). Files are
 * found under test/ by their `.test.ts` suffix; a `grep` argument narrows the run.
 */
const mocha = new Mocha({ timeout: 30_000, reporter: "spec", grep: process.argv[2] });
for (const file of testFiles("test").sort()) mocha.addFile(file);
await mocha.loadFilesAsync();
const runner = mocha.run();
runner.on("end", () => {
  const { passes = 0, failures = 0 } = runner.stats ?? {};
  console.log(`\n${passes} passed, ${failures} failed`);
  // Like mocha's --exit: a test that leaks a handle must not hang CI; the count is already out.
  process.exit(failures > 0 ? 1 : 0);
});

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}
