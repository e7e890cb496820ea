// Load with a fault (issue #34): many payers, several paid calls in flight each, through the local stack, while the
// preferred facilitator (local-a) is stopped a third of the way in and started again at two thirds. Afterwards the
// books must balance to the unit: calls answered 200 = ledger rows `settled` = transfers on chain to the payee, in
// count and in sum, each payer charged exactly for its answered calls, and no row left `verified` or `settle_unknown`
// once the reconciler has looked (it resolves within a minute of each authorization's expiry).
// `BENCH_FAULTS=1 npm run bench` includes it; `npm run bench:faults` runs it alone. BENCH_FAULT_PAYERS (50),
// BENCH_FAULT_CALLS (20), BENCH_FAULT_IN_FLIGHT (a list, "1,2": one run each).
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { SELLER } from "../stack/accounts.js";
import { mintTestUsdc } from "../stack/chain.js";
import { createPayingFetch, readBalance } from "../stack/pay.js";
import type { RunningStack } from "../stack/start-stack.js";
import { addressTopic, TRANSFER_TOPIC } from "../src/facilitator/pending-settlement.js";
import { summarise } from "./measure.js";

export const LOAD_WITH_FAULT_HEADING = "## Load with a fault (bench/load-with-fault.ts)";

export interface LoadOptions {
  payers: number;
  callsPerPayer: number;
  /** Calls in flight per payer. */
  inFlight: number;
}

export interface LoadResult {
  options: LoadOptions;
  seconds: number;
  /** "200", or the status and the error kind of every other answer. */
  statuses: Record<string, number>;
  p50: number;
  p95: number;
  ledger: Record<string, number>;
  /** Ledger rows still `verified` or `settle_unknown` when the reconciler's wait ended. */
  open: number;
  chain: { transfers: number; sum: bigint };
  answeredSum: bigint;
  /** Payers whose balance fell by other than their answered calls × the price. */
  payersOff: number;
  settledByB: number;
  waitedForReconcilerSeconds: number;
}

const PRICE = 10_000n; // the weather rule's $0.01, in TestUSDC's 6 decimals
/** The reconciler resolves within a minute of each authorization's end (the rule's maxTimeoutSeconds, 120 s). */
const RECONCILER_WAIT_MS = 240_000;

export async function measureLoadWithFault(stack: RunningStack, options: LoadOptions): Promise<LoadResult> {
  const { info } = stack;
  const token = { network: info.network, address: info.token.address };
  const run = `load${Date.now().toString(36)}`;
  const payers = Array.from({ length: options.payers }, () => privateKeyToAccount(generatePrivateKey()));
  for (const payer of payers)
    await mintTestUsdc(info.rpcUrl, info.token.address, payer.address, PRICE * BigInt(options.callsPerPayer) * 2n, info.chainId);
  const fromBlock = await rpc<string>(info.rpcUrl, "eth_blockNumber", []);
  const before = await Promise.all(payers.map((p) => readBalance(info.rpcUrl, info.token.address, p.address)));

  // The route must be the stack's priced weather rule (a bench step before may have replaced the rules).
  const unpaid = await fetch(`${info.gateway}/api/weather/${run}-probe`);
  if (unpaid.status !== 402) throw new Error(`load with a fault: /api/weather/* answered ${unpaid.status} unpaid, not 402`);
  const total = options.payers * options.callsPerPayer;
  let done = 0;
  let fault: Promise<void> = Promise.resolve();
  const statuses: Record<string, number> = {};
  const answered = new Array<number>(options.payers).fill(0);
  const times: number[] = [];
  const onDone = () => {
    done++;
    // The fault: local-a stops a third of the way in and comes back at two thirds, calls in flight either way.
    if (done === Math.floor(total / 3)) fault = fault.then(() => stack.processes.facilitator.stop());
    if (done === Math.floor((2 * total) / 3)) fault = fault.then(() => stack.restartPrimaryFacilitator());
  };
  const started = performance.now();
  await Promise.all(
    payers.map(async (payer, index) => {
      const pay = createPayingFetch(payer, token);
      let next = 0;
      const worker = async () => {
        for (let call = next++; call < options.callsPerPayer; call = next++) {
          const t0 = performance.now();
          let status = "no answer"; // the client gave up
          try {
            const response = await pay(`${info.gateway}/api/weather/${run}-${index}-${call}`);
            const text = await response.text();
            status = response.status === 200 ? "200" : `${response.status} ${errorOf(text)}`;
          } catch {
            // counted as no answer
          }
          times.push(performance.now() - t0);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === "200") answered[index]!++;
          onDone();
        }
      };
      await Promise.all(Array.from({ length: options.inFlight }, worker));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await fault;

  // The reconciler: rows of dead requests or unknown settles resolve within a minute of their authorization's end.
  const waitStarted = Date.now();
  const addresses = payers.map((p) => p.address);
  let rows = await ledgerRows(stack, addresses, run);
  while (rows.some((r) => r.status === "verified" || r.status === "settle_unknown") && Date.now() - waitStarted < RECONCILER_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    rows = await ledgerRows(stack, addresses, run);
  }
  const ledger: Record<string, number> = {};
  for (const row of rows) ledger[row.status] = (ledger[row.status] ?? 0) + 1;

  const logs = await rpc<{ topics: string[]; data: string }[]>(info.rpcUrl, "eth_getLogs", [
    { address: info.token.address, topics: [TRANSFER_TOPIC, null, addressTopic(SELLER.address)], fromBlock, toBlock: "latest" },
  ]);
  const ours = new Set(payers.map((p) => p.address.toLowerCase()));
  const transfers = logs.filter((log) => ours.has(`0x${log.topics[1]!.slice(26)}`));
  const after = await Promise.all(payers.map((p) => readBalance(info.rpcUrl, info.token.address, p.address)));
  const stats = summarise("paid call under load", times);
  return {
    options,
    seconds,
    statuses,
    p50: stats.p50,
    p95: stats.p95,
    ledger,
    open: rows.filter((r) => r.status === "verified" || r.status === "settle_unknown").length,
    chain: { transfers: transfers.length, sum: transfers.reduce((sum, log) => sum + BigInt(log.data), 0n) },
    answeredSum: BigInt(answered.reduce((a, b) => a + b, 0)) * PRICE,
    payersOff: payers.filter((_, i) => before[i]! - after[i]! !== BigInt(answered[i]!) * PRICE).length,
    settledByB: rows.filter((r) => r.status === "settled" && r.settled_by === "local-b").length,
    waitedForReconcilerSeconds: Math.round((Date.now() - waitStarted) / 1000),
  };
}

/**
 * Runs once per entry of `inFlight` (BENCH_FAULT_IN_FLIGHT, default "1,2"), waiting between runs for the circuits the
 * last one opened to close (the rules' default `openSeconds`, 30 s), and after the last, and returns each run's table.
 */
export async function loadWithFaultTables(stack: RunningStack): Promise<string[]> {
  const lines: string[] = [
    "Each call a fresh payment from the official client; the weather rule (local-a preferred, then local-b). An answer",
    "other than 200 is never charged: `no_settleable_offer` (503) while both facilitators' circuits are open (3 failures",
    "in a row open one for 30 s: the local facilitators, on the same 2 cores, time out under the load while one of them",
    "is down), `facilitator_timeout` (504) a call that got no verify in time.",
    "",
  ];
  const inFlights = (process.env.BENCH_FAULT_IN_FLIGHT ?? "1,2").split(",").map(Number);
  for (const [i, inFlight] of inFlights.entries()) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 31_000));
    const result = await measureLoadWithFault(stack, {
      payers: Number(process.env.BENCH_FAULT_PAYERS ?? 50),
      callsPerPayer: Number(process.env.BENCH_FAULT_CALLS ?? 20),
      inFlight,
    });
    lines.push(...(i > 0 ? [""] : []), ...loadWithFaultTable(result));
  }
  // Whatever comes next finds the facilitators' circuits closed again.
  await new Promise((resolve) => setTimeout(resolve, 31_000));
  return lines;
}

