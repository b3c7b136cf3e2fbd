import { otpauthUri, verifyTotp } from "../../lib/totp.js";
import { DomainError } from "./errors.js";
import type { CustomerDirectory } from "./step-up-ports.js";

/**
 * TOTP authenticators (issue 5 item 1; DESIGN.md Identity: "TOTP (RFC 6238) is a second delivery
 * method"): enrolling a customer's authenticator app, and checking its codes for step-up.
 */

/** The name authenticator apps show for the bank: the URI's label prefix and issuer parameter. */
export const TOTP_ISSUER = "Teller";

/**
 * The parameters every authenticator app supports (Google Authenticator ignores any other):
 * HMAC-SHA-1, 6 digits, 30-second steps (RFC 6238 §4 defaults; security.md OTP-2, OTP-4).
 */
export const TOTP_SETTINGS = { algorithm: "sha1", digits: 6, stepSeconds: 30 } as const;

/** A customer's enrolled authenticator, its secret already opened by the store. */
export interface TotpAuthenticator {
  /** The shared secret (20 bytes): never logged, never shown again after enrolment. */
  readonly secret: Uint8Array;
  /** The last time step accepted (RFC 6238 §4), undefined before the first use. */
  readonly lastStep?: bigint;
}

/** Where enrolled authenticators live: one per customer, the secret encrypted at rest. */
export interface TotpAuthenticators {
  /** The customer's authenticator with its secret decrypted, or undefined when none is enrolled. */
  find(customerId: string): Promise<TotpAuthenticator | undefined>;
  /**
   * Records `step` as used, atomically: true for exactly one caller, and only when `step` is
   * newer than the last accepted one, so two concurrent submissions of one code give one success.
   */
  acceptStep(customerId: string, step: bigint): Promise<boolean>;
  /**
   * Stores a new secret for the customer, replacing any earlier one (and its used steps), and
   * appends "totp.enrolled" to the audit trail in the same transaction. NOT_FOUND for an unknown
   * customer.
   */
  enroll(customerId: string, secret: Uint8Array): Promise<void>;
}

/** What checking a TOTP code found: a reused code is told apart only for the audit trail. */
export type TotpVerdict = "accepted" | "wrong" | "reused";

/**
 * Checks a customer's TOTP code at `nowMs` (server time, ASVS 5 6.5.8).
 *
 * Window, decided explicitly (security.md §6 "Tension to decide explicitly"; details in
 * lib/totp.ts): steps T−1, T and T+1 are accepted, T±2 and beyond refused. One step backwards
 * absorbs network delay and entry time (RFC 6238 §5.2), one forwards a phone clock running
 * ahead (NIST 63B §5.1.4.2 counts drift "in either direction"; security.md's test table asks for
 * "T+1 step ok, T+2 rejected"). That is longer than ASVS 5 6.5.5's 30 s, so replay is closed
 * instead by single use: a step at or before the last accepted one is "reused", and the store's
 * conditional update is the authority when two submissions race (RFC 6238 §5.2, ASVS 4 2.8.4).
 */
export async function checkTotpCode(
  authenticators: TotpAuthenticators,
  customerId: string,
  code: string,
  nowMs: number,
): Promise<TotpVerdict> {
  const authenticator = await authenticators.find(customerId);
  // Removed since the challenge started: nothing to compare with.
  if (!authenticator) return "wrong";
  const result = verifyTotp(authenticator.secret, code, nowMs, {
    ...TOTP_SETTINGS,
    window: 1,
    lastUsedStep: authenticator.lastStep,
  });
  if (!result.ok) return result.reused ? "reused" : "wrong";
  return (await authenticators.acceptStep(customerId, result.step)) ? "accepted" : "reused";
}

/** Collaborators of createTotpEnrolment. */
export interface TotpEnrolmentDeps {
  readonly authenticators: TotpAuthenticators;
  readonly customers: CustomerDirectory;
  /** A fresh 20-byte secret from the CSPRNG (lib/totp.ts newTotpSecret), injected like ids. */
  readonly newSecret: () => Uint8Array;
}

/** The enrolment use case behind CustomerService.EnrollTotp. */
export interface TotpEnrolment {
  /**
   * Gives the customer a new authenticator secret, replacing any earlier one, and answers the
   * `otpauth://` URI an app scans. The URI holds the secret: the caller shows it once and never
   * logs it (proto: "Sensitive").
   */
  enroll(customerId: string): Promise<{ readonly otpauthUri: string }>;
}

/**
 * Creates the enrolment use case. The label is the customer id, never the phone number (it is
 * shown in the app and travels in QR codes and screenshots) nor the display name.
 */
export function createTotpEnrolment(deps: TotpEnrolmentDeps): TotpEnrolment {
  return {
    enroll: async (customerId) => {
      if (!(await deps.customers(customerId))) throw new DomainError("NOT_FOUND", "No such customer.");
      const secret = deps.newSecret();
      await deps.authenticators.enroll(customerId, secret);
      const uri = otpauthUri({
        secret,
        issuer: TOTP_ISSUER,
        account: customerId,
        algorithm: TOTP_SETTINGS.algorithm,
        digits: TOTP_SETTINGS.digits,
        period: TOTP_SETTINGS.stepSeconds,
      });
      return { otpauthUri: uri };
    },
  };
}
