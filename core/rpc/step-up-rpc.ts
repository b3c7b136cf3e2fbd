import {
  type BeneficiaryBinding as BeneficiaryBindingPb,
  DeliveryMethod as DeliveryMethodPb,
  Purpose as PurposePb,
  type StartChallengeRequest,
  StepUpService,
  type TransferBinding as TransferBindingPb,
} from "../../gen/teller/v1/step_up_service_pb.js";
import { invalidArgument } from "../domain/errors.js";
import type { StepUp } from "../domain/step-up.js";
import { BINDING_OF, type Binding, type DeliveryMethod, type Purpose } from "../domain/step-up-ports.js";
import { ts } from "./convert.js";
import { requireId, requirePositiveMoney, requireText } from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";

/** Collaborators of the StepUpService adapter. */
export interface StepUpRpcDeps {
  readonly stepUp: StepUp;
}

const PURPOSES: Readonly<Partial<Record<PurposePb, Purpose>>> = {
  [PurposePb.TRANSFER]: "transfer",
  [PurposePb.ADD_BENEFICIARY]: "add_beneficiary",
  [PurposePb.LINK_CHANNEL]: "link_channel",
  [PurposePb.VIEW_HISTORY]: "view_history",
};

const DELIVERY: Readonly<Record<DeliveryMethod, DeliveryMethodPb>> = {
  sms: DeliveryMethodPb.SMS,
  totp: DeliveryMethodPb.TOTP,
};

/**
 * The StepUpService routes; scope `banking:write`. Each validates its request as the proto
 * comments state, calls the step-up use case and maps the answer; the code and the token are never
 * annotated onto the log line (proto: "Sensitive: never logged"). An SMS code and an authenticator
 * (TOTP) code are both 6 digits, so VerifyChallenge reads them alike.
 */
export function createStepUpRoutes(deps: StepUpRpcDeps): ServiceRoutes {
  const m = StepUpService.method;
  return {
    service: StepUpService,
    routes: {
      startChallenge: route(m.startChallenge, "banking:write", async (req, ctx) => {
        const customerId = requireId("customer_id", req.customerId);
        const purpose = PURPOSES[req.purpose];
        if (!purpose) throw invalidArgument("purpose", "must be set to a known purpose");
        const binding = readBinding(purpose, req.binding);
        const started = await deps.stepUp.startChallenge(customerId, purpose, binding);
        ctx.annotate({
          customerId,
          purpose,
          challengeId: started.challengeId,
          method: started.deliveryMethod,
        });
        return {
          challengeId: started.challengeId,
          deliveryMethod: DELIVERY[started.deliveryMethod],
          expiresAt: ts(started.expiresAtMs),
        };
      }),
      verifyChallenge: route(m.verifyChallenge, "banking:write", async (req, ctx) => {
        const challengeId = requireId("challenge_id", req.challengeId);
        // Exactly 6 ASCII digits; the value is never echoed back.
        if (!/^[0-9]{6}$/.test(req.code)) throw invalidArgument("code", "must be exactly 6 digits");
        ctx.annotate({ challengeId });
        const granted = await deps.stepUp.verifyChallenge(challengeId, req.code);
        return { stepUpToken: granted.token, expiresAt: ts(granted.expiresAtMs) };
      }),
    },
  };
}

/** The binding: required for transfer and add-beneficiary (and of the matching kind), absent otherwise. */
function readBinding(purpose: Purpose, binding: StartChallengeRequest["binding"]): Binding | undefined {
  const wanted = BINDING_OF[purpose];
  if (wanted === undefined) {
    if (binding.case !== undefined)
      throw invalidArgument(binding.case, `must be absent for purpose ${purpose}`);
    return undefined;
  }
  if (binding.case !== wanted) throw invalidArgument(wanted, `is required for purpose ${purpose}`);
  return binding.case === "transfer"
    ? readTransfer(binding.value)
    : readBeneficiary(binding.value as BeneficiaryBindingPb);
}

function readTransfer(value: TransferBindingPb): Binding {
  const fromAccountId = requireId("transfer.from_account_id", value.fromAccountId);
  const amount = requirePositiveMoney("transfer.amount", value.amount);
  switch (value.payee.case) {
    case "beneficiaryId":
      return {
        kind: "transfer",
        fromAccountId,
        amount,
        payee: { beneficiaryId: requireId("transfer.beneficiary_id", value.payee.value) },
      };
    case "toAccountId":
      return {
        kind: "transfer",
        fromAccountId,
        amount,
        payee: { toAccountId: requireId("transfer.to_account_id", value.payee.value) },
      };
    default:
      throw invalidArgument("transfer.payee", "needs beneficiary_id or to_account_id");
  }
}

function readBeneficiary(value: BeneficiaryBindingPb): Binding {
  return {
    kind: "beneficiary",
    name: requireText("beneficiary.name", value.name.trim(), 70),
    accountId: requireId("beneficiary.account_id", value.accountId),
  };
}
