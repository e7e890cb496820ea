// A request matched to a priced rule, from its 402 to its answer. It reads top to bottom as the skeleton every
// payment mode shares (payment-modes/payment-mode.ts):
//   challenge → check → admit → (the mode:) claim → verify / forward → settle → answer.
// Written as plain functions rather than hono middleware on purpose: hono merges the previous response's headers
// into any response set after it, which would leak origin headers (Set-Cookie!) into a 402.
import { GatewayFailure } from "../errors.js";
import { resolveFacilitators } from "../facilitator/facilitator-config.js";
import { loadFacilitatorView, type FacilitatorView } from "../facilitator/facilitator-view.js";
import { readMcpRequest } from "../mcp/read-mcp-request.js";
import type { McpTool } from "../mcp/mcp-terms.js";
import { sseUsageField } from "../metering/meter-terms.js";
import { payFromChannel } from "../payment-modes/channel/channel-mode.js";
import { payPerCall } from "../payment-modes/pay-per-call/pay-per-call-mode.js";
import type { AdmittedPayment, PricedCall } from "../payment-modes/payment-mode.js";
import { trySession, type SessionAttempt } from "../payment-modes/session/session-mode.js";
import type { PriceRuleMatch } from "../pricing/match-price-rule.js";
import type { ScopedRequest } from "../sessions/session-terms.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import { PAYMENT_SIGNATURE, X_PAYMENT } from "../x402/headers.js";
import { X402_VERSION, type PaymentRequirements } from "../x402/schemas.js";
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

type McpCall = { toolName: string; tool: McpTool } | undefined;

export async function servePriced(route: PricedRoute, inbound: Request): Promise<Response> {
  // What is priced: an MCP server's traffic is free but for priced tool calls, which go on.
  const priced = await pricedCall(route, inbound);
  if (priced instanceof Response) return priced;
  const { call, mcpCall } = priced;

  // Session mode, before pricing: a request its wallet's session covers is served with no payment.
  const session = await trySession(call, priced.request, route.scoped);
  if (session.response) return session.response;

  // Challenge: this request's offers, each settled by a facilitator that is up, and its 402.
  const offered = await offer(call, priced.request, route.match.params, mcpCall, session);
  const { challenge, unpaid } = offered.challenger;
  if (session.refusal) return unpaid(challenge(session.refusal));

  // Check: the payment against the offer it echoes, by its scheme's plugin, before any facilitator call.
  const checked = await check(call, offered);
  if (checked instanceof Response) return checked;

  // Admit: what it may make the gateway do is bounded; then the mode it chose serves it.
  const admitted = await admit(call, { ...checked, session: session.offer });
  if (admitted instanceof Response) return admitted;
  const { channel } = admitted.decision.checked;
  return channel ? payFromChannel(admitted, channel) : payPerCall(admitted);
}

/** The call, once an MCP request is known to be a priced tool call (other MCP traffic is forwarded as it is). */
async function pricedCall(
  route: PricedRoute,
  inbound: Request,
): Promise<{ call: PricedCall; request: Request; mcpCall: McpCall } | Response> {
  const { match, config, deps } = route;
  const { rule } = match;
  let request = inbound;
  let mcpCall: McpCall;
  if (rule.mcp) {
    if (request.method !== "POST") return forward(request, config, rule.origin, deps);
    const read = await readMcpRequest(request, rule.mcp, config.MAX_PAID_BODY_BYTES);
    request = read.request;
    if (read.classification.kind !== "priced") return forward(request, config, rule.origin, deps);
    mcpCall = read.classification;
  }
  const facilitators = resolveFacilitators(route.ruleSet.facilitators, config);
  if (facilitators.length === 0) {
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `rule ${rule.id} is priced but no facilitator is configured (facilitators[] or FACILITATOR_URL)`,
    });
  }
  const contentLength = Number(request.headers.get("content-length") ?? 0);
  if (contentLength > config.MAX_PAID_BODY_BYTES)
    throw new GatewayFailure({ kind: "body_too_large", limitBytes: config.MAX_PAID_BODY_BYTES });
  return { call: { ...route, rule, resourceUrl: request.url, facilitators }, request, mcpCall };
}

interface Offered {
  /** The request, its body buffered when pricing read it. */
  request: Request;
  accepts: PaymentRequirements[];
  view: FacilitatorView;
  challenger: Challenger;
}

/** This request's offers (its price, payee and the kinds a facilitator that is up settles) and its 402. */
async function offer(
  call: PricedCall,
  request: Request,
  params: Record<string, string>,
  mcpCall: McpCall,
  session: SessionAttempt,
): Promise<Offered> {
  const { rule, config, deps } = call;
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
  const challenger = buildChallenger({
    call,
    request: priced.request,
    accepts: priced.accepts,
    params,
    mcpCall,
    session: session.offer,
    sessionRefused: session.refusal !== undefined,
  });
  return { request: priced.request, accepts: priced.accepts, view, challenger };
}

interface Checked extends Pick<AdmittedPayment, "request" | "view" | "streamSeconds" | "validityWindowSeconds"> {
  decision: Extract<PaymentDecision, { kind: "verify" }>;
  challenger: Challenger;
}

/** The payment, checked by its scheme's plugin against the offer it echoes; a 402 when it is none of them. */
async function check(call: PricedCall, offered: Offered): Promise<Checked | Response> {
  const { rule, config, deps } = call;
  const { request, challenger } = offered;
  // How long a payment must stay valid to settle after everything that runs first (a metered stream included).
  const streamSeconds = rule.meter && sseUsageField(rule.meter) !== undefined ? rule.meter.maxStreamSeconds : 0;
  const validityWindowSeconds = assertRuleCoversWindow(
    rule.id,
    rule.maxTimeoutSeconds,
    buildPaymentBudget(call.facilitators, config.ORIGIN_TIMEOUT_MS, streamSeconds),
  );
  const decision = await decidePayment({
    accepts: offered.accepts,
    challenge: challenger.challenge,
    paymentHeader: request.headers.get(PAYMENT_SIGNATURE),
    v1Header: request.headers.get(X_PAYMENT),
    resource: { url: call.resourceUrl, description: rule.description, mimeType: rule.mimeType },
    schemes: {
      find: (scheme, network) =>
        rule.offers.find((o) => o.scheme === scheme && o.network === network)?.plugin ?? deps.schemes.find(scheme, network),
    },
    check: buildCheckContext(config, deps.nowMs(), validityWindowSeconds),
  });
  if (decision.kind === "challenge") return challenger.unpaid(decision.paymentRequired);
  // V1 settles what its requirements say, which for a usage-settled scheme is the signed maximum, not the metered amount (F21).
  if (decision.v1 && decision.plugin.settles === "usage" && rule.meter)
    return challenger.unpaid(challenger.challenge("invalid_x402_version"));
  return { request, view: offered.view, decision, challenger, streamSeconds, validityWindowSeconds };
}

/**
 * Admit: what a checked payment may make the gateway do is bounded before any facilitator call: the payer's and the
 * client's rate limits, a body of unknown length sized (an oversized upload is never half-sent), and a facilitator
 * up that settles it.
 */
async function admit(call: PricedCall, checked: Checked & Pick<AdmittedPayment, "session">): Promise<AdmittedPayment | Response> {
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
