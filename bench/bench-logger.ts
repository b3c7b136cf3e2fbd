import { pino } from "pino";
import { createLogger, type Logger } from "../lib/logger.js";

/** Lines at warn or above, forwarded to stderr at most this many times so a failing run stays readable. */
const MAX_FORWARDED_LINES = 20;

/**
 * A bench server's logger as in production (pino at `level`, asynchronous writes), so the
 * per-request log lines cost what they cost; the lines go to /dev/null because stdout carries the
 * child protocol (bench/child-server.ts), and warnings and errors are also copied to stderr.
 */
export function createBenchLogger(name: string, level: string): Logger {
  const sink = pino.destination({ dest: "/dev/null", sync: false });
  let forwarded = 0;
  const destination = {
    write(line: string) {
      sink.write(line);
      if (forwarded < MAX_FORWARDED_LINES && /"level":"(warn|error|fatal)"/.test(line)) {
        forwarded += 1;
        process.stderr.write(`${name}-server: ${line}`);
      }
    },
  };
  return createLogger({ level, name, destination });
}
