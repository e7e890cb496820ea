// `npm run pay -- URL [--method POST --data TEXT] [--v1]`: pays one request through the running stack
// (.dev/stack.json, written by `npm run dev`) with the official @x402/fetch client, or with the V1 client
// x402-fetch 1.x (`--v1`, needs a stack started with CHAIN_ID=84532).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import { createSigner, wrapFetchWithPayment } from "x402-fetch";
import { createPayingFetch, readBalance, readSettlement } from "../stack/pay.js";
import type { StackInfo } from "../stack/start-stack.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { method: { type: "string", default: "GET" }, data: { type: "string" }, v1: { type: "boolean", default: false } },
});
let stack: StackInfo;
try {
  stack = JSON.parse(readFileSync(".dev/stack.json", "utf8")) as StackInfo;
} catch {
  console.error("No running stack found (.dev/stack.json). Start it with `npm run dev` first.");
  process.exit(1);
}
const url = positionals[0] ?? stack.examples.priced;
const account = privateKeyToAccount(stack.payer.privateKey);
const balance = () => readBalance(stack.rpcUrl, stack.token.address, account.address);
const format = (atomic: bigint) => `${(Number(atomic) / 10 ** stack.token.decimals).toFixed(stack.token.decimals)} USDC`;

const before = await balance();
const started = Date.now();
const payingFetch = values.v1
  ? (wrapFetchWithPayment(fetch, await createSigner("base-sepolia", stack.payer.privateKey)) as typeof fetch)
  : createPayingFetch(account, { network: stack.network, address: stack.token.address });
const response = await payingFetch(url, {
  method: values.method,
  ...(values.data !== undefined ? { body: values.data, headers: { "content-type": "text/plain" } } : {}),
});
const elapsed = Date.now() - started;
const body = await response.text();
const settlement = readSettlement(response);
const after = await balance();

console.log(`${values.method} ${url} → ${response.status} in ${elapsed} ms`);
console.log(body);
if (response.headers.get("server-timing")) console.log(`server-timing: ${response.headers.get("server-timing")}`);
console.log(
  `settlement transaction: ${settlement?.success ? settlement.transaction : `none${settlement ? ` (${settlement.errorReason})` : ""}`}`,
);
console.log(`payer ${account.address}: ${format(before)} → ${format(after)} (${format(after - before)})`);
process.exit(response.ok ? 0 : 1);
