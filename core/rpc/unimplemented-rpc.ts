import { StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { route, type ServiceRoutes } from "./route.js";

/**
 * StepUpService as declared but not yet built: each RPC has its scope, so an authorised caller
 * gets UNIMPLEMENTED and everyone else the usual auth errors (issue 3).
 */
export function createPendingRoutes(): ServiceRoutes[] {
  return [
    {
      service: StepUpService,
      routes: {
        startChallenge: route(StepUpService.method.startChallenge, "banking:write"),
        verifyChallenge: route(StepUpService.method.verifyChallenge, "banking:write"),
      },
    },
  ];
}
