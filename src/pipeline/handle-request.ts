// The request's route: the gateway's own paths (admin, health, /.well-known/x402), a free route (forwarded as it is),
// or a priced rule's (serve-priced.ts). A broken rules document blocks only the routes it may have priced.
import type { GatewayBindings } from "../bindings.js";
import { GatewayFailure } from "../errors.js";
import { parseGatewayConfig } from "../gateway-config.js";
import { adminAuthFromConfig } from "../admin/admin-auth.js";
import { serveAdmin } from "../admin/serve-admin.js";
import { serveWellKnown } from "../discovery/serve-well-known.js";
import { adminSubpath, HEALTH_PATH, matchReservedPath } from "../gateway-paths.js";
import { serveHealth } from "../health/serve-health.js";
import { startRequestLog, type RequestLog } from "../observability/request-log.js";
import { canonicalizePath } from "../pricing/canonical-path.js";
import { matchesAnyPattern, matchPriceRule } from "../pricing/match-price-rule.js";
import { loadPriceRules } from "../pricing/price-rule-store.js";
import { forward } from "./forward-request.js";
import type { GatewayDeps } from "./gateway-deps.js";
import type { WaitUntil } from "./payment-tracking.js";
import { servePriced } from "./serve-priced.js";

export async function handleRequest(
  request: Request,
  env: GatewayBindings,
  ctx: WaitUntil,
  deps: GatewayDeps,
  log: RequestLog = startRequestLog(deps.nowMs()),
): Promise<Response> {
  const config = parseGatewayConfig(env);
  const url = new URL(request.url);
  const path = canonicalizePath(url.pathname);
  if (!path.ok) throw new GatewayFailure({ kind: "path_malformed", detail: path.reason });
  const admin = adminSubpath(url.pathname, path.segments, config.ADMIN_PATH_PREFIX);
  if (admin !== undefined) {
    log.outcome = "reserved";
    return serveAdmin(request, admin, { env, config, auth: adminAuthFromConfig(config), schemes: deps.schemes, nowMs: deps.nowMs });
  }

  const rules = await loadPriceRules({
    kv: env.PRICE_RULES,
    key: config.PRICE_RULES_KEY,
    cacheTtlSeconds: config.PRICE_RULES_CACHE_TTL_SECONDS,
    schemes: deps.schemes,
    now: deps.nowMs,
  });
  const shape = {
    method: request.method,
    segments: path.segments,
    isPreflight: request.method === "OPTIONS" && request.headers.has("access-control-request-method"),
  };
  const reserved = matchReservedPath(path.segments);
  if (reserved) {
    log.outcome = "reserved";
    // The gateway's own paths never reach the origin.
    if (reserved === HEALTH_PATH)
      return serveHealth(request, { env, config, rules, fetch: deps.fetch, nowMs: deps.nowMs, waitUntil: (p) => ctx.waitUntil(p) });
    if (rules.kind === "unavailable") throw new GatewayFailure({ kind: "config_invalid", detail: rules.problems.join("; ") });
    return serveWellKnown(request, rules.ruleSet, config.PRICE_RULES_CACHE_TTL_SECONDS);
  }
  if (rules.kind === "unavailable") {
    if (rules.blocked === "all" || matchesAnyPattern(rules.blocked, path.segments)) {
      throw new GatewayFailure({ kind: "config_invalid", detail: rules.problems.join("; ") });
    }
    return forward(request, config, undefined, deps);
  }
  const match = matchPriceRule(rules.ruleSet.rules, shape);
  if (!match) return forward(request, config, undefined, deps);
  log.ruleId = match.rule.id;
  const scoped = { ruleId: match.rule.id, method: request.method, segments: path.segments, search: url.search };
  return servePriced({ env, config, deps, ctx, log, ruleSet: rules.ruleSet, match, scoped }, request);
}
