// The image's HEALTHCHECK (Containerfile): exits 0 when the process's admin port answers GET
// /healthz with 200, 1 otherwise. Plain JavaScript because the image holds no TypeScript runner,
// and node because the slim base has no curl or wget. Liveness, not readiness: a Redis or core
// outage must not make an orchestrator that acts on health (Swarm) restart a process that recovers
// by itself. Every command (core, gateways, dev) serves /healthz on ADMIN_PORT, over HTTPS when
// TLS_CERT_FILE and TLS_KEY_FILE are set.
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";

const TIMEOUT_MS = 4_000;

/** The address to probe: LISTEN_HOST unless it is a wildcard, which loopback reaches. */
function probeHost(listenHost) {
  if (!listenHost || listenHost === "0.0.0.0" || listenHost === "::") return "127.0.0.1";
  return listenHost.startsWith("[") ? listenHost.slice(1, -1) : listenHost;
}

const env = process.env;
const tls = Boolean(env.TLS_CERT_FILE || env.TLS_CERT);
const options = {
  host: probeHost(env.LISTEN_HOST),
  port: Number(env.ADMIN_PORT || "9090"),
  path: "/healthz",
  timeout: TIMEOUT_MS,
  // The probe reaches its own container's process by address, which the certificate need not
  // name; it sends nothing secret and reads only the status code.
  ...(tls ? { rejectUnauthorized: false } : {}),
};
const request = (tls ? httpsGet : httpGet)(options, (response) => {
  process.exitCode = response.statusCode === 200 ? 0 : 1;
  response.resume();
});
request.on("timeout", () => request.destroy(new Error("timed out")));
request.on("error", () => {
  process.exitCode = 1;
});
