import { createPrivateKey, X509Certificate } from "node:crypto";
import { type Env, readVar } from "./env.js";

/**
 * The TLS identity of every listener of one process (TLS_CERT_FILE, TLS_KEY_FILE), and for the
 * core's gRPC port the CA that client certificates must chain to (TLS_CLIENT_CA_FILE). PEM text,
 * loaded once at start so a missing or mismatched file stops the process instead of the first
 * handshake.
 */
export interface ServerTls {
  /** The certificate chain, leaf first (PEM). */
  readonly cert: string;
  /** The leaf certificate's private key (PEM, unencrypted). */
  readonly key: string;
  /** CA certificates a client's certificate must chain to (PEM); set: mutual TLS on the gRPC port. */
  readonly clientCa?: string;
}

/**
 * How a gateway reaches the core over TLS: the CA it trusts for the core's certificate
 * (CORE_CA_FILE) and, when the core asks for one, its own certificate and key
 * (CORE_CLIENT_CERT_FILE, CORE_CLIENT_KEY_FILE). PEM text.
 */
export interface CoreClientTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

/**
 * Reads TLS_CERT_FILE and TLS_KEY_FILE (both or neither) and, with `clientCa`, TLS_CLIENT_CA_FILE;
 * undefined when TLS is off. Each file must hold what its name says and the key must belong to
 * the certificate; problems are pushed, never thrown, so a config loader reports them all.
 */
export function readServerTls(
  env: Env,
  problems: string[],
  options: { readonly clientCa?: boolean } = {},
): ServerTls | undefined {
  const pair = readKeyPair(env, "TLS_CERT", "TLS_KEY", problems);
  const clientCa = options.clientCa ? readCa(env, "TLS_CLIENT_CA", problems) : undefined;
  if (clientCa !== undefined && !isSet(env, "TLS_CERT") && !isSet(env, "TLS_KEY")) {
    problems.push(
      "TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE: client certificates are asked for over TLS",
    );
  }
  if (pair === undefined) return undefined;
  return Object.freeze(clientCa === undefined ? pair : { ...pair, clientCa });
}

/**
 * Reads CORE_CA_FILE and the optional client certificate CORE_CLIENT_CERT_FILE with
 * CORE_CLIENT_KEY_FILE (both or neither); undefined when the gateways call the core in plain text.
 * A client certificate without a CA is a problem: it would be sent over no TLS at all.
 */
export function readCoreClientTls(env: Env, problems: string[]): CoreClientTls | undefined {
  const ca = readCa(env, "CORE_CA", problems);
  const pair = readKeyPair(env, "CORE_CLIENT_CERT", "CORE_CLIENT_KEY", problems);
  const wantsCert = isSet(env, "CORE_CLIENT_CERT") || isSet(env, "CORE_CLIENT_KEY");
  if (wantsCert && !isSet(env, "CORE_CA")) {
    problems.push(
      "CORE_CLIENT_CERT_FILE and CORE_CLIENT_KEY_FILE need CORE_CA_FILE: the core is reached over TLS only then",
    );
  }
  if (ca === undefined) return undefined;
  return Object.freeze(pair === undefined ? { ca } : { ca, ...pair });
}

/** True when NAME or NAME_FILE is set (a set but unreadable file is reported by readVar). */
function isSet(env: Env, name: string): boolean {
  return Boolean(env[name] || env[`${name}_FILE`]);
}

function readKeyPair(
  env: Env,
  certName: string,
  keyName: string,
  problems: string[],
): { cert: string; key: string } | undefined {
  if (isSet(env, certName) !== isSet(env, keyName)) {
    problems.push(`${certName}_FILE and ${keyName}_FILE go together: set both or neither`);
    return undefined;
  }
  const cert = readVar(env, certName, problems);
  const key = readVar(env, keyName, problems);
  if (cert === undefined || key === undefined) return undefined;
  return checkKeyPair(cert, key, certName, keyName, problems) ? { cert, key } : undefined;
}

/** Parses both and checks they belong together; the messages never echo the files' contents. */
function checkKeyPair(cert: string, key: string, certName: string, keyName: string, problems: string[]) {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    problems.push(
      `${certName}_FILE must hold a PEM certificate chain (-----BEGIN CERTIFICATE-----), leaf first`,
    );
    return false;
  }
  try {
    if (leaf.checkPrivateKey(createPrivateKey(key))) return true;
    problems.push(`${keyName}_FILE is not the private key of the certificate in ${certName}_FILE`);
  } catch {
    problems.push(`${keyName}_FILE must hold an unencrypted PEM private key`);
  }
  return false;
}

function readCa(env: Env, name: string, problems: string[]): string | undefined {
  const pem = readVar(env, name, problems);
  if (pem === undefined) return undefined;
  try {
    new X509Certificate(pem);
    return pem;
  } catch {
    problems.push(`${name}_FILE must hold PEM CA certificates (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
}
