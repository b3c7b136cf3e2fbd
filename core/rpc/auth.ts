import { Code } from "@connectrpc/connect";
import type { ServiceIdentity, ServiceTokenVerifier } from "../../lib/service-token.js";
import { rpcError } from "./error-table.js";
import type { Scope } from "./route.js";

/** jose error codes that mean "this token is not acceptable" (security.md J-8); anything else is a fault. */
const TOKEN_REJECTIONS = new Set([
  "ERR_JWT_EXPIRED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JWT_INVALID",
  "ERR_JWS_INVALID",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWK_INVALID",
]);

/** Why a token was refused, for the server log only: callers get one generic message. */
export interface AuthFailure {
  readonly joseCode?: string;
  readonly claim?: string;
}

/**
 * Authenticates the bearer service token of a call. Every refusal gives the caller the same
 * UNAUTHENTICATED message (no oracle for forgers); the jose code goes to the log. Classified by
 * `err.code`, never by message text (STYLE.md §6).
 */
export async function authenticate(
  authorization: string | undefined,
  verify: ServiceTokenVerifier,
  onFailure: (failure: AuthFailure) => void,
): Promise<ServiceIdentity> {
  const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(authorization ?? "");
  if (!match) {
    onFailure({ joseCode: authorization ? "MALFORMED_HEADER" : "MISSING" });
    throw unauthenticated();
  }
  try {
    return await verify(match[1] as string);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === undefined || !TOKEN_REJECTIONS.has(code)) throw err;
    onFailure({ joseCode: code, claim: (err as { claim?: string }).claim });
    throw unauthenticated();
  }
}

/** PERMISSION_DENIED unless the token carries the route's scope. */
export function authorize(caller: ServiceIdentity, scope: Scope): void {
  if (!caller.scopes.has(scope)) {
    throw rpcError(
      Code.PermissionDenied,
      "PERMISSION_DENIED",
      `this call needs a token with scope "${scope}"`,
      {
        required_scope: scope,
      },
    );
  }
}

function unauthenticated() {
  return rpcError(
    Code.Unauthenticated,
    "UNAUTHENTICATED",
    "a valid service token is required: send 'authorization: Bearer <token>'",
  );
}
