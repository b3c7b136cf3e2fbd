/** The inbound message a gateway hands to the core (ConversationService.HandleMessage). */
export interface CoreMessage {
  readonly channel: "whatsapp" | "sms" | "telegram" | "facebook" | "instagram" | "web";
  readonly channelUserId: string;
  readonly messageId: string;
  readonly text?: string;
  readonly actionPayload?: string;
  /** Epoch milliseconds, when the provider says the customer sent it. */
  readonly sentAt?: number;
}

/** The core's answer, as a gateway needs it. */
export interface CoreAnswer {
  readonly sessionId: string;
  readonly duplicate: boolean;
  readonly sequence: number;
  readonly replies: readonly { text: string; choices: readonly { title: string; payload: string }[] }[];
}

/**
 * CoreConversation is what a channel handler needs of the core. Implemented over grpc-js by
 * core-client.ts; rejects with CoreCallError when the core refuses or cannot be reached.
 */
export interface CoreConversation {
  handleMessage(message: CoreMessage, requestId: string): Promise<CoreAnswer>;
}

/** A failed core call: the gRPC status code and the ErrorInfo reason, if any. */
export class CoreCallError extends Error {
  readonly code: number;
  readonly reason?: string;
  readonly retryAfterMs?: number;
  constructor(code: number, message: string, reason?: string, retryAfterMs?: number) {
    super(message);
    this.name = "CoreCallError";
    this.code = code;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}
