import type { Message } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { grpcServiceDefinition } from "./grpc-definition.js";

/** Options of createHealthService. */
export interface HealthServiceOptions {
  /** Fully qualified names a client may ask about; "" (the whole server) is always known. */
  readonly services: readonly string[];
  /** Resolves true while the server can serve (its stores answer); a rejection counts as false. */
  readonly check: () => Promise<boolean>;
  /** How often an open Watch re-runs `check`, in milliseconds; default 1000. */
  readonly watchIntervalMs?: number;
}

/** grpc.health.v1.Health, ready to be added to a grpc-js server. */
export interface HealthService {
  /** Registers Check and Watch on the server. */
  addToServer(server: Pick<grpc.Server, "addService">): void;
}

/**
 * Creates grpc.health.v1.Health from our own generated descriptor (DESIGN.md: the descriptor that
 * grpc-health-check builds breaks `buf curl`). Check answers SERVING or NOT_SERVING from `check()`
 * and NOT_FOUND for an unknown name; Watch sends the status, then each change, until cancelled.
 */
export function createHealthService(options: HealthServiceOptions): HealthService {
  const statusOf = (service: string) => servingStatus(options, service);
  const handlers: grpc.UntypedServiceImplementation = {
    Check: checkHandler(statusOf),
    Watch: watchHandler(statusOf, options.watchIntervalMs ?? 1000),
  };
  return {
    addToServer: (server) => server.addService(grpcServiceDefinition(Health), handlers),
  };
}

type StatusOf = (service: string) => Promise<ServingStatus>;

/** The status of one name: SERVICE_UNKNOWN when not served, else SERVING / NOT_SERVING. */
async function servingStatus(options: HealthServiceOptions, service: string): Promise<ServingStatus> {
  if (service !== "" && !options.services.includes(service)) {
    return ServingStatus.SERVICE_UNKNOWN;
  }
  // A failing check is the answer itself: the server cannot serve.
  const ok = await options.check().catch(() => false);
  return ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
}

function response(status: ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}

function checkHandler(statusOf: StatusOf): grpc.handleUnaryCall<Message, Message> {
  return (call, callback) => {
    const { service } = call.request as HealthCheckRequest;
    void statusOf(service).then((status) => {
      if (status === ServingStatus.SERVICE_UNKNOWN) {
        callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      } else {
        callback(null, response(status));
      }
    });
  };
}

/** Polls while the watcher is open and writes only changes; stops on cancel (including shutdown). */
function watchHandler(
  statusOf: StatusOf,
  intervalMs: number,
): grpc.handleServerStreamingCall<Message, Message> {
  return (call) => {
    const { service } = call.request as HealthCheckRequest;
    let last: ServingStatus | undefined;
    let timer: NodeJS.Timeout | undefined;
    let open = true;
    const poll = async () => {
      const status = await statusOf(service);
      if (!open) {
        return;
      }
      if (status !== last) {
        last = status;
        call.write(response(status));
      }
      timer = setTimeout(poll, intervalMs);
    };
    call.once("cancelled", () => {
      open = false;
      clearTimeout(timer);
    });
    void poll();
  };
}
