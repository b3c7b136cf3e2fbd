/**
 * The channels Teller serves. The seeds of the product whitelisted exactly these (DESIGN.md,
 * Channel enum); the rpc adapter maps the proto enum onto this union.
 */
export type Channel = "web" | "whatsapp" | "telegram" | "instagram" | "facebook" | "sms";

/** Channels whose user id is the customer's E.164 phone number. */
export function isPhoneChannel(channel: Channel): boolean {
  return channel === "whatsapp" || channel === "sms";
}
