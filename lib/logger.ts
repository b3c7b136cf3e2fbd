import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Options of createLogger. */
export interface LoggerOptions {
  /** pino level name; default "info". */
  readonly level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read what was logged. */
  readonly destination?: DestinationStream;
  /** The process name put on every line ("core", "gateways"). */
  readonly name?: string;
}

/**
 * Paths pino removes from every line: credentials, tokens, codes and message text must never be
 * logged (security.md LOG-1; STYLE.md §7). Call sites log ids and masked values, never payloads;
 * this list is the net under that rule.
 */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers",
  "*.headers",
  "cookie",
  "*.cookie",
  "token",
  "*.token",
  "stepUpToken",
  "*.stepUpToken",
  "code",
  "*.otp",
  "text",
  "*.text",
  "phoneNumber",
  "*.phoneNumber",
  "channelUserId",
  "*.channelUserId",
  "signature",
  "*.signature",
];

/** Creates the one JSON logger of a process. bigint values are written as strings. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      name: options.name,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {},
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
