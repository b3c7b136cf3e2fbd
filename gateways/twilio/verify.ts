/**
 * Authenticity of Twilio webhooks (channels.md §4.1–4.3, security.md WH-1): `X-Twilio-Signature`
 * is Base64(HMAC-SHA1(auth token, URL + each POST parameter as name+value, sorted by name)); for a
 * JSON body the URL carries `bodySHA256`, no parameters are appended, and the body's SHA-256 must
 * match. This is what Twilio's own helper (twilio-node `validateRequest`) accepts, quirks included,
 * and the tests hold it to that helper and to the published vectors.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { parse as legacyParse, stringify as legacyStringify } from "node:querystring";

/** POST parameters as Twilio sent them; a name sent more than once has several values. */
export type TwilioParams = Readonly<Record<string, string | readonly string[]>>;

/** Base64 of a 20-byte HMAC-SHA1: 27 characters and one "=". */
const SIGNATURE = /^[A-Za-z0-9+/]{27}=$/;
const BODY_HASH = /^[0-9a-f]{64}$/;

/**
 * The signature Twilio computes for `url` and `params` (twilio-node getExpectedTwilioSignature):
 * names in code-unit order (a plain JS sort, case-sensitive); a repeated name contributes each
 * distinct value, sorted, as name+value.
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name] as string | readonly string[];
    if (typeof value === "string") data += name + value;
    else for (const one of [...new Set(value)].sort()) data += name + one;
  }
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

/**
 * The URL forms Twilio's helper accepts for one request URL, most likely first: as received without
 * and with its default port (Twilio signs whichever form it was configured with, and WHATWG URL
 * parsing drops ":443"), then the WHATWG-normalised URL (`'` becomes `%27`) without and with the
 * port, and those with the query re-encoded by Node's legacy querystring. Duplicates are dropped.
 */
export function candidateUrls(url: string): string[] {
  const forms = [removePort(url), addPort(url)];
  let normalised: string | undefined;
  try {
    normalised = new URL(url).toString();
  } catch {
    normalised = undefined; // Not a URL WHATWG can parse: only the as-received forms apply.
  }
  if (normalised !== undefined) {
    const plain = [removePort(normalised), addPort(normalised)];
    forms.push(...plain, ...plain.map(withLegacyQuery));
  }
  return [...new Set(forms)];
}

/**
 * True when `header` is the signature of a form POST to `url` with `params`, for any URL form of
 * candidateUrls. The comparison is constant-time; a missing or malformed header, or an empty auth
 * token (a misconfiguration must fail closed), is refused without computing anything.
 */
export function verifyTwilioSignature(
  authToken: string,
  header: string | undefined,
  url: string,
  params: TwilioParams,
): boolean {
  if (typeof header !== "string" || !SIGNATURE.test(header) || authToken.length === 0) return false;
  const claimed = Buffer.from(header, "utf8");
  return candidateUrls(url).some((candidate) =>
    timingSafeEqual(claimed, Buffer.from(twilioSignature(authToken, candidate, params), "utf8")),
  );
}

/**
 * The JSON variant (twilio-node validateRequestWithBody): the signature covers the URL alone, which
 * must carry `bodySHA256`, and that value must be the lowercase hex SHA-256 of the raw body bytes.
 */
export function verifyTwilioBody(
  authToken: string,
  header: string | undefined,
  url: string,
  rawBody: Buffer,
): boolean {
  const claimedHash = bodyHashOf(url);
  if (claimedHash === undefined || !verifyTwilioSignature(authToken, header, url, {})) return false;
  const actual = createHash("sha256").update(rawBody).digest("hex");
  return timingSafeEqual(Buffer.from(claimedHash, "utf8"), Buffer.from(actual, "utf8"));
}

/** What a verified request is: a form post and its parameters, or a JSON body (bodySHA256). */
export type TwilioVerified =
  | { readonly kind: "form"; readonly params: Record<string, string | string[]> }
  | { readonly kind: "json" };

/**
 * Verifies one webhook request before anything reads it as a message: the JSON variant when the
 * URL's query names `bodySHA256` (as Twilio's Express middleware decides), the form variant
 * otherwise. Undefined when the signature (or the body hash) does not hold.
 */
export function verifyTwilioRequest(
  authToken: string,
  header: string | undefined,
  url: string,
  rawBody: Buffer,
): TwilioVerified | undefined {
  if (queryOf(url).has("bodySHA256")) {
    return verifyTwilioBody(authToken, header, url, rawBody) ? { kind: "json" } : undefined;
  }
  const params = formParams(rawBody);
  return verifyTwilioSignature(authToken, header, url, params) ? { kind: "form", params } : undefined;
}

/** The `bodySHA256` query value of `url` when it is 64 lowercase hex digits; undefined otherwise. */
function bodyHashOf(url: string): string | undefined {
  const value = queryOf(url).get("bodySHA256");
  return value !== null && BODY_HASH.test(value) ? value : undefined;
}

function queryOf(url: string): URLSearchParams {
  const start = url.indexOf("?");
  return new URLSearchParams(start === -1 ? "" : url.slice(start + 1).split("#")[0]);
}

/**
 * A form body as Twilio's parameters: WHATWG form decoding ("+" is a space), names kept in arrival
 * order, a repeated name as an array. The signature covers every parameter received, never a
 * whitelist (channels.md §4.5: Twilio adds parameters without notice).
 */
export function formParams(rawBody: Buffer): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(rawBody.toString("utf8"))) {
    const seen = params[name];
    if (seen === undefined) params[name] = value;
    else if (typeof seen === "string") params[name] = [seen, value];
    else seen.push(value);
  }
  return params;
}

/** scheme://userinfo@host:port + rest, split without normalising anything (twilio-node splitUrl). */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (match === null) return undefined;
  const [prefix, scheme, authority] = match as unknown as [string, string, string];
  const userEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userEnd + 1);
  // A colon starts the port only after the closing bracket of an IPv6 literal.
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function removePort(url: string): string {
  const parts = splitUrl(url);
  return parts === undefined ? url : parts.scheme + parts.userInfo + parts.host + parts.rest;
}

function addPort(url: string): string {
  const parts = splitUrl(url);
  if (parts === undefined || parts.port !== "") return url;
  const port = parts.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

/** The query re-encoded as Node's legacy querystring does, for back ends that signed that form. */
function withLegacyQuery(url: string): string {
  const start = url.indexOf("?");
  if (start === -1 || start === url.length - 1) return url;
  return `${url.slice(0, start)}?${legacyStringify(legacyParse(url.slice(start + 1)))}`;
}
