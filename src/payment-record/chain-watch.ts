// The reconciler's question to the chain (issue #34): what became of a payment whose settle outcome is unknown, or
// whose request died holding its lock? An EIP-3009 authorization's nonce is spent at most once, and not after its
// `validBefore`: the transfer to the payee in the transaction that spent it → settled; spent by a cancellation or a
// transfer elsewhere → nothing moved to the payee; unspent through a block at or past `validBefore` → nothing can
// move any more. Anything else is still open, and looked at again (payment-record.ts).
import { LOOKBACK_BLOCKS, readEip3009Outcome, type Eip3009Authorization } from "../facilitator/chain-settlement.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { latestBlock, type EvmRpc } from "../schemes/evm/evm-rpc.js";

/** What a lock keeps to ask the chain about its payment. */
export interface ChainWatch extends Eip3009Authorization {
  network: string;
  validBeforeSeconds: number;
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
 * `fromBlock`: where the last look left off (undefined: the last LOOKBACK_BLOCKS). Reads the newest block first and
 * searches up to it, so "unused and past `validBefore`" is read from one block. Throws when the RPC fails.
 */
export async function lookAtChain(rpc: EvmRpc, watch: ChainWatch, fromBlock: bigint | undefined): Promise<Verdict> {
  const latest = await latestBlock(rpc);
  const from = fromBlock ?? (latest.number > LOOKBACK_BLOCKS ? latest.number - LOOKBACK_BLOCKS : 0n);
  const outcome = await readEip3009Outcome(rpc, watch, { fromBlock: from < latest.number ? from : latest.number, toBlock: latest.number });
  if (outcome.kind === "settled") return { kind: "settled", transaction: outcome.transaction };
  if (outcome.kind === "canceled") return { kind: "not_settled", resolution: "chain_canceled" };
  if (outcome.kind === "used_elsewhere") return { kind: "not_settled", resolution: "chain_used_elsewhere" };
  // EIP-3009 needs `block.timestamp < validBefore`, and block times only grow: no later block can use it.
  if (latest.timestamp >= BigInt(watch.validBeforeSeconds)) return { kind: "not_settled", resolution: "chain_expired_unused" };
  return { kind: "open", searchedToBlock: latest.number };
}

/** Where the next look starts. */
export function nextFromBlock(searchedToBlock: bigint): bigint {
  return searchedToBlock > REORG_MARGIN_BLOCKS ? searchedToBlock - REORG_MARGIN_BLOCKS : 0n;
}

/**
 * The payment's ledger row once the chain has spoken. Settled: a request that died holding its lock most likely died
 * after its answer left (the runtime cuts `waitUntil` work, where the outcome is written), so it is `settled`; a
 * settle whose outcome was unknown withheld its answer, so the payer paid for nothing and is owed a refund.
 */
export function resolvedEntry(entry: LedgerEntry, verdict: Exclude<Verdict, { kind: "open" }>, nowMs: number): LedgerEntry {
  const at = new Date(nowMs).toISOString();
  if (verdict.kind === "settled") {
    const status = entry.status === "verified" ? "settled" : "owed_refund";
    return { ...entry, status, transactionHash: verdict.transaction, resolution: "chain_transfer", resolvedAt: at, at };
  }
  return { ...entry, status: "settle_failed", errorReason: entry.errorReason ?? verdict.resolution, resolution: verdict.resolution, resolvedAt: at, at };
}
