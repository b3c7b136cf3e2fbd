import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { Purpose, StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { base32Decode, totp } from "../../lib/totp.js";
import type { TestCore } from "./core.js";
import { call, ok } from "./invoke.js";

/** One RFC 6238 time step, in ms. */
export const STEP_MS = 30_000;

/**
 * A manual clock 10 s into a 30-second step near now, so "now" and "now ± n steps" name whole
 * steps without straddling a boundary.
 */
export function createStepClock(): ManualClock {
  return createManualClock(Math.floor(Date.now() / STEP_MS) * STEP_MS + 10_000);
}

/** What EnrollTotp answered: the URI, and the secret decoded from it. */
export interface Enrolment {
  readonly uri: string;
  readonly base32: string;
  readonly secret: Buffer;
}

/** Enrols the customer's authenticator through CustomerService, as the bank's systems would. */
export async function enrolTotp(t: TestCore, customerId: string): Promise<Enrolment> {
  const authorization = `Bearer ${await t.token(["banking:admin"])}`;
  const { otpauthUri } = await ok(
    t.core.invoker,
    CustomerService.method.enrollTotp,
    { customerId },
    { authorization },
  );
  const base32 = new URL(otpauthUri).searchParams.get("secret") ?? "";
  return { uri: otpauthUri, base32, secret: base32Decode(base32) };
}

/** The app's code `steps` time steps away from the clock's now (negative: in the past). */
export function appCode(secret: Uint8Array, clock: ManualClock, steps = 0): string {
  return totp(secret, clock.now() + steps * STEP_MS);
}

/** A 6-digit code that is none of the app's codes from `steps` −3 to +3: certainly wrong. */
export function wrongCode(secret: Uint8Array, clock: ManualClock): string {
  const near = new Set([-3, -2, -1, 0, 1, 2, 3].map((steps) => appCode(secret, clock, steps)));
  const candidates = ["000000", "111111", "222222", "333333", "444444", "555555", "666666", "777777"];
  return candidates.find((code) => !near.has(code)) as string;
}

/** StartChallenge for `purpose` (no binding) with scope banking:write. */
export async function startChallenge(t: TestCore, customerId: string, purpose = Purpose.VIEW_HISTORY) {
  const authorization = `Bearer ${await t.token(["banking:write"])}`;
  return ok(t.core.invoker, StepUpService.method.startChallenge, { customerId, purpose }, { authorization });
}

/** VerifyChallenge, returning the outcome (success or error) rather than throwing. */
export async function verifyChallenge(t: TestCore, challengeId: string, code: string) {
  const authorization = `Bearer ${await t.token(["banking:write"])}`;
  return call(t.core.invoker, StepUpService.method.verifyChallenge, { challengeId, code }, { authorization });
}
