import tls from "node:tls";
import type * as grpc from "@grpc/grpc-js";
import { ConversationService } from "../gen/teller/v1/conversation_service_pb.js";
import { grpcChannelCredentials } from "../lib/tls-grpc.js";
import type { TestCerts } from "../test/support/certs.js";
import type { ChildServer } from "./child-server.js";
import { checkBalanceReply, expectBalance, handleMessageRequests } from "./core-calls.js";
import { callUnary, createBenchClient, unaryBenchCall } from "./grpc-caller.js";
import type { BenchCall } from "./load.js";

/**
 * The three ways the TLS benchmark reaches one core child (bench/core-server.ts with BENCH_TLS_*):
 * h2c on its `port`, TLS on its `tlsPort` and mutual TLS on its `mutualTlsPort`, each with the
 * channel credentials a gateway builds from CORE_CA_FILE and CORE_CLIENT_CERT_FILE /
 * CORE_CLIENT_KEY_FILE (lib/tls-grpc.ts), trusting only the run's test CA. Also the calls of the
 * connection-storm rows: one HandleMessage per fresh connection.
 */

/** One transport to the core: its name in the tables, the port, and the gateway's credentials for it. */
export interface CoreTransport {
  readonly name: "h2c" | "TLS" | "mutual TLS";
  readonly port: number;
  /** Built once, as a gateway builds them once per process. */
  readonly credentials: grpc.ChannelCredentials;
}

/** The core child's three transports; throws when it did not announce its TLS ports. */
export function coreTransports(core: ChildServer, certs: TestCerts): CoreTransport[] {
  const { tlsPort, mutualTlsPort } = core.announced;
  if (typeof tlsPort !== "number" || typeof mutualTlsPort !== "number")
    throw new Error("core child announced no tlsPort and mutualTlsPort: BENCH_TLS_* did not reach it");
  const ca = certs.ca.cert;
  return [
    { name: "h2c", port: core.port, credentials: grpcChannelCredentials() },
    { name: "TLS", port: tlsPort, credentials: grpcChannelCredentials({ ca }) },
    {
      name: "mutual TLS",
      port: mutualTlsPort,
      credentials: grpcChannelCredentials({ ca, cert: certs.client.cert, key: certs.client.key }),
    },
  ];
}

/**
 * Before loading: every transport answers a balance, and the mutual TLS port refuses a client
 * that trusts the CA but presents no certificate, so its rows really measure mutual TLS.
 */
export async function checkTransports(
  transports: readonly CoreTransport[],
  certs: TestCerts,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  for (const transport of transports) {
    const client = createBenchClient(transport.port, transport.credentials);
    try {
      await expectBalance(client, headers);
    } finally {
      client.close();
    }
  }
  const mutual = transports.find((t) => t.name === "mutual TLS") as CoreTransport;
  const anonymous = createBenchClient(mutual.port, grpcChannelCredentials({ ca: certs.ca.cert }));
  const request = handleMessageRequests()(0);
  const answer = await callUnary(anonymous, ConversationService.method.handleMessage, request, headers);
  anonymous.close();
  if (!("error" in answer)) throw new Error("the mutual TLS port answered a client without a certificate");
}

/**
 * A BenchCall that opens a new connection for every call: a client of its own with a local
 * subchannel pool (grpc-js otherwise shares one connection between clients of the same target),
 * one HandleMessage, then closes it. Latency includes TCP connect, the TLS handshake if any, and
 * the HTTP/2 preface.
 */
export function freshConnectionCall(
  transport: CoreTransport,
  headers: Readonly<Record<string, string>>,
): BenchCall {
  const requests = handleMessageRequests();
  const method = ConversationService.method.handleMessage;
  return async (seq) => {
    const client = createBenchClient(transport.port, transport.credentials, {
      "grpc.use_local_subchannel_pool": 1,
    });
    try {
      return await unaryBenchCall(client, method, () => requests(seq), headers, checkBalanceReply)(seq);
    } finally {
      client.close();
    }
  };
}

/** What a TLS handshake with the core negotiated, e.g. "TLSv1.3, TLS_AES_256_GCM_SHA384, X25519". */
export function negotiated(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, ALPNProtocols: ["h2"] });
    socket.once("secureConnect", () => {
      const key = socket.getEphemeralKeyInfo();
      const group = key && "name" in key ? key.name : "unknown group";
      resolve(`${socket.getProtocol()}, ${socket.getCipher().standardName}, ${group}`);
      socket.end();
    });
    socket.once("error", reject);
  });
}
