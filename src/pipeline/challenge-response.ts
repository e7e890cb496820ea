// The 402 of one priced request: the PaymentRequired body (its offers, the rule's service, and the extensions this
// request's 402 declares: payment-identifier, bazaar, sign-in-with-x), and the answer that carries it (the paywall
// page for a person's browser, signed offers when the rule asks). Extensions are built once per request, and only
// when a 402 is: a paid request that goes through never needs them.
import { BAZAAR, buildBazaarExtension, buildMcpBazaarExtension } from "../discovery/bazaar-extension.js";
import { paymentRequiredResponse } from "../errors.js";
import { buildPaymentIdentifierExtension, PAYMENT_IDENTIFIER } from "../idempotency/payment-identifier.js";
import type { McpTool } from "../mcp/mcp-terms.js";
import { withSignedOffers } from "../offer-receipt/attach-offer-receipt.js";
import type { PricedCall } from "../payment-modes/payment-mode.js";
import { siwxChallengeExtension, type SessionOffer } from "../sessions/session-offer.js";
import { prefersHtml } from "../paywall/prefers-html.js";
import { buildPaywallView } from "../paywall/paywall-view.js";
import { paywallResponse } from "../paywall/serve-paywall.js";
import type { PriceRule } from "../pricing/price-rule.js";
import { buildPaymentRequired } from "../x402/challenge.js";
import { PAYMENT_SIGNATURE, X_PAYMENT } from "../x402/headers.js";
import type { PaymentRequired, PaymentRequirements } from "../x402/schemas.js";

export interface ChallengeOptions {
  call: PricedCall;
  request: Request;
  accepts: PaymentRequirements[];
  /** The rule's path parameters, for the bazaar's description of the route. */
  params: Record<string, string>;
  /** The MCP tool this request calls (rules with `mcp`): the bazaar describes the tool, not the route. */
  mcpCall: { toolName: string; tool: McpTool } | undefined;
  session: SessionOffer | undefined;
  /** A session credential came with the request and was refused: the paywall is not shown as a first visit. */
  sessionRefused: boolean;
}

export interface Challenger {
  /** This request's PaymentRequired with `reason` as its error; the request's log line records the reason. */
  challenge(reason: string): PaymentRequired;
  /** The answer to a request that has not paid: a person's browser with nothing to show gets the paywall page. */
  unpaid(paymentRequired: PaymentRequired): Promise<Response>;
}

export function buildChallenge(
  rule: PriceRule,
  accepts: PaymentRequirements[],
  resourceUrl: string,
  error: string,
  extensions: Record<string, unknown> = {},
): PaymentRequired {
  const service = rule.discoverable ? rule.discovery?.service : undefined;
  return buildPaymentRequired({
    resourceUrl,
    description: rule.description,
    mimeType: rule.mimeType,
    accepts,
    error,
    ...(service
      ? {
          service: {
            ...(service.name ? { serviceName: service.name } : {}),
            ...(service.tags ? { tags: service.tags } : {}),
            ...(service.iconUrl ? { iconUrl: service.iconUrl } : {}),
          },
        }
      : {}),
    extensions: { [PAYMENT_IDENTIFIER]: buildPaymentIdentifierExtension(rule.paymentIdentifierRequired), ...extensions },
  });
}

export function buildChallenger(options: ChallengeOptions): Challenger {
  const { call, request, accepts, session } = options;
  const { rule, config, deps, log, resourceUrl } = call;
  let extensions: Record<string, unknown> | undefined;
  const declared = () => {
    // HEAD is priced as GET, so it is described as GET.
    const bazaar = !rule.discoverable
      ? undefined
      : options.mcpCall
        ? buildMcpBazaarExtension(options.mcpCall.toolName, options.mcpCall.tool)
        : buildBazaarExtension(rule.discovery, rule.pattern, request.method === "HEAD" ? "GET" : request.method, options.params);
    return { ...(bazaar ? { [BAZAAR]: bazaar } : {}), ...(session ? siwxChallengeExtension(session, deps.nowMs()) : {}) };
  };
  const carriesPayment = request.headers.has(PAYMENT_SIGNATURE) || request.headers.has(X_PAYMENT);
  return {
    challenge(reason) {
      log.reason = reason;
      extensions ??= declared();
      return buildChallenge(rule, accepts, resourceUrl, reason, extensions);
    },
    async unpaid(unsigned) {
      const paymentRequired = rule.offerReceipt
        ? await withSignedOffers(unsigned, rule.offerReceipt, rule.id, config, deps.nowMs())
        : unsigned;
      return rule.paywall &&
        !carriesPayment &&
        (request.method === "GET" || request.method === "HEAD") &&
        prefersHtml(request.headers.get("accept"))
        ? paywallResponse(paymentRequired, buildPaywallView(rule, request.method, paymentRequired, !options.sessionRefused), request.method)
        : paymentRequiredResponse(paymentRequired, rule.paywall ? { Vary: "Accept" } : {});
    },
  };
}
