import Koa from "koa";
import helmet from "koa-helmet";
import type { Logger } from "../lib/logger.js";
import type { Limiter } from "../lib/rate-limit.js";
import type { ChannelRoute } from "./channel.js";
import { accessLog, type RequestObserver } from "./middleware/access-log.js";
import { cors } from "./middleware/cors.js";
import { errorHandler, HttpError } from "./middleware/error-handler.js";
import { rateLimit } from "./middleware/rate-limit.js";
import { rawBody } from "./middleware/raw-body.js";
import { requestId } from "./middleware/request-id.js";

/** Collaborators and settings of createGatewayApp. */
export interface GatewayAppDeps {
  readonly logger: Logger;
  /** The per-IP limiter (createLimiter with prefix teller:rl:ip). */
  readonly ipLimiter: Limiter;
  readonly routes: readonly ChannelRoute[];
  readonly maxBodyBytes: number;
  readonly corsOrigins: readonly string[];
  readonly trustProxy: boolean;
  readonly observeRequest?: RequestObserver;
  readonly onRateLimited?: () => void;
}

/** Error codes of a response cut short by the client, not by us. */
const CLIENT_GONE: ReadonlySet<string> = new Set(["ERR_STREAM_PREMATURE_CLOSE", "ECONNRESET", "EPIPE"]);

/**
 * The one Koa app every channel shares (DESIGN.md, Gateways): generic errors first, then request
 * id, access log, helmet headers, CORS for configured origins, the per-IP limit, the raw body
 * within its limit, and the channel routes by exact path. Nothing listens here; bin/ does.
 */
export function createGatewayApp(deps: GatewayAppDeps): Koa {
  const app = new Koa({ proxy: deps.trustProxy });
  const byPath = new Map(deps.routes.map((r) => [r.path, r]));
  app.use(errorHandler(deps.logger));
  app.use(requestId());
  app.use(accessLog(deps.logger, new Set(byPath.keys()), deps.observeRequest));
  app.use(helmet());
  app.use(cors(deps.corsOrigins));
  app.use(rateLimit(deps.ipLimiter, deps.onRateLimited));
  app.use(rawBody(deps.maxBodyBytes));
  app.use(async function route(ctx) {
    const found = byPath.get(ctx.path);
    if (!found) throw new HttpError(404, "no such route");
    await found.handle(ctx);
  });
  // Errors are answered by errorHandler; this only sees failures after the response (sockets).
  // A client that went away mid-response (a browser closing the web chat's event stream) is
  // ordinary, not a warning: it would otherwise log once per closed tab.
  app.on("error", (err: unknown) => {
    if (CLIENT_GONE.has(String((err as { code?: unknown } | undefined)?.code)))
      deps.logger.debug({ code: (err as { code: string }).code }, "client went away mid-response");
    else deps.logger.warn({ err }, "http error outside a request");
  });
  app.silent = true;
  return app;
}
