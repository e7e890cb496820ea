// The reconciler's question to the chain (issue #34): what became of a payment whose settle outcome is unknown, or
// whose request died holding its lock? An `exact` payment's nonce (EIP-3009 or Permit2) is spent at most once, and
// not after its expiry. The verdict is read from the contract's own state as of one block (`authorizationState` or
// Permit2's `nonceBitmap`, an `eth_call` pinned to the newest block's number), never from a log search alone: a log
// index that lags says nothing. Spent → the transaction that spent it: with the transfer to the payee → settled; a
// cancellation or a use elsewhere → nothing moved to the payee. Unspent as of a block past the expiry → nothing can
// move any more. Spent but its transaction not found yet, or unspent while still valid, is no verdict: looked at
// again (reconciler.ts).
import { LOOKBACK_BLOCKS, type ChainOutcome } from "../facilitator/chain-settlement.js";
import { PERMIT2_LOOK_MAX_CALLS } from "../facilitator/permit2-settlement.js";
import { paymentNonceSpent, readPaymentOutcome, unusableFrom, type OnChainPayment } from "../facilitator/payment-on-chain.js";
import type { IdentifierRef } from "../idempotency/identified-payment.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { latestBlock, type EvmRpc } from "../schemes/evm/evm-rpc.js";

/** What a lock keeps to ask the chain about its payment. */
export type ChainWatch = OnChainPayment & {
  network: string;
  validBeforeSeconds: number;
  /** The payment's payment-identifier record, where an answer withheld for an unknown settle waits for the verdict. */
  identifier?: IdentifierRef | undefined;
};

/** How a payment's outcome was read from the chain: the ledger's `resolution`. */
export type Resolution = "chain_transfer" | "chain_canceled" | "chain_used_elsewhere" | "chain_expired_unused";

/**
 * The blocks a spent nonce's spend lies in, as far as the looks know, kept so later looks search the same ones
 * (newer like transfers never push it out): up to where it was first seen spent, from `fromBlock` when that surely
 * holds it (undefined: a lookback that proves nothing).
 */
export interface SpendRange {
  spentBlock: bigint;
  fromBlock: bigint | undefined;
}

export type Verdict =
  | { kind: "settled"; transaction: string; range?: SpendRange }
  | { kind: "not_settled"; resolution: Exclude<Resolution, "chain_transfer">; range?: SpendRange }
  /** Unused through `searchedToBlock`, and still valid there. */
  | { kind: "open"; searchedToBlock: bigint }
  /** Spent, its transaction not found (or the RPC failed after that): no verdict. */
  | { kind: "unfound"; range: SpendRange; reason: string };

/** What earlier looks at a lock learnt. */
export interface LookState {
  /** The last block it was seen unspent at, less a margin; or the lookback of a first look that surely held the spend. */
  fromBlock: bigint | undefined;
  /** The first block it was seen spent at. */
  spentBlock: bigint | undefined;
  /** Looks without a verdict so far (which page of a Permit2 payer's transfers this look reads). */
  misses: number;
  /**
   * The lock's first look, at a settle left unknown seconds ago: the LOOKBACK_BLOCKS before surely hold its spend. Not
   * for a dead request's claim (its settle may be a long lease old) nor after failed looks (the RPC was down a while).
   */
  firstLook: boolean;
}

const FIRST_LOOK: LookState = { fromBlock: undefined, spentBlock: undefined, misses: 0, firstLook: true };

/** Blocks searched again below the last one seen: a reorganisation may move a transaction a block or two. */
const REORG_MARGIN_BLOCKS = 2n;
/** Blocks searched past where the spend was first seen: a reorganisation may have moved it later. */
const REORG_SLACK_BLOCKS = 64n;

/**
 * Reads the nonce's state at the newest block every time (a reorganisation may undo a spend: open again), then for a
 * spent one searches its SpendRange. Throws when the RPC fails before the nonce's state is known.
 */
export async function lookAtChain(rpc: EvmRpc, watch: ChainWatch, state: LookState = FIRST_LOOK): Promise<Verdict> {
  const latest = await latestBlock(rpc);
  if (!(await paymentNonceSpent(rpc, watch, latest.number))) {
    if (unusableFrom(watch, watch.validBeforeSeconds, latest.timestamp)) return { kind: "not_settled", resolution: "chain_expired_unused" };
    return { kind: "open", searchedToBlock: latest.number };
  }
  const spentBlock = state.spentBlock ?? latest.number;
  const anchored = state.fromBlock !== undefined || state.firstLook;
  const lookback = spentBlock > LOOKBACK_BLOCKS ? spentBlock - LOOKBACK_BLOCKS : 0n;
  const from = state.fromBlock === undefined ? lookback : state.fromBlock < spentBlock ? state.fromBlock : spentBlock;
  const range: SpendRange = { spentBlock, fromBlock: anchored ? from : undefined };
  const toBlock = spentBlock + REORG_SLACK_BLOCKS < latest.number ? spentBlock + REORG_SLACK_BLOCKS : latest.number;
  let outcome: ChainOutcome;
  try {
    outcome = await readPaymentOutcome(rpc, watch, { fromBlock: from, toBlock, knownSpent: true, page: state.misses, anchored });
  } catch (error) {
    // Whatever failed, the nonce is spent: the blocks found so far are kept for the next look.
    return { kind: "unfound", range, reason: String(error).slice(0, 200) };
  }
  if (outcome.kind === "settled") return { kind: "settled", transaction: outcome.transaction, range };
  if (outcome.kind === "canceled") return { kind: "not_settled", resolution: "chain_canceled", range };
  if (outcome.kind === "used_elsewhere") return { kind: "not_settled", resolution: "chain_used_elsewhere", range };
  return { kind: "unfound", range, reason: "spent, read as unused" };
}

/** A look's RPC calls at most (EIP-3009: the newest block, the state, the log search, the receipt; Permit2: see there). */
export function lookMaxCalls(watch: ChainWatch): number {
  return watch.method === "permit2" ? PERMIT2_LOOK_MAX_CALLS : 4;
}

/** Where the next look starts. */
export function nextFromBlock(searchedToBlock: bigint): bigint {
  return searchedToBlock > REORG_MARGIN_BLOCKS ? searchedToBlock - REORG_MARGIN_BLOCKS : 0n;
}

/**
 * The payment's ledger row once the chain has spoken. Settled: a request that died holding its lock most likely died
 * after its answer left (the runtime cuts `waitUntil` work, where the outcome is written), so it is `settled`; a
 * settle whose outcome was unknown withheld its answer: `settled` when that answer is kept for the payer's retry
 * (`answerKept`, payment-identifier), else the payer paid for nothing and is owed a refund.
 */
export function resolvedEntry(
  entry: LedgerEntry,
  verdict: Exclude<Verdict, { kind: "open" | "unfound" }>,
  nowMs: number,
  answerKept: boolean,
): LedgerEntry {
  const at = new Date(nowMs).toISOString();
  if (verdict.kind === "settled") {
    const status = entry.status === "verified" || answerKept ? "settled" : "owed_refund";
    return { ...entry, status, transactionHash: verdict.transaction, resolution: "chain_transfer", resolvedAt: at, at };
  }
  return {
    ...entry,
    status: "settle_failed",
    errorReason: entry.errorReason ?? verdict.resolution,
    resolution: verdict.resolution,
    resolvedAt: at,
    at,
  };
}
