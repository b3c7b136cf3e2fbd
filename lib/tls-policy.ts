import { BlockList, isIP } from "node:net";
import { type Env, readVar } from "./env.js";

/** What the production plain-text rules look at; `tls` and `coreTls` are whether TLS is configured. */
export interface PlaintextCheck {
  readonly production: boolean;
  /** TLS_TERMINATED_BY_PROXY=true: a proxy or mesh in front encrypts the traffic instead. */
  readonly terminatedByProxy: boolean;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * True for an address that never leaves the machine: 127.0.0.0/8, ::1 (and its IPv4-mapped
 * forms) and `localhost`. Only these may serve plain text in production without an opt-in.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  const family = isIP(bare);
  if (family === 4) return LOOPBACK.check(bare, "ipv4");
  if (family === 6) return LOOPBACK.check(bare, "ipv6");
  return false;
}

/** Reads TLS_TERMINATED_BY_PROXY: "true" or "false" (default); anything else is a problem. */
export function readTerminatedByProxy(env: Env, problems: string[]): boolean {
  const raw = readVar(env, "TLS_TERMINATED_BY_PROXY", problems) ?? "false";
  if (raw !== "true" && raw !== "false")
    problems.push(`TLS_TERMINATED_BY_PROXY must be true or false, got "${raw}"`);
  return raw === "true";
}

/**
 * In production, listening in plain text on an address other machines can reach is a problem
 * unless TLS_TERMINATED_BY_PROXY=true says a proxy in front terminates TLS (DESIGN.md, Operations:
 * TLS 1.2+ when certificates are configured, plain HTTP/2 behind a proxy otherwise). Service
 * tokens, customers' messages and balances cross these ports.
 */
export function checkPlaintextListener(
  check: PlaintextCheck & { readonly host: string; readonly tls: boolean },
  problems: string[],
): void {
  if (!check.production || check.tls || check.terminatedByProxy || isLoopbackHost(check.host)) return;
  problems.push(
    `TLS_CERT_FILE and TLS_KEY_FILE are required in production to listen on ${check.host} (LISTEN_HOST, not loopback);` +
      " set TLS_TERMINATED_BY_PROXY=true if a proxy in front terminates TLS",
  );
}

/**
 * In production, a gateway calling a core that is not on its own machine in plain text is a
 * problem unless TLS_TERMINATED_BY_PROXY=true (a service mesh or sidecar encrypting the hop): the
 * calls carry service tokens and customers' messages. `coreUrl` is host:port or [v6]:port.
 */
export function checkPlaintextCoreCall(
  check: PlaintextCheck & { readonly coreUrl: string; readonly coreTls: boolean },
  problems: string[],
): void {
  if (!check.production || check.coreTls || check.terminatedByProxy) return;
  if (isLoopbackHost(check.coreUrl.slice(0, check.coreUrl.lastIndexOf(":")))) return;
  problems.push(
    `CORE_CA_FILE is required in production to call the core at ${check.coreUrl} (CORE_URL, not loopback) over TLS;` +
      " set TLS_TERMINATED_BY_PROXY=true if a proxy or service mesh encrypts that hop",
  );
}
