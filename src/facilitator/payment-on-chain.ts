// One question for each `exact` payment on an EVM chain (issue #34): its nonce is spent at most once, by an EIP-3009
// authorization (chain-settlement.ts) or a Permit2 witness transfer (permit2-settlement.ts). What became of it is read
// from the chain the same way for both; only where the nonce lives, and how its use is found, differ.
import { blockNumber, type EvmRpc } from "../schemes/evm/evm-rpc.js";
import {
  authorizationSpent,
  ChainUnfound,
  LOOKBACK_BLOCKS,
  readEip3009Outcome,
  type ChainOutcome,
  type ChainSearch,
  type Eip3009Authorization,
} from "./chain-settlement.js";
import { permit2NonceSpent, readPermit2Outcome, type Permit2Payment } from "./permit2-settlement.js";

/** How the payer signed it: EIP-3009 (`method` absent on locks written before Permit2 payments were watched), or Permit2. */
export type OnChainPayment = (Eip3009Authorization & { method?: "eip3009" }) | (Permit2Payment & { method: "permit2" });

/**
 * What became of the payment in the blocks searched (default: the last LOOKBACK_BLOCKS, where a settle seconds old
 * is). Throws when there is no verdict: ChainUnfound when the nonce is spent and its transaction not found.
 */
export async function readPaymentOutcome(rpc: EvmRpc, payment: OnChainPayment, search?: ChainSearch): Promise<ChainOutcome> {
  if (payment.method !== "permit2") {
    const outcome = await readEip3009Outcome(rpc, payment, search);
    // Spent as of that block by the token's own state, yet no log: the node's log index lags.
    if (outcome.kind === "unused" && search?.knownSpent)
      throw new ChainUnfound(`nonce spent by block ${search.toBlock}, its log not found from block ${search.fromBlock}`);
    return outcome;
  }
  if (search) return readPermit2Outcome(rpc, payment, search);
  const toBlock = await blockNumber(rpc);
  return readPermit2Outcome(rpc, payment, {
    fromBlock: toBlock > LOOKBACK_BLOCKS ? toBlock - LOOKBACK_BLOCKS : 0n,
    toBlock,
    anchored: true,
  });
}

/** Whether the payment's nonce was spent (used or cancelled) as of block `at`: the contract's state, not a log. */
export function paymentNonceSpent(rpc: EvmRpc, payment: OnChainPayment, at: bigint): Promise<boolean> {
  return payment.method === "permit2" ? permit2NonceSpent(rpc, payment, at) : authorizationSpent(rpc, payment, at);
}

/**
 * Whether no block from one with this timestamp on can use the payment: EIP-3009 needs `timestamp < validBefore`,
 * Permit2 `timestamp <= deadline`; block times only grow.
 */
export function unusableFrom(payment: OnChainPayment, validBeforeSeconds: number, blockTimestamp: bigint): boolean {
  return payment.method === "permit2" ? blockTimestamp > BigInt(validBeforeSeconds) : blockTimestamp >= BigInt(validBeforeSeconds);
}
