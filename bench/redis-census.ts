import { Redis } from "ioredis";

/**
 * Counts the commands Redis executes while some work runs, with MONITOR, and attributes each to a
 * role by its first key's prefix (every bench process writes under a key prefix of its own) and
 * labels it with the command and the key's shape (ids replaced by `*`, so a script is known by its
 * first key). It
 * tells round trips (commands sent by clients) from the commands Lua scripts run inside one of
 * them. MONITOR slows Redis down, so it runs apart from the timed rows.
 */

/** A key without its ids: segments that look like ids (16+ characters, or 8+ with a digit) become `*`. */
function keyShape(key: string): string {
  return key
    .split(":")
    .map((segment) =>
      segment.length >= 16 || (segment.length >= 8 && /[0-9]/.test(segment)) ? "*" : segment,
    )
    .join(":");
}

/** Commands seen during the work: `<role> <COMMAND>` → count, for client commands and script commands. */
export interface RedisCensus {
  readonly sent: ReadonlyMap<string, number>;
  readonly inScripts: ReadonlyMap<string, number>;
}

/** Runs `work` under MONITOR on `url`; `prefixes` maps a role name to its key prefix. */
export async function redisCensus(
  url: string,
  prefixes: Readonly<Record<string, string>>,
  work: () => Promise<void>,
): Promise<RedisCensus> {
  const sent = new Map<string, number>();
  const inScripts = new Map<string, number>();
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const monitor = await client.monitor();
  // Keyless commands (MULTI, EXEC, PING) belong to whoever owns their connection, known at the end.
  const roleOfSource = new Map<string, string>();
  const keyless = new Map<string, number>();
  const count = (counts: Map<string, number>, label: string, n = 1) =>
    counts.set(label, (counts.get(label) ?? 0) + n);
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    const command = (args[0] ?? "").toUpperCase();
    const key = command === "EVALSHA" || command === "EVAL" ? args[3] : args[1];
    const owner = Object.entries(prefixes).find(([, prefix]) => key?.startsWith(`${prefix}:`));
    if (owner === undefined && source !== "lua") {
      count(keyless, `${source} ${command}`);
      return;
    }
    if (owner !== undefined && source !== "lua") roleOfSource.set(source, owner[0]);
    const label = owner
      ? `${owner[0]} ${command} ${keyShape((key as string).slice(owner[1].length + 1))}`
      : `other ${command}`;
    count(source === "lua" ? inScripts : sent, label);
  });
  try {
    await work();
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  for (const [label, n] of keyless) {
    const [source = "", command = ""] = label.split(" ");
    count(sent, `${roleOfSource.get(source) ?? "other"} ${command}`, n);
  }
  return { sent, inScripts };
}
