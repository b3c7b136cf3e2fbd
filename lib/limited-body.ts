/**
 * Size-capped reads of an HTTP response body, for every client of a third-party API (the channels'
 * send APIs, Twilio's Messages API for one-time codes): a hostile or broken endpoint cannot make
 * a process buffer without bound.
 */

/**
 * The response body as text, reading at most `limit` bytes; "" when it is longer or absent, so a
 * hostile or broken endpoint cannot make a sender buffer without bound.
 */
export async function readLimitedText(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    chunks.push(chunk.value);
    size += chunk.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return "";
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The body read as JSON within `limit` bytes; undefined when it is not JSON (a proxy's HTML page). */
export async function readLimitedJson(response: Response, limit: number): Promise<unknown> {
  try {
    const text = await readLimitedText(response, limit);
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined; // Not JSON, or a body cut short: classified by status alone.
  }
}
