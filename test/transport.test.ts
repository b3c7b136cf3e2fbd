import { execFile } from "node:child_process";
import type { Server } from "node:http";
import { promisify } from "node:util";
import type { Message } from "@bufbuild/protobuf";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import type { CallMeta } from "../core/rpc/invoker.js";
import { createConnectHandler, listenConnect } from "../core/transport/connect-server.js";
import { createGrpcServer, listenGrpc } from "../core/transport/grpc-server.js";
import { createHealthService } from "../core/transport/health.js";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import {
  GetSessionRequestSchema,
  GetSessionResponseSchema,
  GetSessionStatsRequestSchema,
  GetSessionStatsResponseSchema,
  SessionService,
} from "../gen/teller/v1/session_service_pb.js";
import {
  type Caller,
  connectCaller,
  createSessionInvoker,
  FIXED_STATS,
  grpcCaller,
} from "./support/transport-fixture.js";

const MAX_MESSAGE_BYTES = 4096;
const SERVERS = {
  grpc: "grpc-js server, gRPC client",
  connect: "connect-node server, Connect client",
  grpcweb: "connect-node server, gRPC-Web client",
} as const;
const { getSession, getSessionStats } = SessionService.method;

function getSessionRequest(sessionId: string): Message {
  return create(GetSessionRequestSchema, { sessionId });
}

