import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ChallengeFailureSchema, StepUpRequiredSchema } from "../../gen/teller/v1/errors_pb.js";
import { STEP_UP_ACR, STEP_UP_MAX_TTL_SECONDS } from "../../lib/step-up-token.js";
import { DomainError, type ErrorCode } from "../domain/errors.js";

/** The domain of every ErrorInfo Teller sends (google.rpc.ErrorInfo.domain). */
export const ERROR_DOMAIN = "teller.bank";

/**
 * The one table from domain error codes to gRPC/Connect status codes (STYLE.md §6). Retryable
 * codes carry RetryInfo; every error carries ErrorInfo whose reason is the domain code.
 */
const STATUS: Record<ErrorCode, Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  SESSION_LIMIT_REACHED: Code.ResourceExhausted,
  RATE_LIMITED: Code.ResourceExhausted,
  IDEMPOTENCY_CONFLICT: Code.FailedPrecondition,
  INSUFFICIENT_FUNDS: Code.FailedPrecondition,
  CURRENCY_MISMATCH: Code.FailedPrecondition,
  CONVERSATION_BUSY: Code.Unavailable,
  // A wrong or expired step-up code. Not UNAUTHENTICATED: google/rpc/code.proto keeps that for the
  // caller's own credentials (the service token, which is valid here), and a gateway must not take
  // a customer's typo for a bad token (security.md SU-7). Not FAILED_PRECONDITION: nothing in the
  // system's state needs fixing, the customer's proof was refused. PERMISSION_DENIED (Connect 403)
  // with ErrorInfo metadata attempts_left and teller.v1.ChallengeFailure (errors.proto).
  OTP_INVALID: Code.PermissionDenied,
  // The customer's step-up is locked after repeated failures (security.md RL-3, RL-8; PSD2 RTS
  // art. 4(3)(b)): RESOURCE_EXHAUSTED (Connect 429) with RetryInfo, as every spent limit.
  OTP_LOCKED: Code.ResourceExhausted,
  // No valid step-up behind a sensitive operation: UNAUTHENTICATED (Connect 401) naming the acr
  // and max_age that would do, as RFC 9470 §3 asks (security.md SU-1, SU-2, SU-7, SU-8).
  INSUFFICIENT_USER_AUTHENTICATION: Code.Unauthenticated,
  // A valid step-up token for another operation (amount, payee, account) or already used: the
  // caller is authenticated but this proof does not permit this act (issue 5: PERMISSION_DENIED).
  STEP_UP_MISMATCH: Code.PermissionDenied,
  // A transfer limit or fraud rule refused the transfer (issue 5 item 3): the account's state, not
  // the request's form, stands in the way, as with INSUFFICIENT_FUNDS. ErrorInfo metadata `rule`.
  TRANSFER_REFUSED: Code.FailedPrecondition,
  STEP_UP_UNAVAILABLE: Code.FailedPrecondition,
  // Releasing a cancelled transfer or cancelling a posted one: the review came too late, the
  // transfer's state (not the request's form) stands in the way, as with TRANSFER_REFUSED.
  TRANSFER_NOT_HELD: Code.FailedPrecondition,
  UNAVAILABLE: Code.Unavailable,
};

/** Builds a caller-facing error with ErrorInfo (and metadata) attached. */
export function rpcError(code: Code, reason: string, message: string, metadata: Record<string, string> = {}) {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorInfoSchema, value: { reason, domain: ERROR_DOMAIN, metadata } },
  ]);
}

/**
 * Maps any thrown value to a ConnectError safe for the caller. DomainErrors keep their caller-
 * facing message; ConnectErrors built by the pipeline pass through; anything else becomes a
 * generic INTERNAL naming only the request id, and `internal` is true so the caller logs the cause.
 */
export function toRpcError(err: unknown, requestId: string): { error: ConnectError; internal: boolean } {
  if (err instanceof ConnectError) return { error: err, internal: false };
  if (err instanceof DomainError) return { error: fromDomain(err), internal: err.code === "UNAVAILABLE" };
  const message = `internal error; quote request id ${requestId} to support`;
  return { error: rpcError(Code.Internal, "INTERNAL", message, { request_id: requestId }), internal: true };
}

function fromDomain(err: DomainError): ConnectError {
  const metadata: Record<string, string> = {};
  if (err.retryAfterMs !== undefined) metadata.retry_after_ms = String(Math.ceil(err.retryAfterMs));
  if (err.attemptsLeft !== undefined) metadata.attempts_left = String(err.attemptsLeft);
  if (err.rule !== undefined) metadata.rule = err.rule;
  if (err.code === "INSUFFICIENT_USER_AUTHENTICATION") {
    metadata.acr_values = STEP_UP_ACR;
    metadata.max_age = String(STEP_UP_MAX_TTL_SECONDS);
  }
  const error = rpcError(STATUS[err.code], err.code, err.message, metadata);
  if (err.attemptsLeft !== undefined) {
    error.details.push({ desc: ChallengeFailureSchema, value: { attemptsLeft: err.attemptsLeft } });
  }
  if (err.code === "INSUFFICIENT_USER_AUTHENTICATION") {
    const required = { acrValues: [STEP_UP_ACR], maxAgeSeconds: STEP_UP_MAX_TTL_SECONDS };
    error.details.push({ desc: StepUpRequiredSchema, value: required });
  }
  if (err.retryAfterMs !== undefined) {
    error.details.push({
      desc: RetryInfoSchema,
      value: { retryDelay: durationFromMs(Math.ceil(err.retryAfterMs)) },
    });
  }
  if (err.field !== undefined) {
    const violation = { field: err.field, description: err.message };
    error.details.push({ desc: BadRequestSchema, value: { fieldViolations: [violation] } });
  }
  return error;
}
