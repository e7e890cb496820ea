// The reads the gateway makes of an EVM chain itself (RPC_URLS): code, calls, blocks, logs, transactions and receipts,
// JSON-RPC over fetch.
// Written here rather than through viem's client: its transport, actions and error classes were a quarter of the
// Worker's bundle for two calls (BENCHMARKS.md).
import * as z from "zod";
import { usage } from "../../observability/usage-counters.js";

const HexData = z.string().regex(/^0x[0-9a-fA-F]*$/);

// The error branch first: `result: unknown` would also match an answer that has none.
const RpcReplySchema = z.union([
  z.object({ error: z.object({ code: z.number(), message: z.string() }) }),
  z.object({ result: z.unknown() }),
]);

const ReceiptSchema = z
  .object({
    status: HexData,
    logs: z.array(z.object({ address: HexData, topics: z.array(HexData), data: HexData })),
  })
  .nullable();
/** A mined transaction's outcome and logs; null while it is not in a block. */
export type TransactionReceipt = z.infer<typeof ReceiptSchema>;

/** `reverted`: the chain ran the call and it failed. `unavailable`: no usable answer (down, slow, not JSON-RPC). */
export class EvmRpcError extends Error {
  constructor(
    readonly kind: "reverted" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

export interface EvmRpc {
  url: string;
  timeoutMs: number;
  /** When set (ms since the epoch), no call outlasts it: a look of many calls stays within a request's budget. */
  deadlineAtMs?: number;
}

/** The code at `address` ("0x" for a key's address). */
export function getCode(rpc: EvmRpc, address: string): Promise<string> {
  return call(rpc, "eth_getCode", [address, "latest"], HexData);
}

/** `data` called on `to` as of block `blockNumber` (one block, so a node behind it refuses rather than answers older). */
export function callAt(rpc: EvmRpc, to: string, data: string, blockNumber: bigint): Promise<string> {
  return call(rpc, "eth_call", [{ to, data }, hexQuantity(blockNumber)], HexData);
}

/** Runs `data` as creation code, deploying nothing (a call without `to`), and returns what it returned. */
export function callCreationCode(rpc: EvmRpc, data: string): Promise<string> {
  return call(rpc, "eth_call", [{ data }, "latest"], HexData);
}

const LogsSchema = z.array(z.object({ address: HexData, topics: z.array(HexData), data: HexData, transactionHash: HexData }));
export type EvmLog = z.infer<typeof LogsSchema>[number];

export async function blockNumber(rpc: EvmRpc): Promise<bigint> {
  return BigInt(await call(rpc, "eth_blockNumber", [], HexData));
}

const BlockSchema = z.object({ number: HexData, timestamp: HexData });

/** The newest block's number and time (unix seconds): what "expired" means on chain. */
export async function latestBlock(rpc: EvmRpc): Promise<{ number: bigint; timestamp: bigint }> {
  const block = await call(rpc, "eth_getBlockByNumber", ["latest", false], BlockSchema);
  return { number: BigInt(block.number), timestamp: BigInt(block.timestamp) };
}

/** Logs of `address` (or any of them) whose topics match (`null`: any; an array: any of these), in blocks `fromBlock` to `toBlock` (default the latest). */
export function getLogs(
  rpc: EvmRpc,
  filter: { address: string | string[]; topics: (string | string[] | null)[]; fromBlock: bigint; toBlock?: bigint },
): Promise<EvmLog[]> {
  const toBlock = filter.toBlock === undefined ? "latest" : hexQuantity(filter.toBlock);
  return call(
    rpc,
    "eth_getLogs",
    [{ address: filter.address, topics: filter.topics, fromBlock: hexQuantity(filter.fromBlock), toBlock }],
    LogsSchema,
  );
}

const hexQuantity = (value: bigint) => `0x${value.toString(16)}`;

export function getTransactionReceipt(rpc: EvmRpc, hash: string): Promise<TransactionReceipt> {
  return call(rpc, "eth_getTransactionReceipt", [hash], ReceiptSchema);
}

const TransactionSchema = z.object({ to: HexData.nullable(), input: HexData }).nullable();

/** A transaction's recipient and calldata; null when the node does not know it. */
export function getTransaction(rpc: EvmRpc, hash: string): Promise<z.infer<typeof TransactionSchema>> {
  return call(rpc, "eth_getTransactionByHash", [hash], TransactionSchema);
}

async function call<T>(rpc: EvmRpc, method: string, params: unknown[], result: z.ZodType<T>): Promise<T> {
  const timeoutMs = rpc.deadlineAtMs === undefined ? rpc.timeoutMs : Math.min(rpc.timeoutMs, rpc.deadlineAtMs - Date.now());
  if (timeoutMs <= 0) throw new EvmRpcError("unavailable", `${method}: no time left`);
  usage.rpcCalls++;
  let text: string;
  try {
    const response = await fetch(rpc.url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
    if (!response.ok && !text.includes('"error"')) throw new Error(`HTTP ${response.status}`);
  } catch (cause) {
    throw new EvmRpcError("unavailable", `${method}: ${String(cause)}`);
  }
  let reply: z.infer<typeof RpcReplySchema>;
  try {
    reply = RpcReplySchema.parse(JSON.parse(text));
  } catch {
    throw new EvmRpcError("unavailable", `${method}: not a JSON-RPC answer: ${text.slice(0, 200)}`);
  }
  if (!("error" in reply)) {
    const parsed = result.safeParse(reply.result);
    if (!parsed.success)
      throw new EvmRpcError("unavailable", `${method}: unexpected result: ${JSON.stringify(reply.result).slice(0, 200)}`);
    return parsed.data;
  }
  // Nodes report a failed call as code 3 (geth, anvil) or -32000 with "execution reverted".
  const reverted = reply.error.code === 3 || /revert/i.test(reply.error.message);
  throw new EvmRpcError(reverted ? "reverted" : "unavailable", `${method}: ${reply.error.message}`);
}
