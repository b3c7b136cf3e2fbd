import {
  create,
  type DescMethodUnary,
  type DescService,
  fromBinary,
  type JsonValue,
  type Message,
  type MessageInitShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { type Any, anyUnpack } from "@bufbuild/protobuf/wkt";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  BadRequestSchema,
  type ErrorInfo,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

/** The protocols a wire test speaks: grpc-js on CORE_PORT, Connect and gRPC-Web on CONNECT_PORT. */
export type Protocol = "grpc" | "connect" | "grpcweb";

/** One call's outcome, the same shape whichever client made it. */
export type WireAnswer =
  | { readonly ok: true; readonly json: JsonValue; readonly response: Message }
  | {
      readonly ok: false;
      /** The numeric status code (gRPC and Connect share the numbers). */
      readonly code: number;
      readonly message: string;
      /** google.rpc.ErrorInfo, when the error carried one. */
      readonly reason?: string;
      readonly domain?: string;
      readonly metadata: Record<string, string>;
      /** The field paths of google.rpc.BadRequest, in order. */
      readonly fields: string[];
      /** google.rpc.RetryInfo's delay in milliseconds, when present. */
      readonly retryDelayMs?: number;
    };

/** A caller and what to close when done. */
export interface WireClient {
  readonly protocol: Protocol;
  call(method: DescMethodUnary, request: object, headers?: Record<string, string>): Promise<WireAnswer>;
  close(): void;
}

const DEADLINE_MS = 15_000;

/**
 * A grpc-js client for every service on one port: a generic client whose serializers are
 * toBinary/fromBinary of the method's own descriptors, so no code is shared with the server.
 * Error details are read from the `grpc-status-details-bin` trailer (google.rpc.Status).
 */
export function grpcWireClient(port: number): WireClient {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    protocol: "grpc",
    close: () => client.close(),
    call: (method, request, headers = {}) => {
      const metadata = new grpc.Metadata();
      for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
      const message = create(method.input, request as MessageInitShape<typeof method.input>);
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          `/${method.parent.typeName}/${method.name}`,
          (m: Message) => Buffer.from(toBinary(method.input, m)),
          (bytes: Buffer) => fromBinary(method.output, bytes),
          message,
          metadata,
          { deadline: Date.now() + DEADLINE_MS },
          (err, response) => {
            if (err) resolve(grpcFailure(err));
            else
              resolve({
                ok: true,
                response: response as Message,
                json: toJson(method.output, response as Message),
              });
          },
        );
      });
    },
  };
}

function grpcFailure(err: grpc.ServiceError): WireAnswer {
  const [raw] = err.metadata.get("grpc-status-details-bin");
  const status = raw instanceof Buffer ? fromBinary(StatusSchema, raw) : undefined;
  if (status && status.code !== err.code) {
    throw new Error(`grpc-status-details-bin says code ${status.code}, grpc-status says ${err.code}`);
  }
  return failure(err.code, err.details, status?.details ?? []);
}

function failure(code: number, message: string, details: readonly Any[]): WireAnswer {
  let info: ErrorInfo | undefined;
  const fields: string[] = [];
  let retryDelayMs: number | undefined;
  for (const any of details) {
    info ??= anyUnpack(any, ErrorInfoSchema);
    const bad = anyUnpack(any, BadRequestSchema);
    if (bad) fields.push(...bad.fieldViolations.map((v) => v.field));
    const retry = anyUnpack(any, RetryInfoSchema);
    if (retry?.retryDelay) {
      retryDelayMs = Number(retry.retryDelay.seconds) * 1000 + retry.retryDelay.nanos / 1e6;
    }
  }
  return {
    ok: false,
    code,
    message,
    reason: info?.reason,
    domain: info?.domain,
    metadata: { ...(info?.metadata ?? {}) },
    fields,
    retryDelayMs,
  };
}

/**
 * A connect-node client over HTTP/1.1 for every service on one port, speaking the Connect
 * protocol (JSON, the default of createConnectTransport) or gRPC-Web (binary).
 */
export function connectWireClient(port: number, protocol: "connect" | "grpcweb" = "connect"): WireClient {
  const options = { baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" } as const;
  const transport =
    protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
  const clients = new Map<DescService, Client<DescService>>();
  const clientOf = (service: DescService) => {
    let found = clients.get(service);
    if (!found) {
      found = createClient(service, transport);
      clients.set(service, found);
    }
    return found;
  };
  return {
    protocol,
    close: () => undefined,
    call: async (method, request, headers = {}) => {
      const rpc = clientOf(method.parent)[method.localName] as unknown as (
        r: object,
        o: object,
      ) => Promise<Message>;
      try {
        const response = await rpc(request, { headers, timeoutMs: DEADLINE_MS });
        return { ok: true, response, json: toJson(method.output, response) };
      } catch (err) {
        const error = ConnectError.from(err);
        const answer = failure(error.code, error.rawMessage, []);
        if (answer.ok) return answer;
        const [info] = error.findDetails(ErrorInfoSchema);
        const fields = error
          .findDetails(BadRequestSchema)
          .flatMap((b) => b.fieldViolations.map((v) => v.field));
        const [retry] = error.findDetails(RetryInfoSchema);
        const retryDelayMs = retry?.retryDelay
          ? Number(retry.retryDelay.seconds) * 1000 + retry.retryDelay.nanos / 1e6
          : undefined;
        return {
          ...answer,
          reason: info?.reason,
          domain: info?.domain,
          metadata: { ...(info?.metadata ?? {}) },
          fields,
          retryDelayMs,
        };
      }
    },
  };
}
