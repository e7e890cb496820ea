// Exactly-once settlement for `exact` on EVM, EIP-3009 or Permit2 (issue #34): a settle whose outcome is unknown (a
// timeout, a lost connection, a 5xx) is asked of the chain, within the settle phase's budget, instead of being left
// "unknown". The payment's nonce is spent at most once on chain, so: landed → settled with its transaction; cancelled →
// nothing moved; not landed → resubmitted through another facilitator that serves the kind (at most one of the two
// can land), and the chain asked again. Other schemes are left to the settle rule: an `upto` permit names one
// facilitator, and a Solana transaction's fee payer (its signature) is the facilitator's.
import type { SettleResponse } from "../x402/schemas.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import { ChainUnfound, type ChainOutcome } from "./chain-settlement.js";
import { readPaymentOutcome, type OnChainPayment } from "./payment-on-chain.js";
import { isNotSubmitted, settleWithFailover, type Attempted } from "./facilitator-pool.js";
import type { FacilitatorView, ViewEntry } from "./facilitator-view.js";
import type { EvmRpc } from "../schemes/evm/evm-rpc.js";

/** Between looks at the chain: Base mines every 2 s. */
const LOOK_INTERVAL_MS = 500;
/** Looks in a request that find a spent nonce without its transaction before it is left to the reconciler. */
const UNFOUND_LOOKS = 3;
/** The official facilitator refuses an authorization expiring sooner than this (payment-window.ts). */
const FACILITATOR_MARGIN_SECONDS = 6;

export interface ExactlyOnceSettle {
  view: FacilitatorView;
  verifier: ViewEntry | undefined;
  candidates: readonly ViewEntry[];
  request: FacilitatorRequest;
  nowMs(): number;
  onAttempt(entry: ViewEntry): void;
  /** Set when the chain can be asked: an RPC for the network and an `exact` payment (EIP-3009 or Permit2). */
  chain?: { rpc: EvmRpc; authorization: OnChainPayment; validBeforeSeconds: number; network: string };
}

export async function settleExactlyOnce(o: ExactlyOnceSettle): Promise<Attempted<SettleResponse>> {
  const endsAtMs = o.nowMs() + Math.max(0, ...o.candidates.map((c) => c.facilitator.settleTimeoutMs));
  const asked: ViewEntry[] = [];
  const onAttempt = (entry: ViewEntry) => {
    asked.push(entry);
    o.onAttempt(entry);
  };
  try {
    return await settleWithFailover(o.view, o.verifier, o.candidates, o.request, o.nowMs, onAttempt, endsAtMs);
  } catch (error) {
    if (isNotSubmitted(error) || !o.chain) throw error;
    return await resolveFromChain(o, o.chain, { endsAtMs, asked, onAttempt, error });
  }
}

async function resolveFromChain(
  o: ExactlyOnceSettle,
  chain: NonNullable<ExactlyOnceSettle["chain"]>,
  state: { endsAtMs: number; asked: ViewEntry[]; onAttempt(entry: ViewEntry): void; error: unknown },
): Promise<Attempted<SettleResponse>> {
  const last = () => state.asked.at(-1) ?? o.candidates[0]!;
  const answer = (response: Omit<SettleResponse, "network">): Attempted<SettleResponse> => ({
    entry: last(),
    response: { ...response, network: chain.network },
  });
  let resubmitted = false;
  let unfound = 0;
  while (o.nowMs() < state.endsAtMs) {
    let read: ChainOutcome | undefined;
    try {
      // Every call of a look ends by the budget's end, however many a look makes.
      read = await readPaymentOutcome({ ...chain.rpc, deadlineAtMs: Date.now() + (state.endsAtMs - o.nowMs()) }, chain.authorization);
    } catch (error) {
      // Spent, its transaction not found: most often a log index a moment behind the state, so looked at twice more;
      // after that the reconciler takes it. Otherwise the RPC is down or slow: look again while the budget lasts.
      if (error instanceof ChainUnfound && ++unfound >= UNFOUND_LOOKS) break;
    }
    // Spent by a transaction that paid someone else: nothing this request can change; the reconciler records it.
    if (read?.kind === "used_elsewhere") break;
    if (read?.kind === "settled") return answer({ success: true, transaction: read.transaction, payer: chain.authorization.payer });
    if (read?.kind === "canceled") return answer({ success: false, errorReason: "authorization_canceled", transaction: "" });
    const stillValid = chain.validBeforeSeconds > Math.floor(o.nowMs() / 1000) + FACILITATOR_MARGIN_SECONDS;
    const others = o.candidates.filter((c) => !state.asked.includes(c));
    if (read?.kind === "unused" && !resubmitted && stillValid && others.length > 0) {
      // Resubmitted once. A refusal from it is not a verdict: "unused" may only mean the first settle is still in a
      // mempool, or the RPC node is behind, and the first may yet land. So it stays unknown, the lock held, unless
      // the chain later shows the transfer (or a cancellation).
      resubmitted = true;
      try {
        const answer = await settleWithFailover(o.view, undefined, others, o.request, o.nowMs, state.onAttempt, state.endsAtMs);
        if (answer.response.success) return answer;
        continue;
      } catch {
        // Not submitted, or unknown again: the chain is asked again below.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(LOOK_INTERVAL_MS, state.endsAtMs - o.nowMs()))));
  }
  throw state.error;
}
