/**
 * The contract every channel's test harness fulfils, so one parameterised behaviour suite
 * (test/gateways/channel-behaviour.test.ts) runs against every gateway: WhatsApp, Messenger,
 * Instagram, Telegram, Twilio (SMS) and the web chat. A harness builds requests exactly as the
 * provider would send them (signatures included) and runs a local stand-in for the provider's send
 * API that checks what the real one checks (path, auth, body shape, limits) and records replies.
 */

/** One HTTP request to the gateway, as the provider would make it. */
export interface InboundRequest {
  readonly method: "GET" | "POST";
  /** Path and query, e.g. "/webhooks/telegram" or "/webhooks/whatsapp?hub.mode=subscribe&…". */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A reply as the provider's send API received it. */
export interface ProviderReply {
  /** The recipient in the channel's own terms (phone, PSID, chat id, visitor id). */
  readonly to: string;
  readonly text: string;
  /** Quick replies / buttons as the channel carries them: the payload (id) and the label. */
  readonly choices: readonly { readonly id: string; readonly title: string }[];
}

/** What a harness needs from the running test: the gateway's public base URL (Twilio signs it). */
export interface HarnessContext {
  /** e.g. "http://127.0.0.1:0" in supertest runs; Twilio's PUBLIC_BASE_URL must match it. */
  readonly publicBaseUrl: string;
}

export interface ChannelHarness {
  /** The GATEWAYS name and the core's channel name, e.g. "telegram"; "twilio" talks CHANNEL_SMS. */
  readonly name: string;
  /** The webhook path, e.g. "/webhooks/telegram". */
  readonly path: string;
  /**
   * True when the channel's user id is the customer's phone number (WhatsApp, Twilio SMS), so a
   * registered customer is known without linking; false for Messenger, Instagram, Telegram, web.
   */
  readonly phoneIdentity: boolean;
  /**
   * True when a one-time code texted to the customer would arrive in this very conversation (SMS):
   * the dialog then refuses to send one rather than let the chat authorise itself.
   */
  readonly codesInSameChat?: boolean;
  /** Starts the fake provider API (port 0). */
  start(context: HarnessContext): Promise<void>;
  /**
   * Called once the gateway listens, for a channel whose replies the harness reads from the
   * gateway itself rather than from a provider fake (the web chat's event streams).
   */
  attach?(gatewayBaseUrl: string): Promise<void>;
  close(): Promise<void>;
  /** Environment for loadGatewayConfig that turns this channel on against the fake provider. */
  env(): Record<string, string>;
  /** A fresh user id of this channel; for phone channels pass the phone to use. */
  newUser(phone?: string): string;
  /** A signed delivery of a text message; `messageId` defaults to a fresh one. */
  text(from: string, text: string, messageId?: string): InboundRequest;
  /** A signed delivery of a quick-reply tap (its payload, and the label the user saw). */
  tap(from: string, payload: string, title: string, messageId?: string): InboundRequest;
  /** The same request with its signature (or secret token) missing. */
  unsigned(request: InboundRequest): InboundRequest;
  /** The same request with a wrong signature (or secret token). */
  forged(request: InboundRequest): InboundRequest;
  /** A correctly signed request whose payload is not one this channel sends. */
  malformed(): InboundRequest;
  /** The subscription handshake, when the channel has one: the good and a wrong-token request. */
  handshake?(): {
    readonly good: InboundRequest;
    readonly wrong: InboundRequest;
    readonly expectBody: string;
  };
  /** The replies the fake API accepted so far, in the order it accepted them. */
  readonly replies: readonly ProviderReply[];
  /** Waits until at least `count` replies were accepted (fails after a few seconds). */
  waitForReplies(count: number): Promise<ProviderReply[]>;
  /** Makes the fake API answer the next `count` sends with `status` (e.g. 500 or 429) before accepting. */
  failNext(status: number, count: number): void;
}
