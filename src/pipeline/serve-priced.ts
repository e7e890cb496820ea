// A request matched to a priced rule, from its 402 to its answer. It reads top to bottom as the skeleton every
// payment mode shares (payment-modes/payment-mode.ts):
//   challenge → check → admit → (the mode:) claim → verify / forward → settle → answer.
// Written as plain functions rather than hono middleware on purpose: hono merges the previous response's headers
// into any response set after it, which would leak origin headers (Set-Cookie!) into a 402.
import { GatewayFailure } from "../errors.js";
import { resolveFacilitators } from "../facilitator/facilitator-config.js";
import { loadFacilitatorView } from "../facilitator/facilitator-view.js";
import { readMcpRequest } from "../mcp/read-mcp-request.js";
import type { McpTool } from "../mcp/mcp-terms.js";
import { sseUsageField } from "../metering/meter-terms.js";
import { payFromChannel } from "../payment-modes/channel/channel-mode.js";
import { payPerCall } from "../payment-modes/pay-per-call/pay-per-call-mode.js";
import type { AdmittedPayment, PricedCall } from "../payment-modes/payment-mode.js";
import { trySession } from "../payment-modes/session/session-mode.js";
import type { PriceRuleMatch } from "../pricing/match-price-rule.js";
import type { ScopedRequest } from "../sessions/session-terms.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import { PAYMENT_SIGNATURE, X_PAYMENT } from "../x402/headers.js";
import { X402_VERSION } from "../x402/schemas.js";
import { buildChallenger, type Challenger } from "./challenge-response.js";
import { buildCheckContext } from "./check-context.js";
import { decidePayment, type PaymentDecision } from "./decide-payment.js";
import { bufferBody, forward } from "./forward-request.js";
import { assertRuleCoversWindow, buildPaymentBudget } from "./payment-window.js";
import { priceRequest } from "./price-request.js";
import { enforceRateLimit } from "./rate-limit.js";

/** The 402 reason for a payment whose validity ran down, while its request body arrived, below what settling needs. */
const PAYMENT_EXPIRES_BEFORE_SETTLE = "payment_expires_before_settle";
const LEASE_MARGIN_MS = 5000;

/** What routing knows of a priced request (handle-request.ts). */
export type PricedRoute = Omit<PricedCall, "rule" | "resourceUrl" | "facilitators"> & { match: PriceRuleMatch; scoped: ScopedRequest };

export async function servePriced(route: PricedRoute, inbound: Request): Promise<Response> {
  const { match, config, deps } = route;
  const { rule, params } = match;
  let request = inbound;
  // What is priced: an MCP server's traffic is free but for priced tool calls, which go on.
  let mcpCall: { toolName: string; tool: McpTool } | undefined;
  if (rule.mcp) {
    if (request.method !== "POST") return forward(request, config, rule.origin, deps);
    const read = await readMcpRequest(request, rule.mcp, config.MAX_PAID_BODY_BYTES);
    request = read.request;
    if (read.classification.kind !== "priced") return forward(request, config, rule.origin, deps);
    mcpCall = read.classification;
  }
  const call: PricedCall = {
    ...route,
    rule,
    resourceUrl: request.url,
    facilitators: resolveFacilitators(route.ruleSet.facilitators, config),
  };
  if (call.facilitators.length === 0) {
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `rule ${rule.id} is priced but no facilitator is configured (facilitators[] or FACILITATOR_URL)`,
    });
  }
  const contentLength = Number(request.headers.get("content-length") ?? 0);
  if (contentLength > config.MAX_PAID_BODY_BYTES)
    throw new GatewayFailure({ kind: "body_too_large", limitBytes: config.MAX_PAID_BODY_BYTES });

  // Session mode, before pricing: a request its wallet's session covers is served with no payment.
  const session = await trySession(call, request, route.scoped);
  if (session.response) return session.response;

  // Challenge: this request's offers, each settled by a facilitator that is up.
  const view = await loadFacilitatorView({
    facilitators: call.facilitators,
    policy: call.ruleSet.circuit,
    state: call.env.FACILITATOR_STATE,
    scope: config.PRICE_RULES_KEY,
    secrets: call.env,
    fetch: deps.fetch,
    nowMs: deps.nowMs,
    cacheMs: config.FACILITATOR_STATE_CACHE_MS,
    waitUntil: (promise) => call.ctx.waitUntil(promise),
  });
  const priced = await priceRequest({
    rule,
    request,
    params,
    env: call.env,
    config,
    fetch: deps.fetch,
    nowMs: deps.nowMs(),
    schemes: deps.schemes,
    facilitator: {
      supportedKinds: async () => view.supportedKinds(rule.preferFacilitators),
      channelAuthorizer: config.CHANNEL_AUTHORIZER_KEY?.address,
    },
    canSettle: (offer) => view.canSettle(offer.scheme, offer.network),
    ...(mcpCall ? { mcpToolPrice: mcpCall.tool.price } : {}),
  });
  request = priced.request;
  const challenger = buildChallenger({
    call,
    request,
    accepts: priced.accepts,
    params,
    mcpCall,
    session: session.offer,
    sessionRefused: session.refusal !== undefined,
  });
  const { challenge, unpaid } = challenger;
  if (session.refusal) return unpaid(challenge(session.refusal));

  // Check: the payment against the offer it echoes, by its scheme's plugin, before any facilitator call.
  // How long a payment must stay valid to settle after everything that runs first (a metered stream included).
  const streamSeconds = rule.meter && sseUsageField(rule.meter) !== undefined ? rule.meter.maxStreamSeconds : 0;
  const validityWindowSeconds = assertRuleCoversWindow(
    rule.id,
    rule.maxTimeoutSeconds,
    buildPaymentBudget(call.facilitators, config.ORIGIN_TIMEOUT_MS, streamSeconds),
  );
  const decision = await decidePayment({
    accepts: priced.accepts,
    challenge,
    paymentHeader: request.headers.get(PAYMENT_SIGNATURE),
    v1Header: request.headers.get(X_PAYMENT),
    resource: { url: call.resourceUrl, description: rule.description, mimeType: rule.mimeType },
    schemes: {
      find: (scheme, network) =>
        rule.offers.find((o) => o.scheme === scheme && o.network === network)?.plugin ?? deps.schemes.find(scheme, network),
    },
    check: buildCheckContext(config, deps.nowMs(), validityWindowSeconds),
  });
  if (decision.kind === "challenge") return unpaid(decision.paymentRequired);
  // V1 settles what its requirements say, which for a usage-settled scheme is the signed maximum, not the metered amount (F21).
  if (decision.v1 && decision.plugin.settles === "usage" && rule.meter) return unpaid(challenge("invalid_x402_version"));

  const admitted = await admit(call, { request, decision, view, challenger, session: session.offer, streamSeconds, validityWindowSeconds });
  if (admitted instanceof Response) return admitted;
  const { channel } = decision.checked;
  return channel ? payFromChannel(admitted, channel) : payPerCall(admitted);
}

