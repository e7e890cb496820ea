// How long a Solana transaction's blockhash stays usable, read from the network's RPC (RPC_URLS). A transaction
// lands only while its blockhash is among the last 150 blocks (`lastValidBlockHeight`); the gateway must know that
// outlasts the origin's run before it asks the origin, or a payer could send a blockhash about to expire and get the
// origin's work for a settle that fails (security review F4, on Solana).
//
// Solana's RPC says whether a blockhash is valid now (`isBlockhashValid`) but not when it stops being: only
// `getLatestBlockhash` names a `lastValidBlockHeight`, and only for the latest. So each answer is remembered here,
// and a blockhash's expiry is known when the gateway has seen it as the latest; otherwise it is "valid, age unknown".
import * as z from "zod";
import { usage } from "../../observability/usage-counters.js";

/** The most blocks a blockhash stays valid for (MAX_PROCESSING_AGE): `lastValidBlockHeight` = its height + this. */
const BLOCKHASH_LIFE_BLOCKS = 150;
/**
 * Seconds per block, from below: a slot's target is 400 ms, skipped slots make a block height grow slower, and
 * leaders run slightly fast. Reading blocks left at this rate never promises more time than there is.
 */
const SECONDS_PER_BLOCK_FLOOR = 0.35;
/** Remembered `lastValidBlockHeight`s per network: 150 blocks is a minute; this is several minutes of answers. */
const REMEMBERED_PER_NETWORK = 512;

export type BlockhashStatus = { valid: false } | { valid: true; expiresAtSeconds?: number };

export interface SolanaRpc {
  url: string;
  timeoutMs: number;
}

const Context = z.object({ slot: z.number() });
const LatestBlockhash = z.object({
  context: Context,
  value: z.object({ blockhash: z.string(), lastValidBlockHeight: z.number().int().nonnegative() }),
});
const IsValid = z.object({ context: Context, value: z.boolean() });
const BlockHeight = z.number().int().nonnegative();
const BatchReply = z.array(
  z.object({ id: z.number(), result: z.unknown().optional(), error: z.object({ message: z.string() }).optional() }),
);

const lastValidHeights = new Map<string, Map<string, number>>();

/**
 * One batched round trip: the tip's block height, the latest blockhash (remembered with its last valid height), and
 * whether `blockhash` is valid at the tip. Throws when the RPC gives no usable answer.
 */
export async function readBlockhash(rpc: SolanaRpc, network: string, blockhash: string, nowSeconds: number): Promise<BlockhashStatus> {
  const [height, latest, valid] = await batch(rpc, [
    ["getBlockHeight", [{ commitment: "processed" }]],
    // What clients sign with (the official client asks at "confirmed").
    ["getLatestBlockhash", [{ commitment: "confirmed" }]],
    ["isBlockhashValid", [blockhash, { commitment: "processed" }]],
  ]);
  const tip = BlockHeight.parse(height);
  const { value } = LatestBlockhash.parse(latest);
  remember(network, value.blockhash, value.lastValidBlockHeight);
  if (!IsValid.parse(valid).value) return { valid: false };
  const lastValid = lastValidHeights.get(network)?.get(blockhash);
  if (lastValid === undefined) return { valid: true };
  const blocksLeft = Math.min(lastValid - tip, BLOCKHASH_LIFE_BLOCKS);
  if (blocksLeft <= 0) return { valid: false };
  return { valid: true, expiresAtSeconds: nowSeconds + Math.floor(blocksLeft * SECONDS_PER_BLOCK_FLOOR) };
}

function remember(network: string, blockhash: string, lastValidBlockHeight: number): void {
  let heights = lastValidHeights.get(network);
  if (!heights) {
    heights = new Map();
    lastValidHeights.set(network, heights);
  }
  if (heights.has(blockhash)) return;
  heights.set(blockhash, lastValidBlockHeight);
  // A Map iterates in insertion order: the first key is the oldest answer.
  if (heights.size > REMEMBERED_PER_NETWORK) heights.delete(heights.keys().next().value!);
}

async function batch(rpc: SolanaRpc, calls: [method: string, params: unknown[]][]): Promise<unknown[]> {
  // RPC providers bill each method of a batch.
  usage.rpcCalls += calls.length;
  const response = await fetch(rpc.url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(calls.map(([method, params], id) => ({ jsonrpc: "2.0", id, method, params }))),
    signal: AbortSignal.timeout(rpc.timeoutMs),
  });
  if (!response.ok) throw new Error(`Solana RPC answered HTTP ${response.status}`);
  const replies = BatchReply.parse(await response.json());
  return calls.map(([method], id) => {
    const reply = replies.find((r) => r.id === id);
    if (!reply || reply.error || reply.result === undefined) throw new Error(`${method}: ${reply?.error?.message ?? "no result"}`);
    return reply.result;
  });
}
