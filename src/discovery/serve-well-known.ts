// Answers `GET /.well-known/x402` from the loaded rules: not priced, never forwarded, revalidated by ETag.
import { GatewayFailure } from "../errors.js";
import type { PriceRuleSet } from "../pricing/price-rule.js";
import { buildWellKnown } from "./well-known.js";

export function serveWellKnown(request: Request, ruleSet: PriceRuleSet, cacheTtlSeconds: number): Response {
  if (request.method !== "GET" && request.method !== "HEAD") throw new GatewayFailure({ kind: "method_not_allowed", allow: "GET, HEAD" });
  const { body, etag } = buildWellKnown(ruleSet, new URL(request.url).origin);
  const headers = {
    "Content-Type": "application/json",
    ETag: etag,
    // As fresh as the rules themselves: a KV edit is visible here once the isolate re-reads them.
    "Cache-Control": `public, max-age=${cacheTtlSeconds}`,
    // Agents and browser wallets read it from other origins.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag",
  };
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch?.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*")) return new Response(null, { status: 304, headers });
  return new Response(request.method === "HEAD" ? null : body, { status: 200, headers });
}
