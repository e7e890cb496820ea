// The request pipeline: route → price rule → challenge | verify → origin → settle → ledger.
// Written as plain functions rather than hono middleware on purpose: hono merges the previous response's
// headers into any response set after it, which would leak origin headers (Set-Cookie!) into a 402.
import { parseGatewayConfig, type GatewayConfig } from "../gateway-config.js";
import type { GatewayBindings } from "../bindings.js";
import { GatewayFailure, paymentRequiredResponse } from "../errors.js";
import { resolveFacilitators } from "../facilitator/facilitator-config.js";
import { verifyWithFailover } from "../facilitator/facilitator-pool.js";
import { loadFacilitatorView } from "../facilitator/facilitator-view.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { forwardThenSettle, paidMeterFor, settleThenForward, type PaidRequest } from "./paid-request.js";
import { LedgerWriter, startTimer, type WaitUntil } from "./payment-tracking.js";
import { claimAndVerify } from "./claim-and-verify.js";
import { OriginCall } from "./origin-call.js";
import { payerKey, payerStanding, takeShortcut } from "./payer-standing.js";
import { canonicalizePath } from "../pricing/canonical-path.js";
import { matchesAnyPattern, matchPriceRule, type PriceRuleMatch } from "../pricing/match-price-rule.js";
import { loadPriceRules } from "../pricing/price-rule-store.js";
import type { PriceRuleSet } from "../pricing/price-rule.js";
import { forwardToOrigin } from "../proxy/forward-to-origin.js";
import { readBodyUpTo } from "../proxy/read-body.js";
import { claimPayment, recordSettledTransaction } from "../payment-record/claim-payment.js";
import { FORGET_AFTER_MAX_MS } from "../payment-record/lock-lifetime.js";
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import { encodePaymentResponseHeader, PAYMENT_RESPONSE, PAYMENT_SIGNATURE, X_PAYMENT, X_PAYMENT_RESPONSE } from "../x402/headers.js";
import { fromV1SettleResponse, toV1SettleResponse } from "../x402/v1.js";
import { beginIdentifiedPayment } from "../idempotency/identified-payment.js";
import { X402_VERSION, type PaymentRequired, type SettleResponse } from "../x402/schemas.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import { withSignedOffers, withSignedReceipt } from "../offer-receipt/attach-offer-receipt.js";
import { buildChallenge, decidePayment } from "./decide-payment.js";
import { BAZAAR, buildBazaarExtension, buildMcpBazaarExtension } from "../discovery/bazaar-extension.js";
import { readMcpRequest } from "../mcp/read-mcp-request.js";
import type { McpTool } from "../mcp/mcp-terms.js";
import { serveWellKnown } from "../discovery/serve-well-known.js";
import { adminSubpath, HEALTH_PATH, matchReservedPath } from "../gateway-paths.js";
import { serveAdmin } from "../admin/serve-admin.js";
import { adminAuthFromConfig } from "../admin/admin-auth.js";
import { serveHealth } from "../health/serve-health.js";
import { buildCheckContext } from "./check-context.js";
import { rpcFor } from "../schemes/chain-rpc.js";
import { confirmPendingSettle } from "../facilitator/pending-settlement.js";
import { settleExactlyOnce } from "../facilitator/resolve-settle.js";
import { assertRuleCoversWindow, buildPaymentBudget } from "./payment-window.js";
import { sseUsageField } from "../metering/meter-terms.js";
import { enforceRateLimit } from "./rate-limit.js";
import { priceRequest } from "./price-request.js";
import { prefersHtml } from "../paywall/prefers-html.js";
import { buildPaywallView } from "../paywall/paywall-view.js";
import { paywallResponse } from "../paywall/serve-paywall.js";
import { authenticateSession, grantSession, openSession, serveSession, siwxChallengeExtension } from "./session-request.js";
import type { ScopedRequest } from "../sessions/session-terms.js";
import { startRequestLog, type RequestLog } from "../observability/request-log.js";
import { payFromChannel } from "./channel-request.js";

