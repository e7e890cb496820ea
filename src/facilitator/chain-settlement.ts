// What the chain says became of an EIP-3009 authorization (issue #34): its nonce is spent at most once, by a
// transfer (`AuthorizationUsed`) or a cancellation (`AuthorizationCanceled`), both logged by the token. A used nonce
// is a payment only with the transfer that moved the money: `Transfer(from, payTo, value)` in the same transaction.
import { blockNumber, callAt, EvmRpcError, getLogs, getTransactionReceipt, type EvmRpc } from "../schemes/evm/evm-rpc.js";
import { addressTopic, paysExpectedTransfer, type ExpectedTransfer } from "./pending-settlement.js";

/** keccak256("AuthorizationUsed(address,bytes32)") */
const AUTHORIZATION_USED = "0x98de503528ee59b575ef0c0a2576a82497bfc029a5685b209e9ec333479b10a5";
/** The selector of EIP-3009's `authorizationState(address authorizer, bytes32 nonce) returns (bool)`. */
const AUTHORIZATION_STATE = "0xe94a0102";
/** keccak256("AuthorizationCanceled(address,bytes32)") */
const AUTHORIZATION_CANCELED = "0x1cdd46ff242716cdaa72d159d339a485b3438398348d68f09d7c8c0a59353d81";
/**
 * How far back a settle is looked for: the request asking began its settle seconds ago, and even 1 s blocks leave
 * it well inside. Node providers cap a log range near this size.
 */
export const LOOKBACK_BLOCKS = 1000n;

export interface Eip3009Authorization extends ExpectedTransfer {
  nonce: string;
}

/**
 * The nonce is spent, but the transaction that spent it was not found in the blocks searched: no verdict. A log
 * index behind the state, or (Permit2) a payer with many like transfers, or a settle sent through another contract.
 */
export class ChainUnfound extends EvmRpcError {
  constructor(message: string) {
    super("unavailable", message);
  }
}

/** The blocks a look searches for the transaction that spent a nonce, and what it already knows. */
export interface ChainSearch {
  fromBlock: bigint;
  toBlock: bigint;
  /** The nonce is known spent as of `toBlock`: not read again. */
  knownSpent?: boolean;
  /** Permit2: which page of the candidate transactions to read (the reconciler's looks go through them in turn). */
  page?: number;
  /**
   * The blocks searched surely hold the nonce's spend (they start where it was seen unspent, or the settle is seconds
   * old). Only then may a Permit2 cancellation be concluded, and only when every candidate was read: a payer may
   * invalidate a nonce after it paid, so an invalidation found beside an unread settle would release money that moved.
   */
  anchored: boolean;
}

export type ChainOutcome =
  | { kind: "settled"; transaction: string }
  | { kind: "canceled" }
  | { kind: "unused" }
  | { kind: "used_elsewhere"; transaction: string };

/**
 * Throws when the RPC gives no usable answer. `range`: the blocks to search (default: the last LOOKBACK_BLOCKS up to
 * the latest); the reconciler narrows it to the blocks since it last saw the nonce unused.
 */
export async function readEip3009Outcome(
  rpc: EvmRpc,
  authorization: Eip3009Authorization,
  range?: { fromBlock: bigint; toBlock: bigint },
): Promise<ChainOutcome> {
  const latest = range ? range.toBlock : await blockNumber(rpc);
  const logs = await getLogs(rpc, {
    address: authorization.asset,
    topics: [[AUTHORIZATION_USED, AUTHORIZATION_CANCELED], addressTopic(authorization.payer), authorization.nonce.toLowerCase()],
    fromBlock: range ? range.fromBlock : latest > LOOKBACK_BLOCKS ? latest - LOOKBACK_BLOCKS : 0n,
    toBlock: latest,
  });
  const log = logs[0];
  if (!log) return { kind: "unused" };
  if (log.topics[0]?.toLowerCase() === AUTHORIZATION_CANCELED) return { kind: "canceled" };
  // The token signs `to` and `value` into the authorization, so this holds for any honest token; checked anyway.
  return spendOutcome(rpc, log.transactionHash, authorization);
}

/**
 * What the logged transaction that spent a nonce did: the transfer to the payee, or something else. Its log was found,
 * so it is mined and succeeded: a node without its receipt yet (another behind a balancer), or with a failed one (a
 * node disagreeing with itself), said nothing.
 */
export async function spendOutcome(rpc: EvmRpc, hash: string, expected: ExpectedTransfer): Promise<ChainOutcome> {
  const receipt = await getTransactionReceipt(rpc, hash);
  if (!receipt) throw new EvmRpcError("unavailable", `no receipt yet for ${hash}`);
  if (BigInt(receipt.status) !== 1n) throw new EvmRpcError("unavailable", `${hash}: logged, yet its receipt failed`);
  if (receipt.logs.some((l) => paysExpectedTransfer(l, expected))) return { kind: "settled", transaction: hash };
  return { kind: "used_elsewhere", transaction: hash };
}

/** Whether the nonce was spent (used or cancelled) as of block `at`: the token's own state, not a log index. */
export async function authorizationSpent(rpc: EvmRpc, authorization: Eip3009Authorization, at: bigint): Promise<boolean> {
  const data = `${AUTHORIZATION_STATE}${addressTopic(authorization.payer).slice(2)}${authorization.nonce.slice(2).toLowerCase().padStart(64, "0")}`;
  return BigInt(await callAt(rpc, authorization.asset, data, at)) !== 0n;
}
