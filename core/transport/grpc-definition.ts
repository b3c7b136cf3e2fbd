import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/**
 * Builds the grpc-js definition of one method from its protobuf-es descriptor: the path is
 * `/<typeName>/<Method>` and the serializers are the generated schemas' `toBinary` / `fromBinary`,
 * so there is no proto-loader and no second code generator (DESIGN.md, Transport and speed).
 */
export function grpcMethodDefinition(method: DescMethod): MethodDefinition<Message, Message> {
  const { input, output } = method;
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    originalName: method.localName,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (message) => Buffer.from(toBinary(input, message)),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (message) => Buffer.from(toBinary(output, message)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
  };
}

/**
 * Builds the grpc-js service definition of a protobuf-es service, keyed by the proto method name
 * (`GetSession`), which is the key handlers are registered under with `server.addService`.
 */
export function grpcServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    definition[method.name] = grpcMethodDefinition(method);
  }
  return definition;
}
