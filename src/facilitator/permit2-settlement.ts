// What the chain says became of a Permit2 `exact` payment (issue #34). Permit2 spends each of an owner's nonces once
// (`nonceBitmap(owner, nonce >> 8)`, bit `nonce & 0xff`), shared by every token and spender, so a set bit is not yet a
// payment: `invalidateUnorderedNonces` sets it too (logged as `UnorderedNonceInvalidation`), and so does any other
// permit the payer signed with the same nonce. Permit2 logs no use of a nonce; the one that moved this payment's money
// is found as the payer's token `Transfer` whose transaction calls x402's exact proxy with this owner and nonce.
import { decodeFunctionData, isAddressEqual, type Hex } from "viem";
import { X402_EXACT_PERMIT2_PROXY, PERMIT2_ADDRESS } from "../schemes/evm/permit2.js";
import { callAt, EvmRpcError, getLogs, getTransaction, type EvmRpc } from "../schemes/evm/evm-rpc.js";
import { addressTopic, TRANSFER_TOPIC, paysExpectedTransfer, type ExpectedTransfer } from "./pending-settlement.js";
import { ChainUnfound, spendOutcome, type ChainOutcome, type ChainSearch } from "./chain-settlement.js";

/** The selector of Permit2's `nonceBitmap(address owner, uint256 wordPos) returns (uint256)`. */
const NONCE_BITMAP = "0x4fe02b44";
/** keccak256("UnorderedNonceInvalidation(address,uint256,uint256)") */
const UNORDERED_NONCE_INVALIDATION = "0x3704902f963766a4e561bbaab6e6cdc1b1dd12f6e9e99648da8843b3f46b918d";
/**
 * The payer's transfers whose transaction is read per look: a payer with more in the blocks searched has the rest
 * read on later looks (`page`).
 */
const PERMIT2_CANDIDATES_PER_LOOK = 8;
/** A look's RPC calls at most: the newest block, the bitmap, one log search, the candidates and one receipt. */
export const PERMIT2_LOOK_MAX_CALLS = 3 + PERMIT2_CANDIDATES_PER_LOOK + 1;

export interface Permit2Payment extends ExpectedTransfer {
  /**
   * The permit's nonce (uint256, decimal, canonical). Not `nonce`: a PaymentRecord of the version before would read
   * that as an EIP-3009 nonce and find it unspent; without one it fails, and keeps the lock (a rolling deploy).
   */
  permit2Nonce: string;
}

/** Whether the payer's Permit2 nonce was spent (used or invalidated) as of block `at`: Permit2's state, not a log. */
export async function permit2NonceSpent(rpc: EvmRpc, payment: Permit2Payment, at: bigint): Promise<boolean> {
  const nonce = BigInt(payment.permit2Nonce);
  const data = `${NONCE_BITMAP}${addressTopic(payment.payer).slice(2)}${(nonce >> 8n).toString(16).padStart(64, "0")}`;
  return ((BigInt(await callAt(rpc, PERMIT2_ADDRESS, data, at)) >> (nonce & 0xffn)) & 1n) === 1n;
}

/**
 * Throws when the RPC gives no usable answer, and ChainUnfound when the nonce is spent and neither this payment's
 * settle nor a provable cancellation is found: no verdict.
 */
