// The reconciler's question to the chain (issue #34): what became of a payment whose settle outcome is unknown, or
// whose request died holding its lock? An EIP-3009 authorization's nonce is spent at most once, and not after its
// `validBefore`. The verdict is read from the token's own state as of one block (`authorizationState`, an `eth_call`
// pinned to the newest block's number), never from a log search alone: a log index that lags says nothing. Spent →
// the log names the transaction: with the transfer to the payee → settled; a cancellation or a transfer elsewhere →
// nothing moved to the payee. Unspent as of a block at or past `validBefore` → nothing can move any more. Spent but
// its log not found yet, or unspent while still valid, is no verdict: looked at again (reconciler.ts).
import { authorizationSpent, LOOKBACK_BLOCKS, readEip3009Outcome, type Eip3009Authorization } from "../facilitator/chain-settlement.js";
import type { IdentifierRef } from "../idempotency/identified-payment.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { EvmRpcError, latestBlock, type EvmRpc } from "../schemes/evm/evm-rpc.js";

/** What a lock keeps to ask the chain about its payment. */
export interface ChainWatch extends Eip3009Authorization {
  network: string;
  validBeforeSeconds: number;
  /** The payment's payment-identifier record, where an answer withheld for an unknown settle waits for the verdict. */
  identifier?: IdentifierRef | undefined;
}

/** How a payment's outcome was read from the chain: the ledger's `resolution`. */
export type Resolution = "chain_transfer" | "chain_canceled" | "chain_used_elsewhere" | "chain_expired_unused";

export type Verdict =
  | { kind: "settled"; transaction: string }
  | { kind: "not_settled"; resolution: Exclude<Resolution, "chain_transfer"> }
  /** Unused through `searchedToBlock`, and still valid there. */
  | { kind: "open"; searchedToBlock: bigint };

/** Blocks searched again below the last one seen: a reorganisation may move a transaction a block or two. */
const REORG_MARGIN_BLOCKS = 2n;

/**
 * `fromBlock`: where a spent nonce's log is searched from (the last block it was seen unspent, less a margin;
 * undefined: the last LOOKBACK_BLOCKS). Throws when the RPC fails or has not caught up, which is no verdict.
 */
export async function lookAtChain(rpc: EvmRpc, watch: ChainWatch, fromBlock: bigint | undefined): Promise<Verdict> {
  const latest = await latestBlock(rpc);
  if (!(await authorizationSpent(rpc, watch, latest.number))) {
    // EIP-3009 needs `block.timestamp < validBefore`, and block times only grow: no later block can use it.
    if (latest.timestamp >= BigInt(watch.validBeforeSeconds)) return { kind: "not_settled", resolution: "chain_expired_unused" };
    return { kind: "open", searchedToBlock: latest.number };
  }
  const from = fromBlock ?? (latest.number > LOOKBACK_BLOCKS ? latest.number - LOOKBACK_BLOCKS : 0n);
  const outcome = await readEip3009Outcome(rpc, watch, { fromBlock: from < latest.number ? from : latest.number, toBlock: latest.number });
  if (outcome.kind === "settled") return { kind: "settled", transaction: outcome.transaction };
  if (outcome.kind === "canceled") return { kind: "not_settled", resolution: "chain_canceled" };
  if (outcome.kind === "used_elsewhere") return { kind: "not_settled", resolution: "chain_used_elsewhere" };
  throw new EvmRpcError("unavailable", `nonce spent by block ${latest.number}, its log not found from block ${from}`);
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
export function resolvedEntry(entry: LedgerEntry, verdict: Exclude<Verdict, { kind: "open" }>, nowMs: number, answerKept: boolean): LedgerEntry {
  const at = new Date(nowMs).toISOString();
  if (verdict.kind === "settled") {
    const status = entry.status === "verified" || answerKept ? "settled" : "owed_refund";
    return { ...entry, status, transactionHash: verdict.transaction, resolution: "chain_transfer", resolvedAt: at, at };
  }
  return { ...entry, status: "settle_failed", errorReason: entry.errorReason ?? verdict.resolution, resolution: verdict.resolution, resolvedAt: at, at };
}