describe("transport", () => {
  const received: CallMeta[] = [];
  let healthy = true;
  let grpcServer: grpc.Server;
  let grpcClient: grpc.Client;
  let connectServer: Server;
  let grpcPort: number;
  const callers = {} as Record<"grpc" | "connect" | "grpcweb", Caller>;

  before(async () => {
    const invoker = createSessionInvoker(received);
    const health = createHealthService({
      services: [SessionService.typeName],
      check: async () => healthy,
      watchIntervalMs: 10,
    });
    grpcServer = createGrpcServer({ invoker, health, maxMessageBytes: MAX_MESSAGE_BYTES });
    grpcPort = await listenGrpc(grpcServer, "127.0.0.1", 0);
    const connect = await listenConnect(
      createConnectHandler({ invoker, maxMessageBytes: MAX_MESSAGE_BYTES }),
      "127.0.0.1",
      0,
    );
    connectServer = connect.server;
    const grpcSide = grpcCaller(grpcPort);
    grpcClient = grpcSide.client;
    callers.grpc = grpcSide.call;
    callers.connect = connectCaller(connect.port);
    callers.grpcweb = connectCaller(connect.port, "grpcweb");
  });

  after(async () => {
    grpcClient.close();
    grpcServer.forceShutdown();
    connectServer.closeAllConnections();
    await new Promise((resolve) => connectServer.close(resolve));
  });

  beforeEach(() => {
    healthy = true;
    received.length = 0;
  });

  it("should give the same answers through the gRPC and the Connect server", async () => {
    for (const [method, request, schema] of [
      [getSessionStats, create(GetSessionStatsRequestSchema), GetSessionStatsResponseSchema],
      [getSession, getSessionRequest("s-42"), GetSessionResponseSchema],
    ] as const) {
      const viaGrpc = await callers.grpc(method, request);
      for (const other of [callers.connect, callers.grpcweb]) {
        const answer = await other(method, request);
        expect(viaGrpc.response && answer.response).to.not.equal(undefined);
        expect(equals(schema, viaGrpc.response as never, answer.response as never)).to.equal(true);
      }
    }
  });

  for (const protocol of ["grpc", "connect", "grpcweb"] as const) {
    describe(SERVERS[protocol], () => {
      it("should answer GetSessionStats with the invoker's numbers", async () => {
        const answer = await callers[protocol](getSessionStats, create(GetSessionStatsRequestSchema));
        expect(answer.response).to.include(FIXED_STATS);
      });

      it("should echo the session id of GetSession", async () => {
        const answer = await callers[protocol](getSession, getSessionRequest("s-1"));
        expect(answer.response).to.have.nested.property("session.sessionId", "s-1");
      });

      it("should send NOT_FOUND with a decodable ErrorInfo reason", async () => {
        const answer = await callers[protocol](getSession, getSessionRequest("missing"));
        expect(answer).to.include({ code: 5, message: "session not found", reason: "NOT_FOUND" });
      });

      it("should turn an unmapped failure into INTERNAL without its text", async () => {
        const answer = await callers[protocol](getSession, getSessionRequest("crash"));
        expect(answer).to.include({ code: 13, message: "internal error" });
      });

      it("should pass request headers, the protocol and the deadline to CallMeta", async () => {
        const headers = { "x-request-id": "req-7", authorization: "Bearer t0k" };
        await callers[protocol](getSessionStats, create(GetSessionStatsRequestSchema), headers);
        const [meta] = received;
        expect(meta?.protocol).to.equal(protocol === "grpc" ? "grpc" : "connect");
        expect(meta?.header("x-request-id")).to.equal("req-7");
        expect(meta?.header("authorization")).to.equal("Bearer t0k");
        expect(meta?.header("x-absent")).to.equal(undefined);
        expect(meta?.timeoutMs).to.be.a("number");
        expect(meta?.signal).to.be.instanceOf(AbortSignal);
      });

      it("should send response headers set through CallMeta", async () => {
        const answer = await callers[protocol](getSession, getSessionRequest("s-2"), {
          "x-request-id": "req-8",
        });
        expect(answer.header("x-request-id")).to.equal("req-8");
      });

      it("should send response headers with an error too", async () => {
        const answer = await callers[protocol](getSession, getSessionRequest("missing"), {
          "x-request-id": "r9",
        });
        expect(answer.header("x-request-id")).to.equal("r9");
      });

      it("should refuse a message larger than maxMessageBytes with RESOURCE_EXHAUSTED", async () => {
        const answer = await callers[protocol](
          getSession,
          getSessionRequest("x".repeat(MAX_MESSAGE_BYTES + 1)),
        );
        expect(answer.code).to.equal(8);
        expect(received).to.have.length(0);
      });
    });
  }

  describe("grpc-js server", () => {
    it("should refuse bytes that do not decode and keep serving", async () => {
      const code = await new Promise<number>((resolve) => {
        grpcClient.makeUnaryRequest(
          `/${SessionService.typeName}/GetSession`,
          () => Buffer.from([0x0a, 0x05, 0x61]),
          (bytes: Buffer) => bytes,
          {},
          new grpc.Metadata(),
          (err) => resolve(err?.code ?? 0),
        );
      });
      expect(code).to.be.oneOf([grpc.status.INVALID_ARGUMENT, grpc.status.INTERNAL]);
      const answer = await callers.grpc(getSession, getSessionRequest("s-3"));
      expect(answer.code).to.equal(undefined);
    });
  });

  describe("grpc.health.v1.Health", () => {
    const check = (service: string) =>
      new Promise<{ code?: number; status?: ServingStatus }>((resolve) => {
        grpcClient.makeUnaryRequest(
          `/${Health.typeName}/Check`,
          (message: Message) => Buffer.from(toBinary(HealthCheckRequestSchema, message as never)),
          (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
          create(HealthCheckRequestSchema, { service }),
          new grpc.Metadata(),
          (err, response) => resolve(err ? { code: err.code } : { status: response?.status }),
        );
      });

    it("should answer SERVING for the server and for a served service", async () => {
      expect(await check("")).to.deep.equal({ status: ServingStatus.SERVING });
      expect(await check(SessionService.typeName)).to.deep.equal({ status: ServingStatus.SERVING });
    });

    it("should answer NOT_SERVING when the check fails", async () => {
      healthy = false;
      expect(await check("")).to.deep.equal({ status: ServingStatus.NOT_SERVING });
    });

    it("should answer NOT_FOUND for an unknown service", async () => {
      expect(await check("teller.v1.NoSuchService")).to.deep.equal({ code: grpc.status.NOT_FOUND });
    });

    it("should stream the status and then its change to a watcher", async () => {
      const stream = grpcClient.makeServerStreamRequest(
        `/${Health.typeName}/Watch`,
        (message: Message) => Buffer.from(toBinary(HealthCheckRequestSchema, message as never)),
        (bytes: Buffer) => fromBinary(HealthCheckResponseSchema, bytes),
        create(HealthCheckRequestSchema),
      );
      stream.on("error", () => undefined); // The CANCELLED that cancel() below causes.
      const seen: ServingStatus[] = [];
      await new Promise<void>((resolve) => {
        stream.on("data", ({ status }: { status: ServingStatus }) => {
          seen.push(status);
          healthy = false;
          if (seen.length === 2) {
            resolve();
          }
        });
      });
      stream.cancel();
      expect(seen).to.deep.equal([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    });
  });

  describe("reflection", () => {
    const buf = (...args: string[]) =>
      promisify(execFile)("node_modules/.bin/buf", [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        ...args,
      ]);

    it("should list the served, health and reflection services to buf curl", async () => {
      const { stdout } = await buf("--list-services", `http://127.0.0.1:${grpcPort}`);
      expect(stdout.split("\n")).to.include.members([
        "teller.v1.SessionService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
    });

    it("should answer buf curl over reflection v1alpha too", async () => {
      const url = `http://127.0.0.1:${grpcPort}`;
      const { stdout } = await buf("--reflect-protocol", "grpc-v1alpha", "--list-services", url);
      expect(stdout.split("\n")).to.include("teller.v1.SessionService");
    });

    it("should let buf curl call a teller method with no proto files", async () => {
      const url = `http://127.0.0.1:${grpcPort}/teller.v1.SessionService/GetSession`;
      const { stdout } = await buf("--data", '{"sessionId":"s-curl"}', url);
      expect(JSON.parse(stdout)).to.deep.equal({ session: { sessionId: "s-curl" } });
    });

    it("should let buf curl call health Check", async () => {
      const { stdout } = await buf(
        "--data",
        "{}",
        `http://127.0.0.1:${grpcPort}/grpc.health.v1.Health/Check`,
      );
      expect(JSON.parse(stdout)).to.deep.equal({ status: "SERVING" });
    });
  });
});
