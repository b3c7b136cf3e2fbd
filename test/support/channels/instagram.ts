import { INSTAGRAM } from "../../../gateways/messenger/meta-channel.js";
import type { ChannelHarness } from "./harness.js";
import { createMetaHarness } from "./messenger.js";

/**
 * The Instagram harness: the Messenger harness on Instagram's webhook (`object: "instagram"`), with
 * its own app secret, verify token and Page token, and a Send API fake checking 1000-byte texts.
 */
export function createInstagramHarness(): ChannelHarness {
  return createMetaHarness(INSTAGRAM, {
    appSecret: "instagram-app-secret-0123456789",
    verifyToken: "instagram-verify-token-0123456789",
    pageAccessToken: "instagram-page-token-0123456789",
  });
}
