// Wires the gateway: the only file that mounts routes and maps errors to responses.
import { Hono } from "hono";
import type { Env } from "./env.js";
import { GatewayFailure, toHttpResponse, unexpectedErrorResponse } from "./errors.js";
import { handleRequest, type GatewayDeps } from "./pipeline/handle-request.js";

export function buildApp(deps: GatewayDeps): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.all("*", (c) => handleRequest(c.req.raw, c.env, c.executionCtx, deps));
  app.onError((error, c) => {
    if (error instanceof GatewayFailure) {
      const response = toHttpResponse(error.error);
      // Client mistakes (4xx) are answered, not logged: a flood of garbage headers must not flood the logs.
      if (response.status >= 500) {
        console.warn(JSON.stringify({ event: "request_failed", ...error.error, path: new URL(c.req.url).pathname }));
      }
      return response;
    }
    console.error(JSON.stringify({ event: "unexpected_error", message: String(error), stack: error.stack }));
    return unexpectedErrorResponse();
  });
  return app;
}
