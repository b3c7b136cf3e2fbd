/**
 * The stable error codes of the domain. Each is also the `reason` a caller receives in
 * google.rpc.ErrorInfo (STYLE.md §6), so renaming one is a breaking change.
 */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "SESSION_LIMIT_REACHED"
  | "RATE_LIMITED"
  | "IDEMPOTENCY_CONFLICT"
  | "INSUFFICIENT_FUNDS"
  | "CURRENCY_MISMATCH"
  | "CONVERSATION_BUSY"
  | "OTP_INVALID"
  | "OTP_LOCKED"
  | "INSUFFICIENT_USER_AUTHENTICATION"
  | "STEP_UP_MISMATCH"
  | "TRANSFER_REFUSED"
  | "STEP_UP_UNAVAILABLE"
  | "TRANSFER_NOT_HELD"
  | "UNAVAILABLE";

/** Optional facts a caller needs to act on an error. */
export interface DomainErrorFields {
  /** The request field at fault, for INVALID_ARGUMENT (a proto field path such as "amount.currency"). */
  field?: string;
  /** How long to wait before retrying, for RATE_LIMITED, SESSION_LIMIT_REACHED, CONVERSATION_BUSY and OTP_LOCKED. */
  retryAfterMs?: number;
  /** Tries left on a step-up challenge before it is dead, for OTP_INVALID (0..5). */
  attemptsLeft?: number;
  /** The transfer rule that refused, for TRANSFER_REFUSED ("daily_limit", "velocity", …). */
  rule?: string;
  /** The underlying error, kept for the server log; never sent to callers. */
  cause?: unknown;
}

/**
 * DomainError is the one error type the domain throws. Its message is written for the caller;
 * the rpc error table maps `code` to a status and typed details.
 */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly retryAfterMs?: number;
  readonly attemptsLeft?: number;
  readonly rule?: string;

  constructor(code: ErrorCode, message: string, fields: DomainErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = "DomainError";
    this.code = code;
    this.field = fields.field;
    this.retryAfterMs = fields.retryAfterMs;
    this.attemptsLeft = fields.attemptsLeft;
    this.rule = fields.rule;
  }
}

/** Shorthand for an INVALID_ARGUMENT naming the field at fault. */
export function invalidArgument(field: string, message: string): DomainError {
  return new DomainError("INVALID_ARGUMENT", `${field}: ${message}`, { field });
}
