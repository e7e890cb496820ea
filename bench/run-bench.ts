// `npm run bench`: the gateway side by side with the official @x402/hono middleware and a bare pass-through
// Worker, all under wrangler dev in the same run, same origin, facilitator, chain and machine; then the rules at
// scale. Sequential requests (one in flight), so the figures are per-request cost, not throughput. Prints
// markdown and writes it to BENCHMARKS.md.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { PAYER, SELLER } from "../stack/accounts.js";
import { NETWORK } from "../stack/chain.js";
import { createPayingFetch, createSessionFetch } from "../stack/pay.js";
import { buildSiweMessage } from "../src/siwx/siwe-message.js";
import type { SiwxProof } from "../src/siwx/siwx-proof.js";
import { startStack } from "../stack/start-stack.js";
import { encodeBase64Json } from "../src/x402/headers.js";
import { buildCdpJwt, importCdpKey } from "../src/facilitator/cdp-jwt.js";
import { generateKeyPairSync } from "node:crypto";
import { gzipSync } from "node:zlib";
import { measureCompileInWorkerd, measureRulesScale } from "./rules-scale.js";
import { measureInterleaved, summarise } from "./measure.js";
import {
  measurePaidWithBlockTime,
  measureSideBySide,
  measureWithRequestLogOff,
  PEER_SETUP,
  startPeer,
  invalidPayment as buildInvalidPayment,
} from "./peer.js";
import { measureThroughput } from "./throughput.js";
import { bundleSize, startBenchWorker } from "./workers.js";
import { channelBenchCases, channelBenchRule, fiftyChannelCalls } from "./channel.js";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { callsOf, countTransactions } from "./transactions.js";
import { measureSessionsScale } from "./sessions-scale.js";
import { attackCostTable, measureAttackCost } from "./attack-cost.js";
import { LOAD_WITH_FAULT_HEADING, loadWithFaultTables } from "./load-with-fault.js";
import { readBenchmarksSection } from "./benchmarks-section.js";
import { measureWideArea, WIDE_AREA_HEADING, wideAreaTable } from "./wide-area.js";

/** What a browser sends for a page: it gets the paywall instead of the JSON 402. */
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 300);
const PAID_ROUNDS = Number(process.env.BENCH_PAID_ROUNDS ?? 40);
const BLOCK_TIME_ROUNDS = Number(process.env.BENCH_BLOCK_TIME_ROUNDS ?? 8);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 3);
// Seeding a wallet's Durable Object costs ~6 ms locally: 100,000 wallets add ~10 minutes, so the default stops at
// 10,000 and the full scale is BENCH_SESSION_WALLETS=1,1000,100000.
const SESSION_WALLETS = (process.env.BENCH_SESSION_WALLETS ?? "1,1000,10000").split(",").map(Number);
const SESSION_ROUNDS = Number(process.env.BENCH_SESSION_ROUNDS ?? 200);
const ATTACK_REQUESTS = Number(process.env.BENCH_ATTACK_REQUESTS ?? 100);
const startedAt = new Date();

/** Everything printed, also written to BENCHMARKS.md at the end. */
const report: string[] = [];
const say = (line = "") => {
  console.log(line);
  report.push(line);
};

