import { createHash, randomBytes } from "node:crypto";
import { expect } from "chai";
// The official SDK, as an independent oracle: tests only (package.json devDependencies).
import {
  getExpectedTwilioSignature,
  validateRequest,
  validateRequestWithBody,
} from "twilio/lib/webhooks/webhooks.js";
import { simulateTwilioMessage, simulateTwilioTap } from "../../gateways/twilio/simulate.js";
import {
  formParams,
  twilioSignature,
  verifyTwilioBody,
  verifyTwilioRequest,
  verifyTwilioSignature,
} from "../../gateways/twilio/verify.js";

// channels.md §4.4: twilio-node spec/validation.spec.js, copied verbatim.
const TOKEN = "12345";
const URL_ = "https://mycompany.com/myapp.php?foo=1&bar=2";
const PARAMS = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+14158675309",
  Digits: "1234",
  From: "+14158675309",
  To: "+18005551212",
};
const BODY = '{"property": "value", "boolean": true}';
const BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
const EMPTY_HASH = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

describe("Twilio signature (published vectors)", () => {
  it("should compute the default signature over the URL and the sorted parameters", () => {
    expect(twilioSignature(TOKEN, URL_, PARAMS)).to.equal("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    expect(verifyTwilioSignature(TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, PARAMS)).to.equal(true);
  });

  it("should match security.md WH-1 and the derived WhatsApp-shaped vector", () => {
    const wh1 = { ...PARAMS, Caller: "+12349013030", From: "+12349013030" };
    expect(twilioSignature(TOKEN, URL_, wh1)).to.equal("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    const whatsapp = {
      AccountSid: "AC00000000000000000000000000000000",
      Body: "Hello",
      From: "whatsapp:+15551234567",
      MessageSid: "SM00000000000000000000000000000000",
      NumMedia: "0",
      To: "whatsapp:+14155238886",
    };
    expect(twilioSignature(TOKEN, "https://example.com/webhooks/twilio", whatsapp)).to.equal(
      "3u4YbwfnmaIcCXX+JKjDe6NBabo=",
    );
  });

  it("should accept the port quirks: a non-standard port, and signatures over :443 and :80", () => {
    const cases: [string, string][] = [
      ["https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="],
      ["http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="],
      [URL_, "kvajT1Ptam85bY51eRf/AJRuM3w="],
      ["http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="],
      // Twilio's published vectors: "user:pass" is a placeholder, not a credential.
      // secretlint-disable-next-line @secretlint/secretlint-rule-basicauth
      ["https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", "CukzLTc1tT5dXEDIHm/tKBanW10="],
      ["https://user@mycompany.com/myapp.php?foo=1&bar=2", "2YRLlVAflCqxaNicjMpJcSTgzSs="],
      // secretlint-disable-next-line @secretlint/secretlint-rule-basicauth
      ["https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="],
      ["https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing", "TfZzewPq8wqrGlMfyAud8+/IvJ0="],
    ];
    for (const [url, signature] of cases) {
      expect(verifyTwilioSignature(TOKEN, signature, url, PARAMS), url).to.equal(true);
    }
  });

  it("should sign repeated parameters once per distinct value, sorted", () => {
    const a = { "MessagingBinding.Address": ["+1325xxxxxxx", "+1415xxxxxxx"] };
    const b = { "MessagingBinding.Address": ["+1415xxxxxxx", "+1325xxxxxxx"] };
    for (const params of [a, b]) {
      expect(verifyTwilioSignature(TOKEN, "83O6e2vORAoJHUNzJjDWN1jz+BA=", URL_, params)).to.equal(true);
    }
    const multi = { Sid: "CA123", SidAccount: "AC123", Digits: ["5678", "1234", "1234"] };
    expect(verifyTwilioSignature(TOKEN, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", URL_, multi)).to.equal(true);
    // The same, as it arrives on the wire: a form body with the name repeated.
    const wire = formParams(Buffer.from("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"));
    expect(verifyTwilioSignature(TOKEN, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", URL_, wire)).to.equal(true);
  });

  it("should check the JSON variant: the URL with bodySHA256 signed, and the body's hash", () => {
    const withHash = `${URL_}&bodySHA256=${BODY_HASH}`;
    expect(createHash("sha256").update(BODY).digest("hex")).to.equal(BODY_HASH);
    expect(verifyTwilioBody(TOKEN, "a9nBmqA0ju/hNViExpshrM61xv4=", withHash, Buffer.from(BODY))).to.equal(
      true,
    );
    const only = `https://mycompany.com/myapp.php?bodySHA256=${BODY_HASH}`;
    expect(verifyTwilioBody(TOKEN, "y77kIzt2vzLz71DgmJGsen2scGs=", only, Buffer.from(BODY))).to.equal(true);
    // "{}" is accepted only through the add-port fallback (channels.md §4.4 notes).
    const empty = `${URL_}&bodySHA256=${EMPTY_HASH}`;
    expect(verifyTwilioBody(TOKEN, "Ldidvp12m26NI7eqEvxnEpkd9Hc=", empty, Buffer.from("{}"))).to.equal(true);
    expect(verifyTwilioBody(TOKEN, "uzN7O1319XdYoYMfTT2eUM1PJT0=", withHash, Buffer.from(BODY))).to.equal(
      true,
    );
  });

  it("should refuse wrong, missing and malformed signatures, a changed body and a missing hash", () => {
    const withHash = `${URL_}&bodySHA256=${BODY_HASH}`;
    for (const header of [
      undefined,
      "",
      "WRONG_SIGNATURE",
      "RSOYDt4T1cUTdK1PDd93/VVr8B8",
      "rsoydt4t1cutdk1pdd93/vvr8b8=",
    ]) {
      expect(verifyTwilioSignature(TOKEN, header, URL_, PARAMS), String(header)).to.equal(false);
    }
    expect(
      verifyTwilioSignature(TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, { ...PARAMS, Digits: "1235" }),
    ).to.equal(false);
    expect(verifyTwilioSignature("", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, PARAMS)).to.equal(false);
    expect(
      verifyTwilioBody(TOKEN, "a9nBmqA0ju/hNViExpshrM61xv4=", withHash, Buffer.from(`${BODY} `)),
    ).to.equal(false);
    // A body given, but the URL carries no bodySHA256: the JSON check cannot pass.
    expect(verifyTwilioBody(TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, Buffer.from(BODY))).to.equal(false);
  });

  it("should pick the JSON variant by bodySHA256 in the query, and the form variant otherwise", () => {
    const withHash = `${URL_}&bodySHA256=${BODY_HASH}`;
    expect(
      verifyTwilioRequest(TOKEN, "a9nBmqA0ju/hNViExpshrM61xv4=", withHash, Buffer.from(BODY)),
    ).to.deep.equal({
      kind: "json",
    });
    const form = Buffer.from(new URLSearchParams(PARAMS).toString());
    expect(verifyTwilioRequest(TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, form)).to.deep.equal({
      kind: "form",
      params: { ...PARAMS },
    });
    // A form signature cannot be replayed with bodySHA256 appended to the URL.
    expect(verifyTwilioRequest(TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", withHash, form)).to.equal(undefined);
  });
});

describe("Twilio signature (the official twilio package as oracle)", () => {
  const received = [
    "https://bank.example/webhooks/twilio",
    "https://bank.example:443/webhooks/twilio?x=1",
    "https://bank.example:8443/webhooks/twilio?a=b&c=d",
    "http://127.0.0.1:3000/webhooks/twilio",
    "http://127.0.0.1:0/webhooks/twilio",
    "https://bank.example/webhooks/twilio?Body=It's+amazing&q=%27",
    "https://bank.example/t/webhooks/twilio?name=Jos%C3%A9&sp=a%20b&plus=a+b",
    "https://user:pw@bank.example/webhooks/twilio?x=%7E~",
    "https://[::1]:8443/webhooks/twilio?x=1",
    "https://bank.example/webhooks/twilio?",
  ];
  const paramSets: Record<string, string | string[]>[] = [
    {},
    { Body: "Hello", From: "+15551234567", MessageSid: `SM${"a".repeat(32)}` },
    { Body: 'Café ☕ 𝄞 — "quoted" & <tags>', a: "1", B: "2", _: "3" },
    { Digits: ["9", "1", "9"], Sid: "X" },
  ];

  it("should agree with validateRequest on every URL form Twilio might have signed", () => {
    const outcomes = new Set<boolean>();
    for (const url of received) {
      for (const params of paramSets) {
        for (const signedUrl of signedForms(url)) {
          const signature = getExpectedTwilioSignature("s3cr3t", signedUrl, params);
          const oracle = validateRequest("s3cr3t", signature, url, params);
          outcomes.add(oracle);
          expect(verifyTwilioSignature("s3cr3t", signature, url, params), `${signedUrl} → ${url}`).to.equal(
            oracle,
          );
        }
      }
    }
    expect([...outcomes].sort(), "some forms accepted and some refused").to.deep.equal([false, true]);
  });

  it("should compute the same signature as getExpectedTwilioSignature for random parameters", () => {
    for (let i = 0; i < 200; i++) {
      const params: Record<string, string> = {};
      for (let n = 0; n < 1 + (i % 7); n++) params[randomText(8)] = randomText(40);
      const url = `https://bank.example/webhooks/twilio?r=${encodeURIComponent(randomText(6))}`;
      expect(twilioSignature("tok", url, params)).to.equal(getExpectedTwilioSignature("tok", url, params));
    }
  });

  it("should agree with validateRequestWithBody on JSON bodies", () => {
    const body = '{"a":"é","n":1}';
    const hash = createHash("sha256").update(body).digest("hex");
    for (const url of [
      `https://bank.example/webhooks/twilio?bodySHA256=${hash}`,
      `https://bank.example:8443/w?x=1&bodySHA256=${hash}`,
    ]) {
      for (const signedUrl of signedForms(url)) {
        const signature = getExpectedTwilioSignature("s3cr3t", signedUrl, {});
        for (const sent of [body, `${body} `]) {
          const oracle = validateRequestWithBody("s3cr3t", signature, url, sent);
          expect(
            verifyTwilioBody("s3cr3t", signature, url, Buffer.from(sent)),
            `${signedUrl} ${sent}`,
          ).to.equal(oracle);
        }
      }
    }
  });

  it("should build simulated webhooks that the official helper accepts", () => {
    const options = {
      accountSid: `AC${"1".repeat(32)}`,
      authToken: "simulated-token",
      publicBaseUrl: "https://bank.example",
      smsTo: "+15005550006",
    };
    const requests = [
      simulateTwilioMessage(options, { from: "+447700900123", body: "what's my balance? £ & é" }),
      simulateTwilioMessage(options, { from: "+447700900123", body: "hi", whatsapp: true, numMedia: 2 }),
      simulateTwilioTap(options, { from: "+447700900123", number: 2 }),
    ];
    for (const request of requests) {
      const params = Object.fromEntries(new URLSearchParams(request.body));
      const url = `${options.publicBaseUrl}${request.path}`;
      expect(
        validateRequest(options.authToken, request.headers["x-twilio-signature"] as string, url, params),
      ).to.equal(true);
    }
  });
});

/** URL forms a signer may have used for `url`: as is, without and with its port, WHATWG-normalised. */
function signedForms(url: string): string[] {
  const noPort = url.replace(/^(\w+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?]*)):\d+/, "$1");
  const withPort = noPort.replace(
    /^(https?):\/\/((?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?]*))/,
    (_m, scheme: string, host: string) => `${scheme}://${host}:${scheme === "https" ? 443 : 80}`,
  );
  return [...new Set([url, noPort, withPort, new URL(url).toString(), `${url}x`])];
}

function randomText(max: number): string {
  const alphabet = "aZ09 +&=%'\"é☕_-.~/?#";
  return Array.from(
    randomBytes(1 + ((randomBytes(1)[0] as number) % max)),
    (b) => alphabet[b % alphabet.length],
  ).join("");
}
