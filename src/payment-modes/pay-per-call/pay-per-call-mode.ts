// Pay per call: one payment buys one answer. Its steps, after the orchestrator admitted the payment:
//   1. claim: a payment-identifier retry is answered from what was kept; else the payment's lock is taken in its
//      PaymentRecord (the replay lock and the ledger outbox, with the `verified` row), before any facilitator call;
//   2. verify: asked of the facilitators in order, unless the payer's standing leaves it out (payer-standing.ts);
//      the origin may be asked alongside (origin-call.ts);
//   3. forward and settle, in the rule's order (settlement-order.ts): after the origin answered < 400 by default,
//      before it for payments that may expire meanwhile;
//   4. answer: the origin's, with the receipt, only once the payment settled.
import { verifyWithFailover } from "../../facilitator/facilitator-pool.js";
import { confirmPendingSettle } from "../../facilitator/pending-settlement.js";
import { settleExactlyOnce } from "../../facilitator/resolve-settle.js";
import type { ViewEntry } from "../../facilitator/facilitator-view.js";
import { beginIdentifiedPayment, type BeginOutcome, type IdentifiedPayment } from "../../idempotency/identified-payment.js";
import type { LedgerEntry } from "../../ledger/ledger.js";
import { buildLedgerEntry } from "../../ledger/ledger-entry.js";
import { withSignedReceipt } from "../../offer-receipt/attach-offer-receipt.js";
import { claimPayment, recordSettledTransaction } from "../../payment-record/claim-payment.js";
import type { ChainWatch } from "../../payment-record/chain-watch.js";
import type { ChainNonce } from "../../schemes/scheme-plugin.js";
import { FORGET_AFTER_MAX_MS } from "../../payment-record/lock-lifetime.js";
import { LedgerWriter, startTimer } from "../../pipeline/payment-tracking.js";
import { rpcFor } from "../../schemes/chain-rpc.js";
import { paymentRequiredResponse } from "../../errors.js";
import { encodePaymentResponseHeader, PAYMENT_RESPONSE, X_PAYMENT_RESPONSE } from "../../x402/headers.js";
import type { FacilitatorRequest } from "../../x402/facilitator-request.js";
import type { SettleResponse } from "../../x402/schemas.js";
import { fromV1SettleResponse, toV1SettleResponse } from "../../x402/v1.js";
import type { AdmittedPayment } from "../payment-mode.js";
import { grantSession } from "../session/session-mode.js";
import { claimAndVerify, type ClaimAndVerifyOutcome } from "./claim-and-verify.js";
import { OriginCall } from "./origin-call.js";
import { payerKey, payerStanding, takeShortcut } from "./payer-standing.js";
import { forwardThenSettle, paidMeterFor, settleThenForward, type PaidRequest } from "./settlement-order.js";

/** The 402 reason for a payment another request already holds or has spent. */
const PAYMENT_ALREADY_USED = "payment_already_used";
/** The 402 reason for a metered stream while the same payer has another in flight. */
const PAYER_STREAM_IN_PROGRESS = "payer_stream_in_progress";
/** An answer awaiting its settle's outcome waits past the lock's last look (reconciler.ts: 10 min after expiry). */
const AWAIT_OUTCOME_MARGIN_MS = 15 * 60_000;

