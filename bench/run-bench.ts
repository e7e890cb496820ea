// `npm run bench`: latency of the gateway against a bare pass-through Worker, both under wrangler dev in the
// same run, same origin, same machine. Reports p50/p95 and the ratio of p50s. Sequential requests (one in flight)
// so the figures are per-request cost, not throughput. The cheap cases take turns request by request, so a
// noisy neighbour slows them all alike instead of skewing whichever case happened to be running.
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
import { buildCdpJwt, importCdpKey } from "../src/facilitator/cdp-jwt.js";
import { generateKeyPairSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import { measureRulesScale } from "./rules-scale.js";

/** What a browser sends for a page: it gets the paywall instead of the JSON 402. */
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const PAID_ROUNDS = Number(process.env.BENCH_PAID_ROUNDS ?? 40);

interface Stats {
  name: string;
  n: number;
  p50: number;
  p95: number;
}

interface BenchCase {
  name: string;
  once: () => Promise<Response>;
  expectStatus: number;
}

async function timeOne(c: BenchCase): Promise<number> {
  const start = performance.now();
  const response = await c.once();
  await response.arrayBuffer();
  const elapsed = performance.now() - start;
  if (response.status !== c.expectStatus) throw new Error(`${c.name}: expected ${c.expectStatus}, got ${response.status}`);
  return elapsed;
}

function summarise(name: string, samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { name, n: sorted.length, p50: at(0.5), p95: at(0.95) };
}

/** `n` rounds after 20 warm-up ones; each round times one request of every case, in turn. */
async function measureInterleaved(cases: BenchCase[], n: number): Promise<Stats[]> {
  const samples = cases.map(() => [] as number[]);
  for (let round = -20; round < n; round++) {
    for (const [i, c] of cases.entries()) {
      const elapsed = await timeOne(c);
      if (round >= 0) samples[i]!.push(elapsed);
    }
  }
  return cases.map((c, i) => summarise(c.name, samples[i]!));
}

async function measure(c: BenchCase, n: number): Promise<Stats> {
  return (await measureInterleaved([c], n))[0]!;
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
    // The same paid route through each facilitator: local-a takes no auth, local-b a CDP JWT per call.
    ...(["local-a", "local-b"] as const).map((id) => ({
      id: `bench-${id}`,
      methods: ["GET"],
      path: `/api/bench/${id}`,
      price: "$0.01",
      accepts: [{ network: NETWORK }],
      payTo: SELLER.address,
      preferences: { preferFacilitators: [id] },
    })),
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

  const facilitatorStats = async () => (await (await fetch(`${stack.info.facilitator}/__stats`)).json()) as { verify: number; settle: number };

  // Sessions: pay once with the official client (+ SIWX extension); later requests ride on it.
  const sessionUrl = `${gateway}/api/forecast/bench`;
  const opened = await createSessionFetch(PAYER, { network: stack.info.network, address: stack.info.token.address })(sessionUrl);
  if (opened.status !== 200) throw new Error(`session payment failed: ${opened.status}`);
  const token = opened.headers.get("X402-SESSION")!;
  // Each sign-in needs its own nonce: proofs are fetched and signed before the timed loop, which times only the request.
  const proofs: string[] = [];
  for (let i = 0; i < ROUNDS + 20; i++) proofs.push(await signInProof(sessionUrl));

  const before = await facilitatorStats();
  const results = await measureInterleaved(
    [
      { name: "bare pass-through Worker, GET /api/health", once: () => fetch(`${bareUrl}/api/health`), expectStatus: 200 },
      { name: "gateway, free route GET /api/health", once: () => fetch(`${gateway}/api/health`), expectStatus: 200 },
      { name: "gateway, unpaid priced route → 402", once: () => fetch(`${gateway}/api/weather/bench`), expectStatus: 402 },
      { name: "gateway, unpaid priced route, browser → 402 paywall page", once: () => fetch(`${gateway}/api/weather/bench`, { headers: { Accept: BROWSER_ACCEPT } }), expectStatus: 402 },
      { name: "gateway, invalid payment → 402 (no facilitator call)", once: () => fetch(`${gateway}/api/weather/bench`, { headers: { "PAYMENT-SIGNATURE": invalidPayment } }), expectStatus: 402 },
      { name: "gateway, session token (X402-SESSION)", once: () => fetch(sessionUrl, { headers: { "X402-SESSION": token } }), expectStatus: 200 },
      { name: "gateway, SIWX sign-in (EOA proof, nonce spent)", once: () => fetch(sessionUrl, { headers: { "SIGN-IN-WITH-X": proofs.pop()! } }), expectStatus: 200 },
    ],
    ROUNDS,
  );
  const afterCheap = await facilitatorStats();
  // On-chain settlement dominates pay-per-call; it runs alone, after the rest.
  results.push(await measure({ name: "gateway, pay-per-call (verify + origin + on-chain settle)", once: () => pay(`${gateway}/api/weather/bench`), expectStatus: 200 }, PAID_ROUNDS));
  const afterPaid = await facilitatorStats();
  // Facilitator auth: the same paid route through local-a (no auth) and local-b (CDP JWT per call), taking turns.
  results.push(
    ...(await measureInterleaved(
      [
        { name: "gateway, pay-per-call via local-a (no facilitator auth)", once: () => pay(`${gateway}/api/bench/local-a`), expectStatus: 200 },
        { name: "gateway, pay-per-call via local-b (CDP JWT signed per call, checked by the facilitator)", once: () => pay(`${gateway}/api/bench/local-b`), expectStatus: 200 },
      ],
      PAID_ROUNDS,
    )),
  );

  const base = results[0]!.p50;
  console.log(`\nx402 gateway benchmark (sequential requests, wrangler dev on 127.0.0.1, ${new Date().toISOString()})\n`);
  console.log("| case | n | p50 ms | p95 ms | p50 ratio vs bare |");
  console.log("|---|---|---|---|---|");
  for (const r of results) console.log(`| ${r.name} | ${r.n} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${(r.p50 / base).toFixed(2)}× |`);
  const cheapRequests = ROUNDS + 20;
  console.log(`\n${await jwtSigningCost()}`);
  const page = await (await fetch(`${gateway}/api/weather/bench`, { headers: { Accept: BROWSER_ACCEPT } })).text();
  console.log(`\npaywall page (GET /api/weather/bench, one offer): ${Buffer.byteLength(page)} bytes, ${gzipSync(page).length} gzipped; no other request`);
  console.log(`\nfacilitator calls: ${afterCheap.verify - before.verify + afterCheap.settle - before.settle} during the ${cheapRequests} invalid-payment, ${cheapRequests} session-token and ${cheapRequests} sign-in requests; pay-per-call verify ${afterPaid.verify - afterCheap.verify}, settle ${afterPaid.settle - afterCheap.settle} for ${PAID_ROUNDS + 20} requests (incl. warm-up)`);
  const scale = await measureRulesScale(stack, [10, 1000, 10_000], 5);
  const small = scale[0]!;
  const ms = (values: number[]) => values.map((v) => v.toFixed(0)).join(", ");
  console.log("\n| rules | first 402 after an edit (KV read + compile), ms | 402 p50 (vs 10 rules) | free route p50 (vs 10 rules) | first /.well-known/x402 after an edit, ms | /.well-known/x402 p50 / p95 | listing (gzipped) |");
  console.log("|---|---|---|---|---|---|---|");
  for (const f of scale) {
    const ratio = (now: number, then: number) => `${now.toFixed(1)} ms (${(now / then).toFixed(2)}×)`;
    console.log(
      `| ${f.rules} | ${ms(f.first402Ms)} | ${ratio(f.cached["402"].p50, small.cached["402"].p50)} | ${ratio(f.cached.free.p50, small.cached.free.p50)} | ${ms(f.firstWellKnownMs)} | ${f.cached.wellKnown.p50.toFixed(1)} / ${f.cached.wellKnown.p95.toFixed(1)} ms | ${(f.wellKnownBytes / 1024).toFixed(0)} KiB (${(f.wellKnownGzipBytes / 1024).toFixed(0)} KiB) |`,
    );
  }
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

/** What the gateway spends signing one CDP JWT (jose, key imported once), Ed25519 and EC P-256, in this Node. */
async function jwtSigningCost(): Promise<string> {
  const ed = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const secrets = {
    Ed25519: Buffer.concat([Buffer.from(ed.d!, "base64url"), Buffer.from(ed.x!, "base64url")]).toString("base64"),
    "EC P-256": generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }).toString(),
  };
  const parts: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    const importStart = performance.now();
    const key = await importCdpKey(secret);
    const importMs = performance.now() - importStart;
    const n = 2000;
    const start = performance.now();
    for (let i = 0; i < n; i++) await buildCdpJwt(key, { keyId: "bench", method: "POST", url: "https://api.cdp.coinbase.com/platform/v2/x402/verify", nowSeconds: 1, expiresInSeconds: 120 });
    parts.push(`${name} ${(((performance.now() - start) / n) * 1000).toFixed(0)} µs/JWT (key import once: ${importMs.toFixed(1)} ms)`);
  }
  return `CDP JWT signing in Node ${process.version} (jose, ${2000} each): ${parts.join("; ")}`;
}