// A session with room for every benchmark request: one payment, then token and sign-in requests.
const stack = await startStack({
  // Every system runs with no debugger attached, as in production (stack/worker-host.ts).
  inspector: false,
  // BENCH_REQUEST_LOG=off measures the gateway without its per-request log line (docs/observability.md).
  ...(process.env.BENCH_REQUEST_LOG ? { gatewayVars: { REQUEST_LOG: process.env.BENCH_REQUEST_LOG } } : {}),
  extraRules: [
    channelBenchRule(NETWORK, SELLER.address),
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
const [bare, peer] = await Promise.all([
  startBenchWorker("passthrough", "bench/wrangler.passthrough.toml", { ORIGIN_URL: stack.info.origin }),
  startPeer(stack),
]);
try {
  const gateway = stack.info.gateway;
  const pay = createPayingFetch(PAYER, { network: stack.info.network, address: stack.info.token.address });
  // upto: the official upto client authorizes the rule's maximum; the gateway settles what the origin metered.
  const payUpto = createPayingFetch(
    PAYER,
    { network: stack.info.network, address: stack.info.token.address },
    fetch,
    new UptoEvmScheme(PAYER),
  );
  // A well-formed payment for the wrong amount: refused by the gateway's local checks, no facilitator call.
  const invalidPayment = await buildInvalidPayment(`${gateway}/api/weather/bench`);
  const facilitatorStats = async () =>
    (await (await fetch(`${stack.info.facilitator}/__stats`)).json()) as { verify: number; settle: number };

  // Sessions: pay once with the official client (+ SIWX extension); later requests ride on it.
  const sessionUrl = `${gateway}/api/forecast/bench`;
  let token = "";
  const perFifty = await countTransactions(stack.info.rpcUrl, stack.info.chainId, [
    {
      name: "exact pay-per-call",
      run: async () => ({ calls: await callsOf(50, () => pay(`${gateway}/api/weather/bench`)), detail: "one transfer per call" }),
    },
    {
      name: "upto, 3 tokens metered per call",
      run: async () => ({
        calls: await callsOf(50, () => payUpto(`${gateway}/api/metered/header?tokens=3`)),
        detail: "one metered transfer per call",
      }),
    },
    {
      name: "upto, zero usage",
      run: async () => ({ calls: await callsOf(50, () => payUpto(`${gateway}/api/metered/header?tokens=0`)), detail: "nothing settled" }),
    },
    {
      name: "session (one payment, then the session token)",
      run: async () => {
        const opened = await createSessionFetch(PAYER, { network: stack.info.network, address: stack.info.token.address })(sessionUrl);
        if (opened.status !== 200) throw new Error(`session payment failed: ${opened.status}`);
        token = opened.headers.get("X402-SESSION")!;
        return {
          calls: 1 + (await callsOf(49, () => fetch(sessionUrl, { headers: { "X402-SESSION": token } }))),
          detail: "the payment that opened the session",
        };
      },
    },
    { name: "batch-settlement (official client), then one claim", run: () => fiftyChannelCalls(stack.info, PAYER) },
  ]);
  // Each sign-in needs its own nonce: proofs are fetched and signed before the timed loop, which times only the request.
  const proofs: string[] = [];
  for (let i = 0; i < ROUNDS + 20; i++) proofs.push(await signInProof(sessionUrl));

  // Channel calls: the deposit happens here, before the timed loop; each timed call is a voucher.
  const channelCases = await channelBenchCases(
    gateway,
    PAYER,
    { network: stack.info.network, address: stack.info.token.address },
    ROUNDS + 20,
  );

  const before = await facilitatorStats();
  const results = await measureInterleaved(
    [
      { name: "bare pass-through Worker, GET /api/health", once: () => fetch(`${bare.url}/api/health`), expectStatus: 200 },
      { name: "gateway, free route GET /api/health", once: () => fetch(`${gateway}/api/health`), expectStatus: 200 },
      { name: "gateway, unpaid priced route → 402", once: () => fetch(`${gateway}/api/weather/bench`), expectStatus: 402 },
      {
        name: "gateway, unpaid priced route, browser → 402 paywall page",
        once: () => fetch(`${gateway}/api/weather/bench`, { headers: { Accept: BROWSER_ACCEPT } }),
        expectStatus: 402,
      },
      {
        name: "gateway, invalid payment → 402 (no facilitator call)",
        once: () => fetch(`${gateway}/api/weather/bench`, { headers: { "PAYMENT-SIGNATURE": invalidPayment } }),
        expectStatus: 402,
      },
      {
        name: "gateway, session token (X402-SESSION)",
        once: () => fetch(sessionUrl, { headers: { "X402-SESSION": token } }),
        expectStatus: 200,
      },
      {
        name: "gateway, SIWX sign-in (EOA proof, nonce spent)",
        once: () => fetch(sessionUrl, { headers: { "SIGN-IN-WITH-X": proofs.pop()! } }),
        expectStatus: 200,
      },
      ...channelCases,
    ],
    ROUNDS,
  );
  const afterCheap = await facilitatorStats();
  // On-chain settlement dominates pay-per-call; it runs after the rest, through each facilitator in turn
  // (local-a takes no auth, local-b a CDP JWT per call).
  results.push(
    ...(await measureInterleaved(
      [
        {
          name: "gateway, pay-per-call (verify + origin + on-chain settle)",
          once: () => pay(`${gateway}/api/weather/bench`),
          expectStatus: 200,
        },
        {
          name: "gateway, pay-per-call via local-a (no facilitator auth)",
          once: () => pay(`${gateway}/api/bench/local-a`),
          expectStatus: 200,
        },
        {
          name: "gateway, pay-per-call via local-b (CDP JWT signed per call, checked by the facilitator)",
          once: () => pay(`${gateway}/api/bench/local-b`),
          expectStatus: 200,
        },
        {
          name: "gateway, upto metered call (verify + origin + on-chain settle of 3 tokens' worth)",
          once: () => payUpto(`${gateway}/api/metered/header?tokens=3`),
          expectStatus: 200,
        },
        {
          name: "gateway, upto call with zero usage (verify + origin; nothing settled, no transaction)",
          once: () => payUpto(`${gateway}/api/metered/header?tokens=0`),
          expectStatus: 200,
        },
      ],
      PAID_ROUNDS,
      5,
    )),
  );
  const afterPaid = await facilitatorStats();

  const side = await measureSideBySide({
    gateway,
    peer: peer.url,
    pay,
    payVia: (baseFetch) => createPayingFetch(PAYER, { network: stack.info.network, address: stack.info.token.address }, baseFetch),
    rounds: ROUNDS,
    paidRounds: PAID_ROUNDS,
    facilitatorCalls: async () => {
      const stats = await facilitatorStats();
      return stats.verify + stats.settle;
    },
    facilitatorTimings: async () => (await (await fetch(`${stack.info.facilitator}/__timings`)).json()) as Record<string, number[]>,
  });
  const slowChain = await measurePaidWithBlockTime({
    gateway,
    peer: peer.url,
    pay,
    rpcUrl: stack.info.rpcUrl,
    seconds: 2,
    rounds: BLOCK_TIME_ROUNDS,
  });
  const wideArea = await measureWideArea(stack, pay, PAID_ROUNDS);
  // Once more with the gateway's per-request log line off (the peer writes none): what the line costs locally,
  // where wrangler prints it, apart from the rest; with the throughput cases it weighs on most.
  const quiet = await measureWithRequestLogOff(stack, peer.url, pay, ROUNDS, PAID_ROUNDS, (quietGateway) =>
    measureThroughput(
      [
        { system: "gateway", route: "free route", variant: "request log off", url: `${quietGateway}/api/health`, status: 200 },
        { system: "gateway", route: "unpaid 402", variant: "request log off", url: `${quietGateway}/api/weather/bench`, status: 402 },
      ],
      [8, 16],
      THROUGHPUT_SECONDS,
    ),
  );
  const throughput = await measureThroughput(
    [
      { system: "bare Worker", route: "free route", url: `${bare.url}/api/health`, status: 200 },
      { system: "gateway", route: "free route", url: `${gateway}/api/health`, status: 200 },
      { system: "peer", route: "free route", url: `${peer.url}/api/health`, status: 200 },
      { system: "gateway", route: "unpaid 402", url: `${gateway}/api/weather/bench`, status: 402 },
      { system: "peer", route: "unpaid 402", url: `${peer.url}/api/weather/bench`, status: 402 },
      { system: "gateway", route: "session token", url: sessionUrl, headers: { "X402-SESSION": token }, status: 200 },
    ],
    [8, 16],
    THROUGHPUT_SECONDS,
  );
  const gatewayBundle = await bundleSize("wrangler.toml");
  const peerBundle = await bundleSize("bench/peer/wrangler.peer.toml");
  const peerMinified = await bundleSize("bench/peer/wrangler.peer.toml", true);
  const page = await (await fetch(`${gateway}/api/weather/bench`, { headers: { Accept: BROWSER_ACCEPT } })).text();
  const sessions = await measureSessionsScale({
    stack,
    bareUrl: bare.url,
    sessionUrl,
    issuedToken: token,
    sizes: SESSION_WALLETS,
    rounds: SESSION_ROUNDS,
  });
  // After every timed case (its spent payers and replays leave nothing they could meet), before the rules at scale
  // replace the demo's rules document.
  const attacks = await measureAttackCost(stack, peer.url, ATTACK_REQUESTS);
  // Before the rules at scale, which replace the stack's rules document (its weather rule with it); it stops and
  // restarts local-a, which nothing after it uses.
  const loadWithFault = process.env.BENCH_FAULTS === "1" ? await loadWithFaultTables(stack) : undefined;
  const scale = await measureRulesScale(stack, [10, 1000, 10_000], 5, bare.url);
  const compile = await measureCompileInWorkerd();

  const base = results[0]!.p50;
  const x = (value: number) => `${value.toFixed(2)}×`;
  say("# Benchmarks");
  say();
  say(
    `\`npm run bench\` (BENCH_ROUNDS=${ROUNDS}, BENCH_PAID_ROUNDS=${PAID_ROUNDS}, BENCH_SESSION_WALLETS=${SESSION_WALLETS.join(",")}), ${startedAt.toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}.`,
  );
  say("Sequential requests (one in flight) to Workers under wrangler's dev server on 127.0.0.1 (its programmatic API, with no");
  say("debugger attached, as in production: stack/worker-host.ts), the same demo origin, facilitator");
  say("(`local-a`, the official @x402/core + @x402/evm facilitator) and anvil chain; cases take turns request by request.");
  say("The peer is the official `@x402/hono` 2.27.0 `paymentMiddleware` (bench/peer/peer-worker.ts, set-up below).");
  say();
  say("## Side by side: this gateway and the official middleware");
  say();
  say("| case | gateway p50 / p95 ms | peer p50 / p95 ms | gateway ÷ peer (p50) | gateway ÷ bare | peer ÷ bare |");
  say("|---|---|---|---|---|---|");
  for (const row of side.rows) {
    say(
      `| ${row.case} | ${row.gateway.p50.toFixed(2)} / ${row.gateway.p95.toFixed(2)} | ${row.peer.p50.toFixed(2)} / ${row.peer.p95.toFixed(2)} | ${x(row.gateway.p50 / row.peer.p50)} | ${x(row.gateway.p50 / base)} | ${x(row.peer.p50 / base)} |`,
    );
  }
  const { replay } = side;
  say(
    `| replay of a settled payment (each system alone) | ${replay.gateway.p50.toFixed(2)} / ${replay.gateway.p95.toFixed(2)} | ${replay.peer.p50.toFixed(2)} / ${replay.peer.p95.toFixed(2)} | ${x(replay.gateway.p50 / replay.peer.p50)} | ${x(replay.gateway.p50 / base)} | ${x(replay.peer.p50 / base)} |`,
  );
  const [slowGateway, slowPeer] = [slowChain[0]!, slowChain[1]!];
  for (const row of quiet.rows) {
    say(
      `| ${row.case}, gateway's request log off | ${row.gateway.p50.toFixed(2)} / ${row.gateway.p95.toFixed(2)} | ${row.peer.p50.toFixed(2)} / ${row.peer.p95.toFixed(2)} | ${x(row.gateway.p50 / row.peer.p50)} | ${x(row.gateway.p50 / base)} | ${x(row.peer.p50 / base)} |`,
    );
  }
  say(
    `| pay-per-call, anvil mining a block every 2 s (as Base does) | ${slowGateway.p50.toFixed(0)} / ${slowGateway.p95.toFixed(0)} | ${slowPeer.p50.toFixed(0)} / ${slowPeer.p95.toFixed(0)} | ${x(slowGateway.p50 / slowPeer.p50)} | | |`,
  );
  say();
  say(
    `Gateway's own time on a paid request (Server-Timing: total − verify − origin − settle), p50: ${side.gatewayOwnMsP50?.toFixed(1)} ms.`,
  );
  const served = side.facilitatorMsP50;
  const fms = (value: number | undefined) => (value === undefined ? "n/a" : `${value.toFixed(1)} ms`);
  say(
    `The facilitator's own time on those paid requests (timed inside it), p50: verify ${fms(served.gateway.verify)} for the gateway, ${fms(served.peer.verify)} for the peer; settle ${fms(served.gateway.settle)} and ${fms(served.peer.settle)}.`,
  );
  say(
    `Facilitator calls for invalid payments: gateway 0 (below), peer ${side.peerInvalidCalls} for ${side.invalidRequests} requests; for replays: gateway ${replay.gatewayCalls}, peer ${replay.peerCalls}, for ${replay.requests} requests each.`,
  );
  const kib = (b: { kib: number; gzipKib: number }) => `${b.kib.toFixed(0)} KiB / ${b.gzipKib.toFixed(0)} KiB gzip`;
  say(
    `Worker bundle (\`wrangler deploy --dry-run\`): gateway ${kib(gatewayBundle)} (minified, as its wrangler.toml deploys it); peer ${kib(peerBundle)} as documented (not minified), ${kib(peerMinified)} minified.`,
  );
  say();
  say(WIDE_AREA_HEADING);
  say();
  for (const line of wideAreaTable(wideArea)) say(line);
  say();
  say("## What hostile traffic costs (docs/security.md)");
  say();
  say(`Per pattern, ${ATTACK_REQUESTS} requests (metered streams: a tenth as many), each pattern on a path of its own: origin calls`);
  say("and facilitator calls (verify + settle) from the demo origin's and the official facilitator's own counters, money");
  say("that reached the payee on chain, and body bytes of 2xx answers the sender got. The peer has no metering.");
  say();
  for (const line of attackCostTable(attacks)) say(line);
  say();
  say(`## Throughput (autocannon, ${THROUGHPUT_SECONDS} s per case, load generator on the same machine)`);
  say();
  say("A gateway row's last column compares it with the peer's row for the same route and connections. The request log");
  say("off rows were measured minutes earlier (the gateway restarted with `REQUEST_LOG=off`), against the same peer rows.");
  say();
  say("| case | connections | requests/s | p50 / p99 ms | ÷ peer (requests/s) |");
  say("|---|---|---|---|---|");
  for (const t of [...throughput, ...quiet.also].sort((a, b) => a.connections - b.connections)) {
    const peerRow = throughput.find((p) => p.system === "peer" && p.route === t.route && p.connections === t.connections);
    const vsPeer = t.system === "gateway" && peerRow ? x(t.requestsPerSecond / peerRow.requestsPerSecond) : "";
    say(`| ${t.name} | ${t.connections} | ${t.requestsPerSecond.toFixed(0)} | ${t.p50Ms} / ${t.p99Ms} | ${vsPeer} |`);
  }
  say();
  say("## On-chain transactions per 50 calls");
  say();
  say("Counted on the chain: every transaction in the blocks mined while the calls ran (before the rest of the bench).");
  say();
  say("| kind | calls | transactions | what they were |");
  say("|---|---|---|---|");
  for (const c of perFifty) say(`| ${c.name} | ${c.calls} | ${c.transactions} | ${c.detail} |`);
  say();
  say("## The gateway against a bare pass-through Worker");
  say();
  say("| case | n | p50 ms | p95 ms | p50 ratio vs bare |");
  say("|---|---|---|---|---|");
  for (const r of results) say(`| ${r.name} | ${r.n} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${x(r.p50 / base)} |`);
  const cheapRequests = ROUNDS + 20;
  say();
  say(await jwtSigningCost());
  say();
  say(
    `Paywall page (GET /api/weather/bench, one offer): ${Buffer.byteLength(page)} bytes, ${gzipSync(page).length} gzipped; no other request.`,
  );
  say();
  say(
    `Facilitator calls: ${afterCheap.verify - before.verify + afterCheap.settle - before.settle} during the ${cheapRequests} invalid-payment, ${cheapRequests} session-token and ${cheapRequests} sign-in requests, and the ${cheapRequests} + ${cheapRequests} batch-settlement calls (after each channel's deposit, made before timing); on local-a, pay-per-call verify ${afterPaid.verify - afterCheap.verify}, settle ${afterPaid.settle - afterCheap.settle} for the ${2 * (PAID_ROUNDS + 5)} paid requests routed to it (incl. warm-up).`,
  );
  say();
  say("## Sessions at scale");
  say();
  say("Session-token requests when that many wallets hold a session (one WalletSession Durable Object each, seeded");
  say(`through the admin API's operator grant). ${SESSION_ROUNDS} timed requests per size, taking turns with the bare Worker; each names`);
  say("a different wallet where there are enough, so at large counts every request meets an object idle since it was seeded.");
  say();
  say("| wallets with a session | token p50 / p95 ms | bare p50 ms | token ÷ bare (p50) | vs 1 wallet | seeding, ms per wallet |");
  say("|---|---|---|---|---|---|");
  const oneWallet = sessions[0]!;
  for (const f of sessions) {
    say(
      `| ${f.wallets.toLocaleString("en-US")} | ${f.token.p50.toFixed(2)} / ${f.token.p95.toFixed(2)} | ${f.bare.p50.toFixed(2)} | ${x(f.token.p50 / f.bare.p50)} | ${x(f.token.p50 / f.bare.p50 / (oneWallet.token.p50 / oneWallet.bare.p50))} | ${f.seedMsPerWallet.toFixed(1)} |`,
    );
  }
  say();
  say("## Rules at scale");
  say();
  say("The rules document in KV replaced by N generated priced rules, then one rule's price edited twice, then two more new");
  say("documents (every rule's description rewritten); the first request after each edit is one sample, so each kind of");
  say(
    "edit shows its p50 (of two, the higher) and, in brackets, every sample in order. The 402 is for the last rule. The 402 and the free",
  );
  say('route take turns with the bare Worker; "vs 10 rules" compares their ratios to it, so drift between the sizes\' runs');
  say("(minutes apart) cancels.");
  say();
  say(
    "| rules | first 402 after a new document (KV read + compile), ms | first 402 after one rule's edit, ms | 402 p50 (vs 10 rules) | free route p50 (vs 10 rules) | bare Worker p50 in the same rounds | first /.well-known/x402 after a new document / one rule's edit, ms | /.well-known/x402 p50 / p95 | listing (gzipped) |",
  );
  say("|---|---|---|---|---|---|---|---|---|");
  const small = scale[0]!;
  const ms = (values: number[]) => `${summarise("first request", values).p50.toFixed(0)} (${values.map((v) => v.toFixed(0)).join(", ")})`;
  const vs = (f: (typeof scale)[number], kind: "402" | "free") =>
    `${f.cached[kind].p50.toFixed(1)} ms (${x(f.cached[kind].p50 / f.cached.bare.p50 / (small.cached[kind].p50 / small.cached.bare.p50))})`;
  for (const f of scale) {
    say(
      `| ${f.rules} | ${ms(f.first402Ms.newDocument)} | ${ms(f.first402Ms.oneRule)} | ${vs(f, "402")} | ${vs(f, "free")} | ${f.cached.bare.p50.toFixed(1)} ms | ${ms(f.firstWellKnownMs.newDocument)} / ${ms(f.firstWellKnownMs.oneRule)} | ${f.cached.wellKnown.p50.toFixed(1)} / ${f.cached.wellKnown.p95.toFixed(1)} ms | ${(f.wellKnownBytes / 1024).toFixed(0)} KiB (${(f.wellKnownGzipBytes / 1024).toFixed(0)} KiB) |`,
    );
  }
  say();
  say("`compilePriceRules` alone, inside workerd (bench/workerd/compile.bench-run.ts under vitest-pool-workers; median of 7;");
  say("workerd's clock moves only at I/O, so each stretch ends with a zero-delay timer):");
  say();
  say(
    "| rules | JSON.parse of the document, ms | compile a new document, ms | compile after one rule's price was edited (the rest from the memo), ms |",
  );
  say("|---|---|---|---|");
  for (const c of compile) say(`| ${c.rules} | ${c.parseMs} | ${c.newDocumentMs} | ${c.oneRuleEditedMs} |`);
  // Without BENCH_FAULTS the last run's section is kept, saying when it was measured, rather than dropped.
  const faultLines = loadWithFault ?? keptSection(LOAD_WITH_FAULT_HEADING);
  if (faultLines) {
    say();
    say(LOAD_WITH_FAULT_HEADING);
    say();
    for (const line of faultLines) say(line);
  }
  say();
  say(PEER_SETUP);
  writeFileSync("BENCHMARKS.md", `${report.join("\n")}\n`);
  console.log("\nwritten to BENCHMARKS.md");
} finally {
  await Promise.all([bare.process.stop(), peer.process.stop()]);
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
    for (let i = 0; i < n; i++)
      await buildCdpJwt(key, {
        keyId: "bench",
        method: "POST",
        url: "https://api.cdp.coinbase.com/platform/v2/x402/verify",
        nowSeconds: 1,
        expiresInSeconds: 120,
      });
    parts.push(`${name} ${(((performance.now() - start) / n) * 1000).toFixed(0)} µs/JWT (key import once: ${importMs.toFixed(1)} ms)`);
  }
  return `CDP JWT signing in Node ${process.version} (jose, ${2000} each): ${parts.join("; ")}`;
}

/** A section of the last BENCHMARKS.md, marked with the run it came from (once: a section kept again keeps its mark). */
function keptSection(heading: string): string[] | undefined {
  const lines = readBenchmarksSection(heading);
  if (!lines || lines[0]?.startsWith("_Kept from")) return lines;
  const measuredAt = /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(readFileSync("BENCHMARKS.md", "utf8"))?.[0] ?? "an earlier run";
  return [
    `_Kept from the run of ${measuredAt}: \`BENCH_FAULTS=1 npm run bench\` or \`npm run bench:faults\` measures it again._`,
    "",
    ...lines,
  ];
}
