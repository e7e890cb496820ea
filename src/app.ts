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
      const detail = "detail" in error.error ? error.error.detail : undefined;
      console.warn(JSON.stringify({ event: "request_failed", kind: error.error.kind, detail, path: new URL(c.req.url).pathname }));
      return toHttpResponse(error.error);
    }
    console.error(JSON.stringify({ event: "unexpected_error", message: String(error), stack: error.stack }));
    return unexpectedErrorResponse();
  });
  return app;
}
