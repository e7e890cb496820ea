// Exactly-once settlement for `exact` on EIP-3009 (issue #34): a settle whose outcome is unknown (a timeout, a lost
// connection, a 5xx) is asked of the chain, within the settle phase's budget, instead of being left "unknown". The
// authorization's nonce is spent at most once on chain, so: landed → settled with its transaction; cancelled →
// nothing moved; not landed → resubmitted through another facilitator that serves the kind (at most one of the two
// can land), and the chain asked again. Other schemes are left to the settle rule: an `upto` permit names one
// facilitator, and a Solana transaction's fee payer (its signature) is the facilitator's.
import type { FacilitatorRequest, SettleResponse } from "../x402/schemas.js";
import { readEip3009Outcome, type ChainOutcome, type Eip3009Authorization } from "./chain-settlement.js";
import { isNotSubmitted, settleWithFailover, type Attempted } from "./facilitator-pool.js";
import type { FacilitatorView, ViewEntry } from "./facilitator-view.js";
import type { EvmRpc } from "../schemes/evm/evm-rpc.js";

/** Between looks at the chain: Base mines every 2 s. */
const LOOK_INTERVAL_MS = 500;
/** The official facilitator refuses an authorization expiring sooner than this (payment-window.ts). */
const FACILITATOR_MARGIN_SECONDS = 6;

export interface ExactlyOnceSettle {
  view: FacilitatorView;
  verifier: ViewEntry | undefined;
  candidates: readonly ViewEntry[];
  request: FacilitatorRequest;
  nowMs(): number;
  onAttempt(entry: ViewEntry): void;
  /** Set when the chain can be asked: an RPC for the network and an EIP-3009 `exact` payment. */
  chain?: { rpc: EvmRpc; authorization: Eip3009Authorization; validBeforeSeconds: number; network: string };
}

export async function settleExactlyOnce(o: ExactlyOnceSettle): Promise<Attempted<SettleResponse>> {
  const endsAtMs = o.nowMs() + Math.max(0, ...o.candidates.map((c) => c.facilitator.settleTimeoutMs));
  const asked: ViewEntry[] = [];
  const onAttempt = (entry: ViewEntry) => (asked.push(entry), o.onAttempt(entry));
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
  const answer = (response: Omit<SettleResponse, "network">): Attempted<SettleResponse> => ({ entry: last(), response: { ...response, network: chain.network } });
  let resubmitted = false;
  while (o.nowMs() < state.endsAtMs) {
    let read: ChainOutcome | undefined;
    try {
      read = await readEip3009Outcome({ ...chain.rpc, timeoutMs: Math.min(chain.rpc.timeoutMs, state.endsAtMs - o.nowMs()) }, chain.authorization);
    } catch {
      // The RPC is down or slow: look again while the budget lasts.
    }
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
