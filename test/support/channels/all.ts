import type { ChannelHarness } from "./harness.js";
import { createInstagramHarness } from "./instagram.js";
import { createMessengerHarness } from "./messenger.js";
import { createTelegramHarness } from "./telegram.js";
import { createTwilioHarness } from "./twilio.js";
import { whatsAppHarness } from "./whatsapp.js";

/** Every provider webhook's harness, for the shared behaviour suite (the web chat has its own). */
export const CHANNEL_HARNESSES: readonly (() => ChannelHarness)[] = [
  whatsAppHarness,
  createMessengerHarness,
  createInstagramHarness,
  createTelegramHarness,
  createTwilioHarness,
];
