/**
 * The one request shape of Meta's Graph API send endpoints (WhatsApp Cloud `/<phone id>/messages`,
 * Messenger and Instagram `/me/messages`): a JSON POST with the token as a bearer, our
 * User-Agent, a whole-request deadline, and redirects returned rather than followed — a redirect is
 * not the Graph API, and following it would hand our token to whoever sent it.
 */

/** Where and as whom a sender posts. */
export interface GraphPostOptions {
  readonly url: string;
  readonly accessToken: string;
  readonly userAgent: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof globalThis.fetch;
}

/** Posts one JSON body; resolves with the response whatever its status, rejects on timeout or network failure. */
export type GraphPost = (body: unknown) => Promise<Response>;

/** Binds a Graph API send endpoint and its token. */
export function createGraphPost(options: GraphPostOptions): GraphPost {
  const headers = {
    authorization: `Bearer ${options.accessToken}`,
    "content-type": "application/json",
    "user-agent": options.userAgent,
  };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return (body) => {
    const signal = AbortSignal.timeout(options.timeoutMs);
    return fetchImpl(options.url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal,
      redirect: "manual",
    });
  };
}
