import { expect } from "chai";
import { DomainError } from "../../core/domain/errors.js";
import { createTwilioSender, TwilioSendError } from "../../core/stores/otp/twilio-sender.js";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio.js";

const SID = `AC${"a1".repeat(16)}`;
const TOKEN = "twilio-test-token";

describe("Twilio OTP sender", () => {
  let twilio: FakeTwilio;
  beforeEach(async () => {
    twilio = await startFakeTwilio(SID, TOKEN);
  });
  afterEach(() => twilio.close());

  const sender = (authToken = TOKEN) =>
    createTwilioSender({ apiBaseUrl: twilio.baseUrl, accountSid: SID, authToken, from: "+15005550006" });
  const error = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (err: unknown) => err,
    );

  it("should post To, From and Body with basic auth and report SMS delivery", async () => {
    const method = await sender().send("+447700900123", "Teller code 123456 to link a chat. Never share it.");
    expect(method).to.equal("sms");
    expect(twilio.messages).to.deep.equal([
      {
        to: "+447700900123",
        from: "+15005550006",
        body: "Teller code 123456 to link a chat. Never share it.",
      },
    ]);
  });

  it("should refuse on bad credentials with the status and Twilio code only", async () => {
    const err = await error(sender("wrong").send("+447700900123", "Teller code 654321"));
    expect(err).to.be.instanceOf(TwilioSendError);
    expect(err).to.include({ status: 401, twilioCode: 20003 });
    expect(String((err as Error).message)).to.not.include("654321");
  });

  it("should call a 5xx UNAVAILABLE, to be tried again later", async () => {
    twilio.failWith(500);
    const err = await error(sender().send("+447700900123", "Teller code 654321"));
    expect(err).to.be.instanceOf(DomainError);
    expect(err).to.include({ code: "UNAVAILABLE" });
    expect((err as DomainError).cause).to.be.instanceOf(TwilioSendError);
  });

  it("should refuse settings that cannot work at startup", () => {
    expect(() =>
      createTwilioSender({ apiBaseUrl: "ftp://x", accountSid: "x", authToken: "", from: "" }),
    ).to.throw(/apiBaseUrl.*accountSid.*authToken.*from/);
  });
});