export async function payPerCall(admitted: AdmittedPayment): Promise<Response> {
  const { call, decision, candidates, challenge } = admitted;
  const { rule, deps, ctx } = call;
  const { checked, requirements } = decision;

  // 1. Claim: a retry with the same payment-identifier is answered from what was kept.
  const begun = await beginIdentified(admitted);
  if (begun.kind === "respond") {
    if (begun.response.status !== 402) call.log.outcome = "retry_replayed";
    return begun.response;
  }
  const { identified } = begun;

  const meter = paidMeterFor(rule, requirements, decision.plugin);
  // Verify's first choice, and settle's when verify is left out.
  const preferred = candidates[0]!;
  const entry = pendingEntry(admitted, preferred, meter !== undefined);
  const origin = new OriginCall(admitted.forward, deps.nowMs);
  const chain = chainOf(admitted);
  const watch = chainWatch(admitted, chain, entry.payer, identified);
  const standing = payerKey(requirements.network, checked.payer);
  const proven = checked.signatureProven === true;
  const settlement = settlementOrder(admitted);
  // A metered stream takes no shortcut: it waits for its claim, so a payer's second stream is refused before the
  // origin is asked.
  const shortcut =
    admitted.streamSeconds === 0
      ? takeShortcut(
          { forwardDuringVerify: rule.forwardDuringVerify, verifyEveryPayment: rule.verifyEveryPayment, settlement },
          { method: admitted.request.method, payer: standing, metered: meter !== undefined, nowMs: deps.nowMs() },
          checked,
          admitted.view.unfailing(preferred),
        )
      : undefined;

  // 1–2. Claim the lock, then verify (or not), the origin perhaps asked alongside.
  const outcome = await claimAndVerify({
    paymentKey: checked.paymentKey,
    claim: () =>
      claimPayment({
        locks: call.env.PAYMENT_RECORDS,
        paymentKey: checked.paymentKey,
        lockGroup: checked.lockGroup ?? checked.paymentKey,
        leaseMs: admitted.leaseMs,
        expiresAtSeconds: checked.expiresAtSeconds,
        nowMs: deps.nowMs(),
        pending: { ...entry },
        watch,
        // One metered stream per payer: together, streams in flight never deliver more than one authorization settles.
        exclusive: admitted.streamSeconds > 0,
      }),
    verify: shortcut?.skipVerify ? undefined : () => verifyWithFailover(admitted.view, candidates, admitted.facilitatorRequest, deps.nowMs),
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
    return paymentRequiredResponse(challenge(refusalReason(outcome)));
  }
  const { lock, verified: verifiedBy, verifyMs } = outcome;
  const timer = startTimer(deps.nowMs);
  const ledger = new LedgerWriter(lock, entry, deps.nowMs, (recorded) => (call.log.payment = recorded));
  if (verifiedBy) {
    const { response, entry: by } = verifiedBy;
    ledger.verified({
      payer: response.payer ?? checked.payer,
      facilitator: by.facilitator.url,
      facilitatorId: by.facilitator.id,
      verifyMs,
    });
  }

  // 3–4. Forward and settle in the rule's order; answer with the receipt.
  const paid: PaidRequest = {
    lock,
    ledger,
    timer,
    verifyMs,
    verifySkipped: !verifiedBy,
    totalMs: () => deps.nowMs() - call.log.startedAtMs,
    settle: (amount) => settle(admitted, { ledger, verifier: verifiedBy?.entry, payer: entry.payer, standing, proven, chain }, amount),
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
      ...(admitted.session && served
        ? await grantSession(admitted.session, { network: requirements.network, address: entry.payer }, checked.paymentKey, deps.nowMs())
        : {}),
    }),
  };
  const answer = settlement === "before-origin" ? settleThenForward(paid) : forwardThenSettle(paid);
  // The payer's shortcut slot is free again once this payment's outcome is known.
  return shortcut ? answer.finally(() => shortcut.release()) : answer;
}

