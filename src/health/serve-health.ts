// `GET /.well-known/x402/health` (docs/observability.md): are the rules loaded and valid, can each facilitator be
// reached, and is the ledger keeping up. Public, so it shows no secret, no URL path or query of a facilitator
// (only its origin), and its probes are cached per isolate so a flood of health checks is not a flood of calls.
import type { GatewayConfig } from "../gateway-config.js";
import type { GatewayBindings } from "../bindings.js";
import { GatewayFailure } from "../errors.js";
import { resolveFacilitators } from "../facilitator/facilitator-config.js";
import { loadFacilitatorView } from "../facilitator/facilitator-view.js";
import type { LoadedPriceRules } from "../pricing/price-rule-store.js";

/** A probe's answer is reused this long per isolate. */
const PROBE_CACHE_MS = 10_000;
const PROBE_TIMEOUT_MS = 2000;
/** A ledger row still `verified` after this long means its outcome has not reached D1. */
const STUCK_AFTER_MS = 60_000;
const MAX_PROBLEMS = 20;

export interface HealthDeps {
  env: GatewayBindings;
  config: GatewayConfig;
  rules: LoadedPriceRules;
  fetch: typeof fetch;
  nowMs: () => number;
  waitUntil: (promise: Promise<unknown>) => void;
}

interface FacilitatorHealthReport {
  id: string;
  origin: string;
  circuit: string;
  reachable: boolean;
  ms: number;
  kinds?: number;
  error?: string;
}

const probes = new Map<string, { atMs: number; report: FacilitatorHealthReport }>();

export async function serveHealth(request: Request, deps: HealthDeps): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") throw new GatewayFailure({ kind: "method_not_allowed", allow: "GET, HEAD" });
  const { rules, config } = deps;
  const rulesReport =
    rules.kind === "ready"
      ? {
          key: config.PRICE_RULES_KEY,
          valid: !rules.stale,
          rules: rules.ruleSet.rules.length,
          ...(rules.stale ? { servingLastGood: true } : {}),
        }
      : { key: config.PRICE_RULES_KEY, valid: false, rules: 0, problems: rules.problems.slice(0, MAX_PROBLEMS) };
  const [facilitators, ledger] = await Promise.all([
    rules.kind === "ready" ? facilitatorReports(deps, rules) : Promise.resolve([]),
    ledgerReport(deps),
  ]);
  const failing = rules.kind !== "ready" || !ledger.reachable || (facilitators.length > 0 && facilitators.every((f) => !f.reachable));
  const degraded = !rulesReport.valid || facilitators.some((f) => !f.reachable || f.circuit !== "closed") || ledger.stuckVerified > 0;
  const body = { status: failing ? "failing" : degraded ? "degraded" : "ok", rules: rulesReport, facilitators, ledger };
  return new Response(request.method === "HEAD" ? null : JSON.stringify(body, null, 2), {
    status: failing ? 503 : 200,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

async function facilitatorReports(
  deps: HealthDeps,
  rules: Extract<LoadedPriceRules, { kind: "ready" }>,
): Promise<FacilitatorHealthReport[]> {
  const facilitators = resolveFacilitators(rules.ruleSet.facilitators, deps.config);
  if (facilitators.length === 0) return [];
  const view = await loadFacilitatorView({
    facilitators,
    policy: rules.ruleSet.circuit,
    state: deps.env.FACILITATOR_STATE,
    scope: deps.config.PRICE_RULES_KEY,
    secrets: deps.env,
    fetch: deps.fetch,
    nowMs: deps.nowMs,
    cacheMs: deps.config.FACILITATOR_STATE_CACHE_MS,
    waitUntil: deps.waitUntil,
  });
  return Promise.all(
    view.entries.map(async (entry) => {
      const circuit = view.availability(entry);
      const cached = probes.get(entry.key);
      if (cached && deps.nowMs() - cached.atMs < PROBE_CACHE_MS) return { ...cached.report, circuit };
      const probe = await view.probe(entry, PROBE_TIMEOUT_MS);
      const report: FacilitatorHealthReport = {
        id: entry.facilitator.id,
        origin: new URL(entry.facilitator.url).origin,
        circuit,
        reachable: probe.ok,
        ms: probe.ms,
        ...(probe.ok ? { kinds: probe.kinds } : { error: probe.error }),
      };
      probes.set(entry.key, { atMs: deps.nowMs(), report });
      return report;
    }),
  );
}

async function ledgerReport(
  deps: HealthDeps,
): Promise<{ reachable: boolean; stuckVerified: number; owedRefunds: number; settleUnknown: number }> {
  const stuckBefore = new Date(deps.nowMs() - STUCK_AFTER_MS).toISOString();
  try {
    const row = await deps.env.LEDGER.prepare(
      `SELECT
         COALESCE(SUM(status = 'verified' AND updated_at < ?), 0) AS stuck,
         COALESCE(SUM(status = 'owed_refund'), 0) AS owed,
         COALESCE(SUM(status = 'settle_unknown'), 0) AS unknown
       FROM payments WHERE status IN ('verified', 'owed_refund', 'settle_unknown')`,
    )
      .bind(stuckBefore)
      .first<{ stuck: number; owed: number; unknown: number }>();
    return { reachable: true, stuckVerified: row?.stuck ?? 0, owedRefunds: row?.owed ?? 0, settleUnknown: row?.unknown ?? 0 };
  } catch (cause) {
    console.error(JSON.stringify({ event: "health_ledger_unreachable", cause: String(cause) }));
    return { reachable: false, stuckVerified: 0, owedRefunds: 0, settleUnknown: 0 };
  }
}

/** Forgets cached probes (tests). */
export function resetHealthProbes(): void {
  probes.clear();
}
