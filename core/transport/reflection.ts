import type { DescFile, DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ReflectionService } from "@grpc/reflection";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** What @grpc/reflection accepts: a proto-loader package definition. */
type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/**
 * Creates server reflection v1 and v1alpha (`addToServer` registers both) for the given services,
 * health and reflection itself, so `buf curl` and grpcurl work with no .proto files at hand
 * (DESIGN.md, The contract). The descriptors are the protobuf-es ones, not proto-loader's.
 */
export function createReflectionService(services: readonly DescService[]): ReflectionService {
  const roots = [
    ...services.map((service) => service.file),
    file_grpc_health_v1_health,
    file_grpc_reflection_v1_reflection,
    file_grpc_reflection_v1alpha_reflection,
  ];
  return new ReflectionService(reflectionPackage(roots));
}

/**
 * Builds the package definition @grpc/reflection reads: it only looks at `fileDescriptorProtos`
 * of each value (reflection-v1.js), so one entry holds every file, dependencies included.
 */
export function reflectionPackage(roots: readonly DescFile[]): PackageDefinition {
  const fileDescriptorProtos = withDependencies(roots).map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)),
  );
  const entry = { format: "Protocol Buffer 3 FileDescriptorProto", type: {}, fileDescriptorProtos };
  // The cast names the one field that is read; the other proto-loader fields are never used.
  return { "teller.files": entry } as unknown as PackageDefinition;
}

/** The files and all their transitive imports (google/protobuf WKTs too), each once. */
export function withDependencies(roots: readonly DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (seen.has(file.proto.name)) {
      return;
    }
    seen.set(file.proto.name, file);
    file.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return [...seen.values()];
}