/** The 402 reason for a payment another request already holds or has spent. */
const PAYMENT_ALREADY_USED = "payment_already_used";
/** The 402 reason for a payment whose validity ran down, while its request body arrived, below what settling needs. */
const PAYMENT_EXPIRES_BEFORE_SETTLE = "payment_expires_before_settle";
/** The 402 reason for a metered stream while the same payer has another in flight. */
const PAYER_STREAM_IN_PROGRESS = "payer_stream_in_progress";
const LEASE_MARGIN_MS = 5000;
/** An answer awaiting its settle's outcome waits past the lock's last look (reconciler.ts: 10 min after expiry). */
const AWAIT_OUTCOME_MARGIN_MS = 15 * 60_000;

export interface GatewayDeps {
  schemes: SchemeRegistry;
  /** Outbound fetch for the origin and the facilitator. */
  fetch: typeof fetch;
  nowMs: () => number;
}

export async function handleRequest(request: Request, env: GatewayBindings, ctx: WaitUntil, deps: GatewayDeps, log: RequestLog = startRequestLog(deps.nowMs())): Promise<Response> {
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
    if (reserved === HEALTH_PATH) return serveHealth(request, { env, config, rules, fetch: deps.fetch, nowMs: deps.nowMs, waitUntil: (p) => ctx.waitUntil(p) });
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
  return handlePricedRequest(request, env, ctx, deps, config, rules.ruleSet, match, { ruleId: match.rule.id, method: request.method, segments: path.segments, search: url.search }, log);
}

