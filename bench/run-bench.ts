// `npm run bench`: latency of the gateway against a bare pass-through Worker, both under wrangler dev in the
// same run, same origin, same machine. Reports p50/p95 and the ratio of p50s. Sequential requests (one in flight)
// so the figures are per-request cost, not throughput.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PAYER, SELLER } from "../stack/accounts.js";
import { NETWORK } from "../stack/chain.js";
import { createPayingFetch, createSessionFetch } from "../stack/pay.js";
import { buildSiweMessage } from "../src/siwx/siwe-message.js";
import type { SiwxProof } from "../src/siwx/siwx-proof.js";
import { findFreePort, startProcess } from "../stack/process.js";
import { WRANGLER_OFFLINE_ENV } from "../stack/gateway.js";
import { startStack } from "../stack/start-stack.js";
import { encodeBase64Json } from "../src/x402/headers.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const PAID_ROUNDS = Number(process.env.BENCH_PAID_ROUNDS ?? 40);

interface Stats {
  name: string;
  n: number;
  p50: number;
  p95: number;
}

async function measure(name: string, n: number, once: () => Promise<Response>, expectStatus: number): Promise<Stats> {
  for (let i = 0; i < Math.min(20, n); i++) await (await once()).arrayBuffer(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await once();
    await response.arrayBuffer();
    samples.push(performance.now() - start);
    if (response.status !== expectStatus) throw new Error(`${name}: expected ${expectStatus}, got ${response.status}`);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { name, n, p50: at(0.5), p95: at(0.95) };
}

// A session with room for every benchmark request: one payment, then token and sign-in requests.
const stack = await startStack({
  extraRules: [
    {
      id: "bench-session",
      methods: ["GET"],
      path: "/api/forecast/bench",
      price: "$0.10",
      accepts: [{ network: NETWORK }],
      payTo: SELLER.address,
      session: { ttlSeconds: 3600, maxRequests: 1_000_000 },
    },
  ],
});
const [port, inspectorPort] = await Promise.all([findFreePort(), findFreePort()]);
const { process: bare } = await startProcess({
  name: "passthrough",
  command: "node_modules/.bin/wrangler",
  args: ["dev", "-c", "bench/wrangler.passthrough.toml", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--var", `ORIGIN_URL:${stack.info.origin}`, "--show-interactive-dev-session=false"],
  env: WRANGLER_OFFLINE_ENV,
  ready: /Ready on/,
  timeoutMs: 60_000,
});
try {
  const bareUrl = `http://127.0.0.1:${port}`;
  const gateway = stack.info.gateway;
  const pay = createPayingFetch(PAYER, { network: stack.info.network, address: stack.info.token.address });
  // A well-formed payment for the wrong amount: refused by the gateway's local checks, no facilitator call.
  const challenge = await fetch(`${gateway}/api/weather/bench`);
  const offer = JSON.parse(atob(challenge.headers.get("PAYMENT-REQUIRED")!)).accepts[0];
  const stranger = privateKeyToAccount(generatePrivateKey());
  const invalidPayment = encodeBase64Json({
    x402Version: 2,
    accepted: offer,
    payload: {
      signature: `0x${"11".repeat(65)}`,
      authorization: { from: stranger.address, to: offer.payTo, value: "1", validAfter: "0", validBefore: "99999999999", nonce: `0x${"22".repeat(32)}` },
    },
  });

  const results: Stats[] = [];
  results.push(await measure("bare pass-through Worker, GET /api/health", ROUNDS, () => fetch(`${bareUrl}/api/health`), 200));
  results.push(await measure("gateway, free route GET /api/health", ROUNDS, () => fetch(`${gateway}/api/health`), 200));
  results.push(await measure("gateway, unpaid priced route → 402", ROUNDS, () => fetch(`${gateway}/api/weather/bench`), 402));
  const facilitatorStats = async () => (await (await fetch(`${stack.info.facilitator}/__stats`)).json()) as { verify: number; settle: number };
  const beforeInvalid = await facilitatorStats();
  results.push(await measure("gateway, invalid payment → 402 (no facilitator call)", ROUNDS, () => fetch(`${gateway}/api/weather/bench`, { headers: { "PAYMENT-SIGNATURE": invalidPayment } }), 402));
  const afterInvalid = await facilitatorStats();
  results.push(await measure("gateway, pay-per-call (verify + origin + on-chain settle)", PAID_ROUNDS, () => pay(`${gateway}/api/weather/bench`), 200));
  const afterPaid = await facilitatorStats();

  // Sessions: pay once with the official client (+ SIWX extension), then measure requests riding on it.
  const sessionUrl = `${gateway}/api/forecast/bench`;
  const opened = await createSessionFetch(PAYER, { network: stack.info.network, address: stack.info.token.address })(sessionUrl);
  if (opened.status !== 200) throw new Error(`session payment failed: ${opened.status}`);
  const token = opened.headers.get("X402-SESSION")!;
  const beforeSession = await facilitatorStats();
  results.push(await measure("gateway, session token (X402-SESSION)", ROUNDS, () => fetch(sessionUrl, { headers: { "X402-SESSION": token } }), 200));
  // Each sign-in needs its own nonce: proofs are fetched and signed before the timed loop, which times only the request.
  const proofs: string[] = [];
  for (let i = 0; i < ROUNDS + 20; i++) proofs.push(await signInProof(sessionUrl));
  results.push(await measure("gateway, SIWX sign-in (EOA proof, nonce spent)", ROUNDS, () => fetch(sessionUrl, { headers: { "SIGN-IN-WITH-X": proofs.pop()! } }), 200));
  const afterSession = await facilitatorStats();

  const base = results[0]!.p50;
  console.log(`\nx402 gateway benchmark (sequential requests, wrangler dev on 127.0.0.1, ${new Date().toISOString()})\n`);
  console.log("| case | n | p50 ms | p95 ms | p50 ratio vs bare |");
  console.log("|---|---|---|---|---|");
  for (const r of results) console.log(`| ${r.name} | ${r.n} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${(r.p50 / base).toFixed(2)}× |`);
  const paidRequests = PAID_ROUNDS + Math.min(20, PAID_ROUNDS);
  console.log(`\nfacilitator calls: invalid-payment case ${afterInvalid.verify - beforeInvalid.verify + afterInvalid.settle - beforeInvalid.settle} for ${ROUNDS + 20} requests; pay-per-call case verify ${afterPaid.verify - afterInvalid.verify}, settle ${afterPaid.settle - afterInvalid.settle} for ${paidRequests} requests (incl. warm-up)`);
  console.log(`facilitator calls during ${2 * (ROUNDS + 20)} session requests: ${afterSession.verify - beforeSession.verify + afterSession.settle - beforeSession.settle}`);
} finally {
  await bare.stop();
  await stack.stop();
}

async function signInProof(url: string): Promise<string> {
  const challenge = await fetch(url);
  const { info, supportedChains } = JSON.parse(atob(challenge.headers.get("PAYMENT-REQUIRED")!)).extensions["sign-in-with-x"];
  const unsigned = { ...info, chainId: supportedChains[0].chainId, type: "eip191", address: PAYER.address, signature: "" } as SiwxProof;
  const signature = await PAYER.signMessage({ message: buildSiweMessage(unsigned, unsigned.chainId.split(":")[1]!) });
  return encodeBase64Json({ ...unsigned, signature });
}