/** A payment carrying a payment-identifier: a retry of one already answered gets that answer back (idempotency/). */
function beginIdentified({ call, decision, leaseMs, challenge }: AdmittedPayment): Promise<BeginOutcome> {
  const { config, deps, ctx } = call;
  return beginIdentifiedPayment({
    records: call.env.PAYMENT_IDENTIFIERS,
    payload: decision.payload,
    required: call.rule.paymentIdentifierRequired,
    leaseMs,
    nowMs: deps.nowMs(),
    ttlSeconds: config.PAYMENT_IDENTIFIER_TTL_SECONDS,
    maxBodyBytes: config.PAYMENT_IDENTIFIER_MAX_BODY_BYTES,
    // The reconciler stops looking at the lock's forget time (its authorization's end + 10 min, at most 30 days on).
    awaitOutcomeUntilMs: Math.min(decision.checked.expiresAtSeconds * 1000, deps.nowMs() + FORGET_AFTER_MAX_MS) + AWAIT_OUTCOME_MARGIN_MS,
    waitUntil: (promise) => ctx.waitUntil(promise),
    alreadyUsed: (receipt) => paymentRequiredResponse(challenge(PAYMENT_ALREADY_USED), receipt ? { [PAYMENT_RESPONSE]: receipt } : {}),
  });
}

/**
 * A payment that may expire during the origin's run is settled first, whatever the rule says (F4 on Solana); asked
 * now, after a slow body, not when the payment was checked.
 */
function settlementOrder({ call, decision, validityWindowSeconds }: AdmittedPayment): "before-origin" | "after-origin" {
  const { settleBeforeOrigin, settleBySeconds } = decision.checked;
  const expiresInWindow = settleBySeconds !== undefined && settleBySeconds < Math.floor(call.deps.nowMs() / 1000) + validityWindowSeconds;
  return settleBeforeOrigin || expiresInWindow ? "before-origin" : call.rule.settlement;
}

/** The 402 reason for a payment not accepted: held by another request, a payer's second stream, or verify's refusal. */
function refusalReason(outcome: Exclude<ClaimAndVerifyOutcome, { kind: "accepted" }>): string {
  if (outcome.kind === "held") return PAYMENT_ALREADY_USED;
  if (outcome.kind === "busy") return PAYER_STREAM_IN_PROGRESS;
  return outcome.verified.response.invalidReason ?? "invalid_payload";
}

/** The payment's ledger row as it is stored with the claim, before verify is asked: what a Worker that dies mid-settle leaves. */
function pendingEntry({ call, request, decision }: AdmittedPayment, preferred: ViewEntry, metered: boolean): LedgerEntry {
  const { requirements, checked } = decision;
  const party = {
    paymentKey: checked.paymentKey,
    ruleId: call.rule.id,
    method: request.method,
    resource: call.resourceUrl,
    payer: checked.payer,
    facilitator: preferred.facilitator,
  };
  return buildLedgerEntry(party, requirements, "verified", call.deps.nowMs(), metered ? { maxAmount: requirements.amount } : {});
}

/** Where the chain can be asked about this payment: its network's RPC, and the nonce its scheme names (none for V1). */
interface ChainFacts {
  rpc: ReturnType<typeof rpcFor>;
  chainNonce: ChainNonce | undefined;
}

function chainOf({ call, decision }: AdmittedPayment): ChainFacts {
  return {
    rpc: rpcFor(call.config.RPC_URLS, decision.requirements.network),
    chainNonce: decision.v1 ? undefined : decision.checked.chainNonce,
  };
}

/** What the chain can say of this payment: its settle is resolved from it, in the request and after (issue #34). */
function chainWatch(
  { decision }: AdmittedPayment,
  { rpc, chainNonce }: ChainFacts,
  payer: string,
  identified: IdentifiedPayment | undefined,
): ChainWatch | undefined {
  const { requirements, checked } = decision;
  if (!rpc || !chainNonce) return undefined;
  return {
    asset: requirements.asset,
    payTo: requirements.payTo,
    amount: requirements.amount,
    payer,
    ...chainNonce,
    network: requirements.network,
    validBeforeSeconds: checked.expiresAtSeconds,
    ...(identified ? { identifier: identified.ref } : {}),
  };
}

interface SettleParty {
  ledger: LedgerWriter;
  /** The facilitator that verified the payment, asked first; undefined when verify was left out. */
  verifier: ViewEntry | undefined;
  payer: string;
  /** The payer's standing key, and whether their signature was recovered here. */
  standing: string;
  proven: boolean;
  chain: ChainFacts;
}

