import type { DescMethod, Message } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import type { CallMeta, RpcInvoker } from "../../core/rpc/invoker.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import {
  type GetSessionRequest,
  GetSessionResponseSchema,
  GetSessionStatsResponseSchema,
  SessionService,
} from "../../gen/teller/v1/session_service_pb.js";

/** The fixed numbers GetSessionStats answers with. */
export const FIXED_STATS = { activeSessions: 3, createdLastHour: 2, createdLastDay: 7, maxSessions: 1000 };

/**
 * A test RpcInvoker over the real SessionService descriptors: GetSessionStats answers fixed
 * numbers, GetSession echoes the id ("missing" → NOT_FOUND with ErrorInfo, "crash" → a plain
 * Error carrying a secret), and every CallMeta received is pushed onto `received`.
 */
export function createSessionInvoker(received: CallMeta[]): RpcInvoker {
  return {
    services: [SessionService],
    async invoke(method: DescMethod, request: Message, meta: CallMeta): Promise<Message> {
      received.push(meta);
      meta.setResponseHeader("x-request-id", meta.header("x-request-id") ?? "generated");
      if (method.name === "GetSessionStats") {
        return create(GetSessionStatsResponseSchema, FIXED_STATS);
      }
      if (method.name === "GetSession") {
        return getSession(request as GetSessionRequest);
      }
      throw new ConnectError("not implemented", Code.Unimplemented);
    },
  };
}

function getSession({ sessionId }: GetSessionRequest): Message {
  if (sessionId === "missing") {
    throw new ConnectError("session not found", Code.NotFound, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "NOT_FOUND", domain: "teller.bank" } },
    ]);
  }
  if (sessionId === "crash") {
    throw new Error("password=hunter2 leaked from a driver");
  }
  return create(GetSessionResponseSchema, { session: { sessionId } });
}

/** One answer, whichever server and client produced it. */
export interface Answer {
  readonly response?: Message;
  readonly code?: number;
  readonly message?: string;
  readonly reason?: string;
  readonly header: (name: string) => string | undefined;
}

/** A call through one client: the method, a request and request headers. */
export type Caller = (
  method: DescMethod,
  request: Message,
  headers?: Record<string, string>,
) => Promise<Answer>;

/** A grpc-js client caller with independent serializers, and the client to close. */
export function grpcCaller(port: number): { call: Caller; client: grpc.Client } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call: Caller = (method, request, headers = {}) => {
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(headers)) {
      metadata.set(name, value);
    }
    return new Promise((resolve) => {
      let responseHeaders = new grpc.Metadata();
      const header = (name: string) => responseHeaders.get(name)[0]?.toString();
      const unary = client.makeUnaryRequest(
        `/${method.parent.typeName}/${method.name}`,
        (message: Message) => Buffer.from(toBinary(method.input, message)),
        (bytes: Buffer) => fromBinary(method.output, bytes),
        request,
        metadata,
        { deadline: Date.now() + 10_000 },
        (err, response) => resolve(err ? { ...grpcFailure(err), header } : { response, header }),
      );
      unary.on("metadata", (received: grpc.Metadata) => {
        responseHeaders = received;
      });
    });
  };
  return { call, client };
}

function grpcFailure(err: grpc.ServiceError): Omit<Answer, "header"> {
  const [details] = err.metadata.get("grpc-status-details-bin");
  const status = details instanceof Buffer ? fromBinary(StatusSchema, details) : undefined;
  const [first] = status?.details ?? [];
  const info = first && anyUnpack(first, ErrorInfoSchema);
  return { code: err.code, message: err.details, reason: info?.reason };
}

/** A connect-node client caller over HTTP/1.1, speaking the Connect protocol or gRPC-Web. */
export function connectCaller(port: number, protocol: "connect" | "grpcweb" = "connect"): Caller {
  const options = { baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" } as const;
  const transport =
    protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
  const client = createClient(SessionService, transport);
  return async (method, request, headers = {}) => {
    let responseHeaders = new Headers();
    const header = (name: string) => responseHeaders.get(name) ?? undefined;
    const options = { headers, timeoutMs: 10_000, onHeader: (h: Headers) => (responseHeaders = h) };
    try {
      const rpc = client[method.localName as keyof typeof client] as (
        r: Message,
        o: object,
      ) => Promise<Message>;
      return { response: await rpc(request, options), header };
    } catch (err) {
      const error = ConnectError.from(err);
      const [info] = error.findDetails(ErrorInfoSchema);
      // A Connect error carries the response headers on the error, not through onHeader.
      const fromError = (name: string) => error.metadata.get(name) ?? undefined;
      return { code: error.code, message: error.rawMessage, reason: info?.reason, header: fromError };
    }
  };
}
