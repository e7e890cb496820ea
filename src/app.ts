// Wires the gateway: the only file that mounts routes and maps errors to responses, and where each request's
// log line (and Analytics Engine data point) is written once its answer is known.
import { Hono } from "hono";
import { parseGatewayConfig } from "./gateway-config.js";
import type { GatewayBindings } from "./bindings.js";
import { GatewayFailure, toHttpResponse, unexpectedErrorResponse } from "./errors.js";
import { toDataPoint } from "./observability/analytics.js";
import { buildRequestLogLine, startRequestLog, type RequestLog } from "./observability/request-log.js";
import { handleRequest } from "./pipeline/handle-request.js";
import type { GatewayDeps } from "./pipeline/gateway-deps.js";
import { afterThisTask } from "./after-this-task.js";
import { countingEnv } from "./observability/usage-counters.js";

export function buildApp(deps: GatewayDeps): Hono<{ Bindings: GatewayBindings }> {
  const app = new Hono<{ Bindings: GatewayBindings }>();
  app.all("*", async (c) => {
    const log = startRequestLog(deps.nowMs());
    let response: Response;
    let errorKind: string | undefined;
    try {
      response = await handleRequest(c.req.raw, countingEnv(c.env), c.executionCtx, deps, log);
    } catch (error) {
      errorKind = error instanceof GatewayFailure ? error.error.kind : "internal_error";
      response = errorResponse(error, c.req.raw);
    }
    // Written a task later, from what is known now: formatting and emitting the line stays off the answer's path.
    const known = { ...log };
    const status = response.status;
    const endedAtMs = deps.nowMs();
    c.executionCtx.waitUntil(afterThisTask().then(() => writeRequestLog(c.env, known, c.req.raw, status, endedAtMs, errorKind)));
    return response;
  });
  app.onError((error, c) => errorResponse(error, c.req.raw));
  return app;
}

function errorResponse(error: unknown, request: Request): Response {
  if (error instanceof GatewayFailure) {
    const response = toHttpResponse(error.error);
    // Client mistakes (4xx) are answered, not logged as failures: the request's own line says enough.
    if (response.status >= 500) {
      console.warn(JSON.stringify({ event: "request_failed", ...error.error, path: new URL(request.url).pathname }));
    }
    return response;
  }
  console.error(
    JSON.stringify({ event: "unexpected_error", message: String(error), stack: error instanceof Error ? error.stack : undefined }),
  );
  return unexpectedErrorResponse();
}

function writeRequestLog(
  env: GatewayBindings,
  log: RequestLog,
  request: Request,
  status: number,
  nowMs: number,
  errorKind: string | undefined,
): void {
  // A log that cannot be written must never cost the request its answer.
  try {
    const quiet = requestLogSetting(env) === "off";
    const analytics = env.ANALYTICS;
    if (quiet && !analytics) return;
    const line = buildRequestLogLine(log, request, status, nowMs, errorKind);
    if (!quiet) console.log(JSON.stringify(line));
    analytics?.writeDataPoint(toDataPoint(line));
  } catch (error) {
    console.error(JSON.stringify({ event: "request_log_failed", message: String(error) }));
  }
}

/** Invalid config still logs its requests (each answers 503): that is when the lines matter most. */
function requestLogSetting(env: GatewayBindings): "on" | "off" {
  try {
    return parseGatewayConfig(env).REQUEST_LOG;
  } catch {
    return "on";
  }
}
