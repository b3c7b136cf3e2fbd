import type { ChannelHarness } from "./harness.js";
import { whatsAppHarness } from "./whatsapp.js";

/** Every provider webhook's harness, for the shared behaviour suite (the web chat has its own). */
export const CHANNEL_HARNESSES: readonly (() => ChannelHarness)[] = [whatsAppHarness];