export async function readPermit2Outcome(rpc: EvmRpc, payment: Permit2Payment, search: ChainSearch): Promise<ChainOutcome> {
  const range = { fromBlock: search.fromBlock, toBlock: search.toBlock };
  if (!search.knownSpent && !(await permit2NonceSpent(rpc, payment, range.toBlock))) return { kind: "unused" };
  // One search, so one node's view: the payer's transfers of the token and its cancellations, side by side.
  const logs = await getLogs(rpc, {
    address: [payment.asset, PERMIT2_ADDRESS],
    topics: [[TRANSFER_TOPIC, UNORDERED_NONCE_INVALIDATION], addressTopic(payment.payer)],
    ...range,
  });
  const from = (address: string, topic: string) =>
    logs.filter((log) => isAddressEqual(log.address as Hex, address as Hex) && log.topics[0]?.toLowerCase() === topic);
  const transfers = from(payment.asset, TRANSFER_TOPIC);
  const invalidations = from(PERMIT2_ADDRESS, UNORDERED_NONCE_INVALIDATION);
  // The transfers this payment would have made first (newest first: an unknown settle is seconds old), then the rest.
  const likely = [...transfers]
    .reverse()
    .sort((a, b) => Number(paysExpectedTransfer(b, payment)) - Number(paysExpectedTransfer(a, payment)));
  const candidates = [...new Set(likely.map((log) => log.transactionHash.toLowerCase()))];
  const pages = Math.max(1, Math.ceil(candidates.length / PERMIT2_CANDIDATES_PER_LOOK));
  const first = ((search.page ?? 0) % pages) * PERMIT2_CANDIDATES_PER_LOOK;
  const explained = new Set<string>();
  for (const hash of candidates.slice(first, first + PERMIT2_CANDIDATES_PER_LOOK)) {
    const read = await settleIn(rpc, hash, payment);
    if (read === "other_nonce") explained.add(hash);
    else if (read !== "not_proxy") return read;
  }
  // A cancellation only where no settle of this payment can hide (a payer may cancel after paying): blocks that surely
  // hold the spend, and every transfer in them paying this payee this amount read above and found to be the proxy
  // settling another of the payer's nonces (one sent through another contract is not recognised).
  const unexplained = transfers.some((log) => paysExpectedTransfer(log, payment) && !explained.has(log.transactionHash.toLowerCase()));
  if (search.anchored && !unexplained && invalidations.some((log) => invalidates(log.data, BigInt(payment.permit2Nonce))))
    return { kind: "canceled" };
  throw new ChainUnfound(
    `Permit2 nonce ${payment.permit2Nonce} spent by block ${range.toBlock}, its transaction not found from block ${range.fromBlock}`,
  );
}

/**
 * What transaction `hash` is to this payment: the proxy's settle of its nonce (to the payee or elsewhere), the proxy
 * settling another of the payer's nonces, or something else.
 */
async function settleIn(rpc: EvmRpc, hash: string, payment: Permit2Payment): Promise<ChainOutcome | "other_nonce" | "not_proxy"> {
  const transaction = await getTransaction(rpc, hash);
  // Its log was found, so it is mined: a node that does not know it yet said nothing.
  if (!transaction) throw new EvmRpcError("unavailable", `${hash}: logged, yet unknown to the node`);
  if (!transaction.to || !isAddressEqual(transaction.to as Hex, X402_EXACT_PERMIT2_PROXY)) return "not_proxy";
  const settled = decodeSettle(transaction.input);
  if (!settled || !isAddressEqual(settled.owner, payment.payer as Hex)) return "not_proxy";
  if (settled.nonce !== BigInt(payment.permit2Nonce)) return "other_nonce";
  return spendOutcome(rpc, hash, payment);
}

const PERMIT = {
  type: "tuple",
  components: [
    {
      name: "permitted",
      type: "tuple",
      components: [
        { name: "token", type: "address" },
        { name: "amount", type: "uint256" },
      ],
    },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;
const WITNESS = {
  type: "tuple",
  components: [
    { name: "to", type: "address" },
    { name: "validAfter", type: "uint256" },
  ],
} as const;
const EIP2612_PERMIT = {
  type: "tuple",
  components: [
    { name: "value", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "r", type: "bytes32" },
    { name: "s", type: "bytes32" },
    { name: "v", type: "uint8" },
  ],
} as const;
/** The exact proxy's two entry points, as the official facilitator calls them. */
const EXACT_PROXY_ABI = [
  {
    type: "function",
    name: "settle",
    stateMutability: "nonpayable",
    outputs: [],
    inputs: [PERMIT, { type: "address" }, WITNESS, { type: "bytes" }],
  },
  {
    type: "function",
    name: "settleWithPermit",
    stateMutability: "nonpayable",
    outputs: [],
    inputs: [EIP2612_PERMIT, PERMIT, { type: "address" }, WITNESS, { type: "bytes" }],
  },
] as const;

function decodeSettle(input: string): { owner: Hex; nonce: bigint } | undefined {
  try {
    const call = decodeFunctionData({ abi: EXACT_PROXY_ABI, data: input as Hex });
    const [permit, owner] = call.functionName === "settle" ? call.args : [call.args[1], call.args[2]];
    return { owner, nonce: permit.nonce };
  } catch {
    return undefined;
  }
}

/** Whether an `UnorderedNonceInvalidation(owner, word, mask)` log's data covers `nonce`. */
function invalidates(data: string, nonce: bigint): boolean {
  if (data.length !== 2 + 128) return false;
  const word = BigInt(`0x${data.slice(2, 66)}`);
  const mask = BigInt(`0x${data.slice(66)}`);
  return word === nonce >> 8n && ((mask >> (nonce & 0xffn)) & 1n) === 1n;
}