interface Checked extends Pick<AdmittedPayment, "request" | "view" | "session" | "streamSeconds" | "validityWindowSeconds"> {
  decision: Extract<PaymentDecision, { kind: "verify" }>;
  challenger: Challenger;
}

/**
 * Admit: what a checked payment may make the gateway do is bounded before any facilitator call: the payer's and the
 * client's rate limits, a body of unknown length sized (an oversized upload is never half-sent), and a facilitator
 * up that settles it.
 */
async function admit(call: PricedCall, checked: Checked): Promise<AdmittedPayment | Response> {
  const { rule, config, deps } = call;
  const { decision, challenger } = checked;
  let { request } = checked;
  await enforceRateLimit(call.env, rule.rateLimit, rule.id, {
    // Only a payer whose signature was recovered here: anyone can name anyone, and would spend their allowance.
    payer: decision.checked.signatureProven === true ? `${decision.requirements.network}:${decision.checked.payer}` : null,
    client: request.headers.get("cf-connecting-ip"),
  });
  if (request.body && !request.headers.has("content-length")) {
    request = await bufferBody(request, config.MAX_PAID_BODY_BYTES);
    // A body trickled in slowly spends the payment's validity: the window is asked again, from now.
    if (decision.checked.expiresAtSeconds < Math.floor(deps.nowMs() / 1000) + checked.validityWindowSeconds)
      return challenger.unpaid(challenger.challenge(PAYMENT_EXPIRES_BEFORE_SETTLE));
  }
  const candidates = checked.view.candidates(decision.requirements, decision.v1 ? 1 : 2, rule.preferFacilitators);
  if (candidates.length === 0) {
    // The 402 offered it, but its facilitators went down since (or none speaks this x402 version).
    throw new GatewayFailure({
      kind: "unsettleable",
      ruleId: rule.id,
      missing: [`v${decision.v1 ? 1 : 2} ${decision.requirements.scheme} ${decision.requirements.network}`],
    });
  }
  const facilitatorRequest: FacilitatorRequest = decision.v1
    ? { x402Version: 1, paymentPayload: decision.v1.payload, paymentRequirements: decision.v1.requirements }
    : { x402Version: X402_VERSION, paymentPayload: decision.payload, paymentRequirements: decision.requirements };
  // Long enough for verify on every candidate, the origin, and settle on every candidate. A metered stream holds its
  // lock, and its payer's one stream slot, for the stream's whole life.
  const leaseMs =
    candidates.reduce((sum, c) => sum + c.facilitator.verifyTimeoutMs + c.facilitator.settleTimeoutMs, 0) +
    config.ORIGIN_TIMEOUT_MS +
    checked.streamSeconds * 1000 +
    LEASE_MARGIN_MS;
  const paidRequest = request;
  return {
    call,
    request: paidRequest,
    decision,
    view: checked.view,
    session: checked.session,
    streamSeconds: checked.streamSeconds,
    validityWindowSeconds: checked.validityWindowSeconds,
    candidates,
    facilitatorRequest,
    leaseMs,
    challenge: challenger.challenge,
    forward: () => forward(paidRequest, config, rule.origin, deps, true),
  };
}