/**
 * Settles the payment for `amount` (upto: what was used, at most what was verified): exactly once, the chain asked
 * when a settle's outcome is unknown. Standing is earned only by money that moved (security review F3).
 */
async function settle(admitted: AdmittedPayment, party: SettleParty, amount: string | undefined): Promise<SettleResponse> {
  const { call, decision, candidates } = admitted;
  const { requirements } = decision;
  const { deps } = call;
  // Settled by usage: the facilitator settles what `paymentRequirements.amount` says; nothing used, nothing sent on chain.
  if (amount === "0")
    return signReceipt(admitted, party.ledger, {
      success: true,
      transaction: "",
      network: requirements.network,
      payer: party.payer,
      amount: "0",
    });
  const request: FacilitatorRequest =
    amount === undefined || admitted.facilitatorRequest.x402Version === 1
      ? admitted.facilitatorRequest
      : { ...admitted.facilitatorRequest, paymentRequirements: { ...admitted.facilitatorRequest.paymentRequirements, amount } };
  const startedAtMs = deps.nowMs();
  const { rpc, chainNonce } = party.chain;
  const expected = { asset: requirements.asset, payTo: requirements.payTo, amount: amount ?? requirements.amount, payer: party.payer };
  // An unknown outcome is asked of the chain, and a settle that did not land resubmitted elsewhere (issue #34).
  const settled = await settleExactlyOnce({
    view: admitted.view,
    verifier: party.verifier,
    candidates,
    request,
    nowMs: deps.nowMs,
    onAttempt: (attempted) => party.ledger.settledBy(attempted.facilitator.id),
    ...(rpc && chainNonce
      ? {
          chain: {
            rpc,
            authorization: { ...expected, ...chainNonce },
            validBeforeSeconds: decision.checked.expiresAtSeconds,
            network: requirements.network,
          },
        }
      : {}),
  });
  let response = decision.v1 ? fromV1SettleResponse(settled.response) : settled.response;
  // Broadcast but not yet confirmed: the chain says what became of it, within the settle phase's budget (#34).
  response = await confirmPendingSettle(response, {
    rpc,
    expected,
    deadlineMs: startedAtMs + Math.max(...candidates.map((c) => c.facilitator.settleTimeoutMs)),
    nowMs: deps.nowMs,
  });
  // A delegated rail's transaction is the payment's identity: one already settled for another payload moved no
  // new money (security review F10).
  if (
    response.success &&
    decision.plugin.delegated &&
    response.transaction &&
    !(await recordSettledTransaction(call.env.PAYMENT_RECORDS, requirements.network, response.transaction, deps.nowMs()))
  ) {
    response = { ...response, success: false, errorReason: PAYMENT_ALREADY_USED };
  }
  if (!response.success) payerStanding.refused(party.standing, party.proven);
  else payerStanding.settled(party.standing, deps.nowMs());
  return signReceipt(admitted, party.ledger, response);
}

/** The payer's proof for a dispute, when the rule asks for receipts; the ledger keeps its hash. */
async function signReceipt({ call }: AdmittedPayment, ledger: LedgerWriter, settled: SettleResponse): Promise<SettleResponse> {
  const terms = call.rule.offerReceipt;
  if (!terms) return settled;
  try {
    const receipted = await withSignedReceipt(settled, terms, call.resourceUrl, call.rule.id, call.config, call.deps.nowMs());
    if (receipted.receiptHash) ledger.receipt(receipted.receiptHash);
    return receipted.settled;
  } catch (error) {
    // The money moved: a receipt that cannot be signed must not turn a settled payment into a failed one.
    console.error(JSON.stringify({ event: "receipt_sign_failed", rule: call.rule.id, message: String(error) }));
    return settled;
  }
}
