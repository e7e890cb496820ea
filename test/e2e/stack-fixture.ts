// Node side: one running local stack per e2e test file, plus helpers to observe it.
import { createPublicClient, http, type Address, type Hash } from "viem";
import { localChain } from "../../stack/chain.js";
import { openLocalBindings } from "../../stack/gateway.js";
import { findReconciliationCases, type ReconciliationCase } from "../../src/ledger/ledger.js";
import { PAYER } from "../../stack/accounts.js";
import { createPayingFetch, readBalance } from "../../stack/pay.js";
import { startStack, type RunningStack, type StackOptions } from "../../stack/start-stack.js";

export interface StackFixture extends RunningStack {
  balance(owner: Address): Promise<bigint>;
  originCalls(path: string): Promise<number>;
  facilitatorStats(): Promise<{ verify: number; settle: number; supported: number }>;
  ledgerRows(where?: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
  receiptStatus(hash: Hash): Promise<string>;
  /** The ledger's reconciliation query (owed refunds, unknown settlements, stuck rows) on the stack's D1. */
  reconciliationCases(): Promise<ReconciliationCase[]>;
  /** Stores a KV entry where the running gateway reads it (as `wrangler kv key put --local` would). */
  putKv(key: string, value: unknown): Promise<void>;
  /** The official client paying as the stack's test payer, in the stack's token, through `baseFetch`. */
  payingFetch(baseFetch?: typeof fetch): typeof fetch;
  dispose(): Promise<void>;
}

export async function startStackFixture(options: StackOptions = {}): Promise<StackFixture> {
  const stack = await startStack(options);
  const bindings = await openLocalBindings(stack.info.persistDir);
  const chain = createPublicClient({ chain: localChain(stack.info.rpcUrl, stack.info.chainId), transport: http(stack.info.rpcUrl) });
  return {
    ...stack,
    balance: (owner) => readBalance(stack.info.rpcUrl, stack.info.token.address, owner),
    async originCalls(path) {
      const stats = (await (await fetch(`${stack.info.origin}/__stats`)).json()) as { byPath: Record<string, number> };
      return stats.byPath[path] ?? 0;
    },
    async facilitatorStats() {
      return (await (await fetch(`${stack.info.facilitator}/__stats`)).json()) as { verify: number; settle: number; supported: number };
    },
    ledgerRows(where = "1 = 1", ...params) {
      const read = async () =>
        (
          await bindings.env.LEDGER.prepare(`SELECT * FROM payments WHERE ${where}`)
            .bind(...params)
            .all()
        ).results;
      return eventually(read, () => true, 2000);
    },
    reconciliationCases: () => findReconciliationCases(bindings.env.LEDGER, Date.now()),
    putKv: (key, value) => bindings.env.PRICE_RULES.put(key, JSON.stringify(value)),
    payingFetch: (baseFetch = fetch) =>
      createPayingFetch(PAYER, { network: stack.info.network, address: stack.info.token.address }, baseFetch),
    async receiptStatus(hash) {
      return (await chain.getTransactionReceipt({ hash })).status;
    },
    async dispose() {
      await bindings.dispose();
      await stack.stop();
    },
  };
}

/** A fetch that notes each value of `header` the client sends (e.g. to replay a payment later). */
export function recordingFetch(header: string, sent: string[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const value = request.headers.get(header);
    if (value) sent.push(value);
    return fetch(request);
  };
}

/**
 * Ledger writes run in waitUntil, after the response: poll briefly instead of sleeping blindly.
 * The test reads the gateway's SQLite files from a second process, so a read that races a write can fail
 * with a transient D1 "internal error"; such a read is retried until the deadline like an unaccepted one.
 */
export async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await read();
      if (accept(value) || Date.now() >= deadline) return value;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