export function loadWithFaultTable(result: LoadResult): string[] {
  const { options: o } = result;
  const answered = result.statuses[200] ?? 0;
  const settled = result.ledger.settled ?? 0;
  const balanced =
    answered === settled &&
    settled === result.chain.transfers &&
    result.chain.sum === result.answeredSum &&
    result.payersOff === 0 &&
    result.open === 0;
  const usd = (atomic: bigint) => `$${(Number(atomic) / 1e6).toFixed(2)}`;
  return [
    `${o.payers} payers × ${o.callsPerPayer} paid calls, ${o.inFlight} in flight per payer; local-a stopped after a third, started again after two thirds`,
    "",
    "| | count | sum |",
    "|---|---|---|",
    `| calls answered 200 | ${answered} | ${usd(result.answeredSum)} |`,
    `| other answers (none charged) | ${
      Object.entries(result.statuses)
        .filter(([s]) => s !== "200")
        .map(([s, n]) => `${n} × ${s}`)
        .join(", ") || "none"
    } | |`,
    `| ledger rows \`settled\` (of them through local-b) | ${settled} (${result.settledByB}) | |`,
    `| other ledger rows | ${
      Object.entries(result.ledger)
        .filter(([s]) => s !== "settled")
        .map(([s, n]) => `${n} × ${s}`)
        .join(", ") || "none"
    } | |`,
    `| transfers on chain to the payee | ${result.chain.transfers} | ${usd(result.chain.sum)} |`,
    `| payers charged other than their answered calls | ${result.payersOff} | |`,
    `| rows left \`verified\` / \`settle_unknown\` after the reconciler (waited ${result.waitedForReconcilerSeconds} s) | ${result.open} | |`,
    "",
    `${result.seconds.toFixed(1)} s for the calls (p50 ${result.p50.toFixed(0)} ms, p95 ${result.p95.toFixed(0)} ms per call). Balanced to the unit: **${balanced ? "yes" : "NO"}**.`,
  ];
}

function errorOf(text: string): string {
  try {
    return (JSON.parse(text) as { error?: string }).error ?? "?";
  } catch {
    return "?";
  }
}

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const reply = (await (
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    })
  ).json()) as { result?: T; error?: { message: string } };
  if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
  return reply.result as T;
}

type Row = { status: string; settled_by: string | null; resource: string };

/** The run's ledger rows, read through the admin API (docs/admin.md), one payer at a time. */
async function ledgerRows(stack: RunningStack, payers: string[], run: string): Promise<Row[]> {
  const { admin, gateway } = stack.info;
  const perPayer = await Promise.all(
    payers.map(async (payer) => {
      const response = await fetch(`${gateway}${admin.prefix}/ledger?payer=${payer}&limit=1000`, {
        headers: { Authorization: `Bearer ${admin.token}` },
      });
      if (!response.ok) throw new Error(`admin /ledger: ${response.status}`);
      return ((await response.json()) as { entries: Row[] }).entries;
    }),
  );
  return perPayer.flat().filter((e) => e.resource.includes(`/api/weather/${run}-`));
}