async function handlePricedRequest(
  request: Request,
  env: GatewayBindings,
  ctx: WaitUntil,
  deps: GatewayDeps,
  config: GatewayConfig,
  ruleSet: PriceRuleSet,
  { rule, params }: PriceRuleMatch,
  scoped: ScopedRequest,
  log: RequestLog,
): Promise<Response> {
  const { startedAtMs } = log;
  // An MCP server's traffic is free but for priced tool calls: those go on, the rest straight to the origin.
  let mcpCall: { toolName: string; tool: McpTool } | undefined;
  if (rule.mcp) {
    if (request.method !== "POST") return forward(request, config, rule.origin, deps);
    const read = await readMcpRequest(request, rule.mcp, config.MAX_PAID_BODY_BYTES);
    request = read.request;
    if (read.classification.kind !== "priced") return forward(request, config, rule.origin, deps);
    mcpCall = read.classification;
  }
  const facilitators = resolveFacilitators(ruleSet.facilitators, config);
  if (facilitators.length === 0) {
    throw new GatewayFailure({ kind: "config_invalid", detail: `rule ${rule.id} is priced but no facilitator is configured (facilitators[] or FACILITATOR_URL)` });
  }
  const contentLength = Number(request.headers.get("content-length") ?? 0);
  if (contentLength > config.MAX_PAID_BODY_BYTES) throw new GatewayFailure({ kind: "body_too_large", limitBytes: config.MAX_PAID_BODY_BYTES });
  const resourceUrl = request.url;
  const session = openSession(rule, scoped, new URL(resourceUrl), env, config);
  const paymentHeader = request.headers.get(PAYMENT_SIGNATURE);
  const v1Header = request.headers.get(X_PAYMENT);
  // A payment, when present, is what the client chose: sessions are only looked at without one.
  let sessionRefusal: string | undefined;
  if (session && paymentHeader === null && v1Header === null) {
    const auth = await authenticateSession(request, session, deps.nowMs());
    if (auth.kind === "refused") sessionRefusal = auth.reason;
    if (auth.kind === "granted") {
      if (request.body && !request.headers.has("content-length")) request = await bufferBody(request, config.MAX_PAID_BODY_BYTES);
      const inbound = request;
      log.outcome = "session";
      log.sessionWallet = auth.wallet;
      return serveSession({ offer: session, auth, forward: () => forward(inbound, config, rule.origin, deps), waitUntil: (p) => ctx.waitUntil(p), nowMs: deps.nowMs() });
    }
  }
  // Priced after the session check: a request a session serves needs no price (nor a quote round trip).
  const view = await loadFacilitatorView({
    facilitators,
    policy: ruleSet.circuit,
    state: env.FACILITATOR_STATE,
    scope: config.PRICE_RULES_KEY,
    secrets: env,
    fetch: deps.fetch,
    nowMs: deps.nowMs,
    cacheMs: config.FACILITATOR_STATE_CACHE_MS,
    waitUntil: (promise) => ctx.waitUntil(promise),
  });
  const prefer = rule.preferFacilitators;
  const priced = await priceRequest({
    rule, request, params, env, config, fetch: deps.fetch, nowMs: deps.nowMs(), schemes: deps.schemes,
    facilitator: { supportedKinds: async () => view.supportedKinds(prefer), channelAuthorizer: config.CHANNEL_AUTHORIZER_KEY?.address },
    canSettle: (offer) => view.canSettle(offer.scheme, offer.network),
    ...(mcpCall ? { mcpToolPrice: mcpCall.tool.price } : {}),
  });
  request = priced.request;
  const { accepts } = priced;
  // Built when a 402 is, once per request: a paid request that goes through never needs them.
  let extensions: Record<string, unknown> | undefined;
  const challengeExtensions = () => {
    // HEAD is priced as GET, so it is described as GET.
    const bazaar = !rule.discoverable
      ? undefined
      : mcpCall
        ? buildMcpBazaarExtension(mcpCall.toolName, mcpCall.tool)
        : buildBazaarExtension(rule.discovery, rule.pattern, request.method === "HEAD" ? "GET" : request.method, params);
    return { ...(bazaar ? { [BAZAAR]: bazaar } : {}), ...(session ? siwxChallengeExtension(session, deps.nowMs()) : {}) };
  };
  const challenge = (reason: string) => ((log.reason = reason), buildChallenge(rule, accepts, resourceUrl, reason, (extensions ??= challengeExtensions())));
  // A person's browser with nothing to show gets the paywall page; every other client the JSON 402.
  const unpaid = async (unsigned: PaymentRequired): Promise<Response> => {
    const paymentRequired = rule.offerReceipt ? await withSignedOffers(unsigned, rule.offerReceipt, rule.id, config, deps.nowMs()) : unsigned;
    return rule.paywall && paymentHeader === null && v1Header === null && (request.method === "GET" || request.method === "HEAD") && prefersHtml(request.headers.get("accept"))
      ? paywallResponse(paymentRequired, buildPaywallView(rule, request.method, paymentRequired, sessionRefusal === undefined), request.method)
      : paymentRequiredResponse(paymentRequired, rule.paywall ? { Vary: "Accept" } : {});
  };
  if (sessionRefusal) return unpaid(challenge(sessionRefusal));
  // How long a payment must stay valid to settle after everything that runs first (a metered stream included).
  const streamSeconds = rule.meter && sseUsageField(rule.meter) !== undefined ? rule.meter.maxStreamSeconds : 0;
  const validityWindow = assertRuleCoversWindow(rule.id, rule.maxTimeoutSeconds, buildPaymentBudget(facilitators, config.ORIGIN_TIMEOUT_MS, streamSeconds));
  const decision = await decidePayment({
    accepts,
    challenge,
    paymentHeader,
    v1Header,
    resource: { url: resourceUrl, description: rule.description, mimeType: rule.mimeType },
    schemes: { find: (scheme, network) => rule.offers.find((o) => o.scheme === scheme && o.network === network)?.plugin ?? deps.schemes.find(scheme, network) },
    check: buildCheckContext(config, deps.nowMs(), validityWindow),
  });
  if (decision.kind === "challenge") return unpaid(decision.paymentRequired);
  // V1 settles what its requirements say, which for upto is the signed maximum, not the metered amount (F21).
  if (decision.v1 && decision.requirements.scheme === "upto" && rule.meter) return unpaid(challenge("invalid_x402_version"));
  // Counted before any facilitator call: what an attacker's payments can cost the facilitator is bounded per payer and client.
  await enforceRateLimit(env, rule.rateLimit, rule.id, {
    // Only a payer whose signature was recovered here: anyone can name anyone, and would spend their allowance.
    payer: decision.checked.signatureProven === true ? `${decision.requirements.network}:${decision.checked.payer}` : null,
    client: request.headers.get("cf-connecting-ip"),
  });
  // A body of unknown length is sized here, before any payment work, so an oversized upload is never half-sent.
  if (request.body && !request.headers.has("content-length")) {
    request = await bufferBody(request, config.MAX_PAID_BODY_BYTES);
    // A body trickled in slowly spends the payment's validity: the window is asked again, from now.
    if (decision.checked.expiresAtSeconds < Math.floor(deps.nowMs() / 1000) + validityWindow) return unpaid(challenge(PAYMENT_EXPIRES_BEFORE_SETTLE));
  }

  const candidates = view.candidates(decision.requirements, decision.v1 ? 1 : 2, prefer);
  if (candidates.length === 0) {
    // The 402 offered it, but its facilitators went down since (or none speaks this x402 version).
    throw new GatewayFailure({ kind: "unsettleable", ruleId: rule.id, missing: [`v${decision.v1 ? 1 : 2} ${decision.requirements.scheme} ${decision.requirements.network}`] });
  }
  const facilitatorRequest: FacilitatorRequest = decision.v1
    ? { x402Version: 1, paymentPayload: decision.v1.payload, paymentRequirements: decision.v1.requirements }
    : { x402Version: X402_VERSION, paymentPayload: decision.payload, paymentRequirements: decision.requirements };
  // Long enough for verify on every candidate, the origin, and settle on every candidate.
  // A metered stream holds its lock, and its payer's one stream slot, for the stream's whole life.
  const leaseMs =
    candidates.reduce((sum, c) => sum + c.facilitator.verifyTimeoutMs + c.facilitator.settleTimeoutMs, 0) + config.ORIGIN_TIMEOUT_MS + streamSeconds * 1000 + LEASE_MARGIN_MS;
  const { channel } = decision.checked;
  if (channel) {
    // Paid from a batch-settlement channel: its object is the replay lock and the ledger outbox.
    return payFromChannel({
      env, config, ruleId: rule.id, method: request.method, resourceUrl, requirements: decision.requirements, checked: { ...decision.checked, channel },
      view, candidates, facilitatorRequest, leaseMs, challenge, claimRoute: { facilitators, circuit: ruleSet.circuit, scope: config.PRICE_RULES_KEY }, forward: () => forward(request, config, rule.origin, deps, true), nowMs: deps.nowMs, totalMs: () => deps.nowMs() - startedAtMs, log,
    });
  }

  const begun = await beginIdentifiedPayment({
    records: env.PAYMENT_IDENTIFIERS,
    payload: decision.payload,
    required: rule.paymentIdentifierRequired,
    leaseMs,
    nowMs: deps.nowMs(),
    ttlSeconds: config.PAYMENT_IDENTIFIER_TTL_SECONDS,
    maxBodyBytes: config.PAYMENT_IDENTIFIER_MAX_BODY_BYTES,
    // The reconciler stops looking at the lock's forget time (its authorization's end + 10 min, at most 30 days on).
    awaitOutcomeUntilMs: Math.min(decision.checked.expiresAtSeconds * 1000, deps.nowMs() + FORGET_AFTER_MAX_MS) + AWAIT_OUTCOME_MARGIN_MS,
    waitUntil: (promise) => ctx.waitUntil(promise),
    alreadyUsed: (receipt) => paymentRequiredResponse(challenge(PAYMENT_ALREADY_USED), receipt ? { [PAYMENT_RESPONSE]: receipt } : {}),
  });
  if (begun.kind === "respond") {
    if (begun.response.status !== 402) log.outcome = "retry_replayed";
    return begun.response;
  }
  const { identified } = begun;

  const { requirements } = decision;
  const meter = paidMeterFor(rule, requirements);
  // Verify's first choice, and settle's when verify is left out.
  const preferred = candidates[0]!;
  // Stored with the claim, before verify is asked: the row a Worker that dies mid-settle leaves behind.
  const entry: LedgerEntry = {
    paymentKey: decision.checked.paymentKey,
    ruleId: rule.id,
    method: request.method,
    resource: resourceUrl,
    scheme: requirements.scheme,
    network: requirements.network,
    asset: requirements.asset,
    amount: requirements.amount,
    payTo: requirements.payTo,
    payer: decision.checked.payer,
    facilitator: preferred.facilitator.url,
    facilitatorId: preferred.facilitator.id,
    status: "verified",
    ...(meter ? { maxAmount: requirements.amount } : {}),
    at: new Date(deps.nowMs()).toISOString(),
  };
  const origin = new OriginCall(() => forward(request, config, rule.origin, deps, true), deps.nowMs);
  const rpc = rpcFor(config.RPC_URLS, requirements.network);
  const chainNonce = decision.v1 ? undefined : decision.checked.chainNonce;
  // What the chain can say of this payment: its settle is resolved from it, in the request and after (issue #34).
  const authorization = { asset: requirements.asset, payTo: requirements.payTo, amount: requirements.amount, payer: entry.payer };
  const watch =
    rpc && chainNonce
      ? { ...authorization, ...chainNonce, network: requirements.network, validBeforeSeconds: decision.checked.expiresAtSeconds, ...(identified ? { identifier: identified.ref } : {}) }
      : undefined;
  const standing = payerKey(requirements.network, decision.checked.payer);
  const proven = decision.checked.signatureProven === true;
  // A payment that may expire during the origin's run is settled first, whatever the rule says (F4 on Solana); asked
  // now, after a slow body, not when the payment was checked.
  const { settleBeforeOrigin, settleBySeconds } = decision.checked;
  const expiresInWindow = settleBySeconds !== undefined && settleBySeconds < Math.floor(deps.nowMs() / 1000) + validityWindow;
  const settlement = settleBeforeOrigin || expiresInWindow ? "before-origin" : rule.settlement;
  // A metered stream takes no shortcut: it waits for its claim, so a payer's second stream is refused before the
  // origin is asked.
  const shortcut =
    streamSeconds === 0 ? takeShortcut({ forwardDuringVerify: rule.forwardDuringVerify, verifyEveryPayment: rule.verifyEveryPayment, settlement }, { method: request.method, payer: standing, metered: meter !== undefined, nowMs: deps.nowMs() }, decision.checked, view.unfailing(preferred)) : undefined;
  const outcome = await claimAndVerify({
    paymentKey: decision.checked.paymentKey,
    claim: () =>
      claimPayment({
        locks: env.PAYMENT_RECORDS,
        paymentKey: decision.checked.paymentKey,
        lockGroup: decision.checked.lockGroup ?? decision.checked.paymentKey,
        leaseMs,
        expiresAtSeconds: decision.checked.expiresAtSeconds,
        nowMs: deps.nowMs(),
        pending: { ...entry },
        watch,
        // One metered stream per payer: together, streams in flight never deliver more than one authorization settles.
        exclusive: streamSeconds > 0,
      }),
    verify: shortcut?.skipVerify ? undefined : () => verifyWithFailover(view, candidates, facilitatorRequest, deps.nowMs),
    ...(shortcut ? { askOriginEarly: () => origin.start() } : {}),
    ctx,
    nowMs: deps.nowMs,
  }).catch((error: unknown) => {
    origin.discard();
    identified?.abandon();
    shortcut?.release();
    throw error;
  });
  if (outcome.kind !== "accepted") {
    origin.discard();
    if (outcome.kind === "refused") payerStanding.refused(standing, proven);
    identified?.abandon();
    shortcut?.release();
    const reason = outcome.kind === "held" ? PAYMENT_ALREADY_USED : outcome.kind === "busy" ? PAYER_STREAM_IN_PROGRESS : (outcome.verified.response.invalidReason ?? "invalid_payload");
    return paymentRequiredResponse(challenge(reason));
  }
  const { lock, verified: verifiedBy, verifyMs } = outcome;
  const timer = startTimer(deps.nowMs);

  const ledger = new LedgerWriter(lock, entry, deps.nowMs, (recorded) => (log.payment = recorded));
  if (verifiedBy) {
    const { response, entry: by } = verifiedBy;
    ledger.verified({ payer: response.payer ?? decision.checked.payer, facilitator: by.facilitator.url, facilitatorId: by.facilitator.id, verifyMs });
  }
  const terms = rule.offerReceipt;
  // The payer's proof for a dispute; the ledger keeps its hash.
  const signed = async (settled: SettleResponse): Promise<SettleResponse> => {
    if (!terms) return settled;
    try {
      const receipted = await withSignedReceipt(settled, terms, resourceUrl, rule.id, config, deps.nowMs());
      if (receipted.receiptHash) ledger.receipt(receipted.receiptHash);
      return receipted.settled;
    } catch (error) {
      // The money moved: a receipt that cannot be signed must not turn a settled payment into a failed one.
      console.error(JSON.stringify({ event: "receipt_sign_failed", rule: rule.id, message: String(error) }));
      return settled;
    }
  };
  const paid: PaidRequest = {
    lock,
    ledger,
    timer,
    verifyMs,
    verifySkipped: !verifiedBy,
    totalMs: () => deps.nowMs() - startedAtMs,
    settle: async (amount) => {
      // upto: the facilitator settles what `paymentRequirements.amount` says; nothing used, nothing sent on chain.
      if (amount === "0") return signed({ success: true, transaction: "", network: requirements.network, payer: entry.payer, amount: "0" });
      const settleRequest: FacilitatorRequest =
        amount === undefined || facilitatorRequest.x402Version === 1 ? facilitatorRequest : { ...facilitatorRequest, paymentRequirements: { ...facilitatorRequest.paymentRequirements, amount } };
      const settleStartedAtMs = deps.nowMs();
      const expected = { ...authorization, amount: amount ?? requirements.amount, payer: entry.payer };
      // An unknown outcome is asked of the chain, and a settle that did not land resubmitted elsewhere (issue #34).
      const settled = await settleExactlyOnce({
        view,
        verifier: verifiedBy?.entry,
        candidates,
        request: settleRequest,
        nowMs: deps.nowMs,
        onAttempt: (attempted) => ledger.settledBy(attempted.facilitator.id),
        ...(rpc && chainNonce ? { chain: { rpc, authorization: { ...expected, ...chainNonce }, validBeforeSeconds: decision.checked.expiresAtSeconds, network: requirements.network } } : {}),
      });
      let response = decision.v1 ? fromV1SettleResponse(settled.response) : settled.response;
      // Broadcast but not yet confirmed: the chain says what became of it, within the settle phase's budget (#34).
      response = await confirmPendingSettle(response, {
        rpc,
        expected,
        deadlineMs: settleStartedAtMs + Math.max(...candidates.map((c) => c.facilitator.settleTimeoutMs)),
        nowMs: deps.nowMs,
      });
      // A delegated rail's transaction is the payment's identity: one already settled for another payload moved no
      // new money (security review F10).
      if (response.success && decision.plugin.delegated && response.transaction && !(await recordSettledTransaction(env.PAYMENT_RECORDS, requirements.network, response.transaction, deps.nowMs()))) {
        response = { ...response, success: false, errorReason: PAYMENT_ALREADY_USED };
      }
      // Standing is earned only by money that moved (security review F3).
      if (!response.success) payerStanding.refused(standing, proven);
      else payerStanding.settled(standing, deps.nowMs());
      return signed(response);
    },
    origin,
    meter,
    waitUntil: (promise) => ctx.waitUntil(promise),
    nowMs: deps.nowMs,
    challenge,
    identified,
    watched: watch !== undefined,
    afterSettle: async (settled, served) => ({
      // V1 clients read their receipt from X-PAYMENT-RESPONSE, with the network under its V1 name.
      ...(decision.v1 ? { [X_PAYMENT_RESPONSE]: encodePaymentResponseHeader(toV1SettleResponse(settled)) } : {}),
      ...(session && served ? await grantSession(session, { network: requirements.network, address: entry.payer }, decision.checked.paymentKey, deps.nowMs()) : {}),
    }),
  };
  const answer = settlement === "before-origin" ? settleThenForward(paid) : forwardThenSettle(paid);
  // The payer's shortcut slot is free again once this payment's outcome is known.
  return shortcut ? answer.finally(() => shortcut.release()) : answer;
}

/** A paid answer of known size up to this is read whole before it is settled or returned. */
const PAID_BODY_READ_WHOLE_BYTES = 256 * 1024;

function forward(request: Request, config: GatewayConfig, ruleOrigin: string | undefined, deps: GatewayDeps, paid = false): Promise<Response> {
  return forwardToOrigin({
    inbound: request,
    originUrl: ruleOrigin ?? config.ORIGIN_URL,
    fetch: deps.fetch,
    timeoutMs: config.ORIGIN_TIMEOUT_MS,
    ...(paid ? { readWholeUpToBytes: PAID_BODY_READ_WHOLE_BYTES } : {}),
  });
}

async function bufferBody(request: Request, maxBytes: number): Promise<Request> {
  const body = await readBodyUpTo(request.body, maxBytes);
  if (body === null) throw new GatewayFailure({ kind: "body_too_large", limitBytes: maxBytes });
  return new Request(request, { body });
}

