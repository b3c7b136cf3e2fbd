import { create, toBinary } from "@bufbuild/protobuf";
import { type Any, AnySchema, anyPack } from "@bufbuild/protobuf/wkt";
import type { ConnectError } from "@connectrpc/connect";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

/** The trailer that carries the rich status of a failed gRPC call (google.rpc.Status, binary). */
export const GRPC_STATUS_DETAILS_KEY = "grpc-status-details-bin";

/**
 * Encodes a ConnectError as a binary google.rpc.Status { code, message, details: Any[] }, the
 * value of `grpc-status-details-bin`. connect-node writes this trailer itself; grpc-js does not,
 * so the gRPC server uses this to send the same typed details (DESIGN.md, The contract: errors).
 */
export function encodeGrpcStatusDetails(err: ConnectError): Uint8Array {
  const status = create(StatusSchema, {
    code: err.code,
    message: err.rawMessage,
    details: err.details.map(packDetail),
  });
  return toBinary(StatusSchema, status);
}

/** Packs one detail: outgoing ones are `{ desc, value }`, incoming (relayed) ones are already bytes. */
function packDetail(detail: ConnectError["details"][number]): Any {
  if ("desc" in detail) {
    return anyPack(detail.desc, create(detail.desc, detail.value));
  }
  return create(AnySchema, { typeUrl: `type.googleapis.com/${detail.type}`, value: detail.value });
}
