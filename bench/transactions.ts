// On-chain transactions per 50 calls, counted on the chain itself: every transaction in the blocks mined while a
// kind of call runs (anvil mines each transaction as it arrives). Runs before anything else in the bench, so no
// channel's scheduled claim can land in another kind's window.
import { createPublicClient, http } from "viem";
import { localChain } from "../stack/chain.js";

export interface TransactionCount {
  name: string;
  calls: number;
  transactions: number;
  /** What the transactions were, as the case describes them. */
  detail: string;
}

export interface TransactionCase {
  name: string;
  /** Makes the calls (and whatever the kind needs on chain around them, such as a claim); returns what it made. */
  run(): Promise<{ calls: number; detail: string }>;
}

/** viem caches the block number for its polling interval: every read here must be the chain's own. */
export async function countTransactions(rpcUrl: string, chainId: number, cases: TransactionCase[]): Promise<TransactionCount[]> {
  const chain = createPublicClient({ chain: localChain(rpcUrl, chainId), transport: http(rpcUrl) });
  const counts: TransactionCount[] = [];
  for (const kind of cases) {
    const from = await chain.getBlockNumber({ cacheTime: 0 });
    const { calls, detail } = await kind.run();
    const to = await chain.getBlockNumber({ cacheTime: 0 });
    let transactions = 0;
    for (let block = from + 1n; block <= to; block++) transactions += (await chain.getBlock({ blockNumber: block })).transactions.length;
    counts.push({ name: kind.name, calls, transactions, detail });
  }
  return counts;
}

/** Makes `calls` sequential calls with `call`, each of which must answer 200. */
export async function callsOf(calls: number, call: () => Promise<Response>): Promise<number> {
  for (let i = 0; i < calls; i++) {
    const response = await call();
    if (response.status !== 200) throw new Error(`call ${i + 1} answered ${response.status}`);
    await response.arrayBuffer();
  }
  return calls;
}
