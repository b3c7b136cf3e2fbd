import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyUnpack, timestampFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import type { JWK } from "jose";
import { ErrorInfoSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { Channel } from "../gen/teller/v1/common_pb.js";
import {
  ConversationService,
  type HandleMessageRequest,
  type HandleMessageResponse,
} from "../gen/teller/v1/conversation_service_pb.js";
import type { Clock } from "../lib/clock.js";
import { mintServiceToken } from "../lib/service-token.js";
import type { CoreClientTls } from "../lib/tls-config.js";
import { grpcChannelCredentials } from "../lib/tls-grpc.js";
import {
  type CoreAnswer,
  CoreCallError,
  type CoreConversation,
  type CoreMessage,
} from "./core-client-port.js";

/** Settings and collaborators of createCoreClient. */
export interface CoreClientOptions {
  /** host:port of the core's gRPC port (CORE_URL). */
  readonly coreUrl: string;
  /** The gateway's signing key for service tokens. */
  readonly privateJwk: JWK;
  readonly clock: Clock;
  /** Deadline of one call, retries included (HTTP_TIMEOUT). */
  readonly timeoutMs: number;
  /** Largest message sent or received. */
  readonly maxMessageBytes: number;
  /** TLS to the core (CORE_CA_FILE, optional client certificate); unset: plain HTTP/2 (h2c). */
  readonly tls?: CoreClientTls;
}

const CHANNELS: Record<CoreMessage["channel"], Channel> = {
  whatsapp: Channel.WHATSAPP,
  sms: Channel.SMS,
  telegram: Channel.TELEGRAM,
  facebook: Channel.FACEBOOK,
  instagram: Channel.INSTAGRAM,
  web: Channel.WEB,
};
const TOKEN_TTL_SECONDS = 600;
/** Codes worth another try of an idempotent call: the core was not reached or did not finish. */
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
const ATTEMPTS = 3;

/** The core client of a gateway: CoreConversation plus a health probe and close(). */
export interface CoreClient extends CoreConversation {
  /** True when the core's channel connects within `timeoutMs`. */
  ready(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

/**
 * Creates the gateway's client of the core: grpc-js over ONE long-lived HTTP/2 channel (DESIGN.md,
 * Transport), a service token minted from the gateway's key and renewed before it expires, a
 * deadline per call, and retries only of HandleMessage, which the core makes idempotent by
 * message_id, and only on UNAVAILABLE or DEADLINE_EXCEEDED.
 */
export function createCoreClient(options: CoreClientOptions): CoreClient {
  const client = new grpc.Client(options.coreUrl, grpcChannelCredentials(options.tls), {
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    "grpc.keepalive_time_ms": 60_000,
  });
  const token = createTokenSource(options);
  const method = ConversationService.method.handleMessage;
  const path = `/${ConversationService.typeName}/${method.name}`;
  const serialize = (m: HandleMessageRequest) => Buffer.from(toBinary(method.input, m));
  const deserialize = (b: Buffer) => fromBinary(method.output, b);

  const once = async (request: HandleMessageRequest, requestId: string, deadline: number) => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${await token()}`);
    metadata.set("x-request-id", requestId);
    return new Promise<HandleMessageResponse>((resolve, reject) => {
      client.makeUnaryRequest(path, serialize, deserialize, request, metadata, { deadline }, (err, res) =>
        err || !res ? reject(toCoreError(err)) : resolve(res),
      );
    });
  };

  return {
    async handleMessage(message, requestId) {
      const request = toRequest(message);
      const deadline = Date.now() + options.timeoutMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return toAnswer(await once(request, requestId, deadline));
        } catch (err) {
          const retry = err instanceof CoreCallError && RETRYABLE.has(err.code) && attempt < ATTEMPTS;
          if (!retry || Date.now() + 50 * attempt >= deadline) throw err;
          await new Promise((r) => setTimeout(r, 50 * attempt));
        }
      }
    },
    ready: (timeoutMs = 2000) =>
      new Promise((resolve) => client.waitForReady(Date.now() + timeoutMs, (err) => resolve(!err))),
    close: () => client.close(),
  };
}

function createTokenSource(options: CoreClientOptions): () => Promise<string> {
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (current && options.clock.now() < current.renewAt) return current.token;
    pending ??= mintServiceToken({
      privateJwk: options.privateJwk,
      subject: "gateway",
      scopes: ["conversation"],
      ttlSeconds: TOKEN_TTL_SECONDS,
      clock: options.clock,
    }).then((token) => {
      // Renew at two thirds of the lifetime so a call never leaves with a token about to expire.
      current = { token, renewAt: options.clock.now() + (TOKEN_TTL_SECONDS * 1000 * 2) / 3 };
      pending = undefined;
      return token;
    });
    return pending;
  };
}

function toRequest(m: CoreMessage): HandleMessageRequest {
  return create(ConversationService.method.handleMessage.input, {
    channel: CHANNELS[m.channel],
    channelUserId: m.channelUserId,
    messageId: m.messageId,
    content:
      m.actionPayload !== undefined
        ? { case: "actionPayload", value: m.actionPayload }
        : { case: "text", value: m.text ?? "" },
    sentAt: m.sentAt === undefined ? undefined : timestampFromMs(m.sentAt),
  });
}

function toAnswer(res: HandleMessageResponse): CoreAnswer {
  return {
    sessionId: res.sessionId,
    duplicate: res.duplicate,
    sequence: res.sequence,
    replies: res.replies.map((r) => ({ text: r.text, choices: r.quickReplies.map((q) => ({ ...q })) })),
  };
}

function toCoreError(err: grpc.ServiceError | null): CoreCallError {
  if (!err) return new CoreCallError(grpc.status.INTERNAL, "empty response");
  const [bin] = err.metadata?.get("grpc-status-details-bin") ?? [];
  let reason: string | undefined;
  let retryAfterMs: number | undefined;
  if (bin instanceof Buffer) {
    for (const detail of fromBinary(StatusSchema, bin).details) {
      reason ??= anyUnpack(detail, ErrorInfoSchema)?.reason;
      const delay = anyUnpack(detail, RetryInfoSchema)?.retryDelay;
      if (delay) retryAfterMs = Number(delay.seconds) * 1000 + Math.ceil(delay.nanos / 1e6);
    }
  }
  return new CoreCallError(err.code, err.details, reason, retryAfterMs);
}
