// A settle the facilitator broadcast but did not see confirmed: `@x402/evm` answers it with `success: false,
// errorReason: "settlement_pending"` and the transaction's hash (issue #34). That is neither a payment nor a refusal,
// so with an RPC for the network the gateway reads the transaction's receipt, within what is left of the settle
// budget: mined with the transfer to the payee → settled; reverted → nothing moved yet, but the signed authorization
// is now public in the transaction's calldata and anyone may land it until it expires, so it is held like one not
// mined in time: "unknown" in settlement-outcome.ts, the lock kept.
import { getTransactionReceipt, type EvmRpc, type TransactionReceipt } from "../schemes/evm/evm-rpc.js";
import type { SettleResponse } from "../x402/schemas.js";

export const SETTLEMENT_PENDING = "settlement_pending";
/** The facilitator named a transaction, it was mined, and it failed: the authorization was not used, yet. */
export const SETTLEMENT_REVERTED = "settlement_reverted";
/** ERC-20 `Transfer(address indexed from, address indexed to, uint256 value)`. */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
/** Base mines a block every 2 s: four looks per block. */
const POLL_INTERVAL_MS = 500;
const TRANSACTION_HASH = /^0x[0-9a-fA-F]{64}$/;

/** What the money must have done: `amount` of `asset` from `payer` to `payTo`. */
export interface ExpectedTransfer {
  asset: string;
  payTo: string;
  amount: string;
  payer: string;
}

export interface PendingOptions {
  rpc: EvmRpc | undefined;
  expected: ExpectedTransfer;
  /** When the settle phase's budget ends (ms since the epoch). */
  deadlineMs: number;
  nowMs(): number;
}

/** `response` as the chain settles it; unchanged unless it is a pending EVM settle and an RPC can tell more. */
export async function confirmPendingSettle(response: SettleResponse, options: PendingOptions): Promise<SettleResponse> {
  if (response.success || response.errorReason !== SETTLEMENT_PENDING || !options.rpc || !TRANSACTION_HASH.test(response.transaction))
    return response;
  const { rpc } = options;
  for (;;) {
    const leftMs = options.deadlineMs - options.nowMs();
    if (leftMs <= 0) return response;
    let receipt: TransactionReceipt = null;
    try {
      receipt = await getTransactionReceipt({ url: rpc.url, timeoutMs: Math.min(rpc.timeoutMs, leftMs) }, response.transaction);
    } catch {
      // An RPC hiccup is not an answer: look again while the budget lasts.
    }
    if (receipt) return fromReceipt(response, receipt, options.expected);
    if (options.nowMs() + POLL_INTERVAL_MS >= options.deadlineMs) return response;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function fromReceipt(response: SettleResponse, receipt: NonNullable<TransactionReceipt>, expected: ExpectedTransfer): SettleResponse {
  const { errorReason: _pending, errorMessage: _message, ...rest } = response;
  if (BigInt(receipt.status) !== 1n) return { ...rest, success: false, errorReason: SETTLEMENT_REVERTED };
  // Mined and successful is not enough: the transaction must be the one that paid this payee this amount.
  if (!receipt.logs.some((log) => paysExpectedTransfer(log, expected))) return response;
  return { ...rest, success: true, payer: response.payer ?? expected.payer };
}

/** The log is the ERC-20 `Transfer` of exactly `amount` of `asset` from the payer to `payTo`. */
export function paysExpectedTransfer(log: { address: string; topics: string[]; data: string }, expected: ExpectedTransfer): boolean {
  const [topic, from, to] = log.topics;
  return (
    log.address.toLowerCase() === expected.asset.toLowerCase() &&
    topic?.toLowerCase() === TRANSFER_TOPIC &&
    from !== undefined &&
    to !== undefined &&
    sameAddress(from, expected.payer) &&
    sameAddress(to, expected.payTo) &&
    log.data !== "0x" &&
    BigInt(log.data) === BigInt(expected.amount)
  );
}

/** A 32-byte log topic holding an address. */
export function addressTopic(address: string): string {
  return `0x${address.slice(2).toLowerCase().padStart(64, "0")}`;
}

/** A 32-byte topic holding an address, against an address. */
function sameAddress(topic: string, address: string): boolean {
  return topic.length === 66 && `0x${topic.slice(26)}`.toLowerCase() === address.toLowerCase();
}
