import type { ChannelHarness } from "./harness.js";
import { createInstagramHarness } from "./instagram.js";
import { createMessengerHarness } from "./messenger.js";
import { createTelegramHarness } from "./telegram.js";
import { createTwilioHarness } from "./twilio.js";
import { createWebHarness } from "./web.js";
import { whatsAppHarness } from "./whatsapp.js";

/** Every channel's harness, for the shared behaviour suite. */
export const CHANNEL_HARNESSES: readonly (() => ChannelHarness)[] = [
  whatsAppHarness,
  createMessengerHarness,
  createInstagramHarness,
  createTelegramHarness,
  createTwilioHarness,
  createWebHarness,
];
