// Side by side with the official @x402/hono middleware (bench/peer/peer-worker.ts): the same route, origin,
// facilitator, chain and client, the two systems taking turns request by request.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { RunningStack } from "../stack/start-stack.js";
import { encodeBase64Json } from "../src/x402/headers.js";
import { measureInterleaved, summarise, type BenchCase, type Stats } from "./measure.js";
import { startBenchWorker, type BenchWorker } from "./workers.js";

/** `via`: another facilitator or origin URL than the stack's (bench/wide-area.ts puts a delay proxy in between). */
export function startPeer(stack: RunningStack, via: { facilitator?: string; origin?: string } = {}): Promise<BenchWorker> {
  return startBenchWorker("peer (@x402/hono)", "bench/peer/wrangler.peer.toml", {
    ORIGIN_URL: via.origin ?? stack.info.origin,
    FACILITATOR_URL: via.facilitator ?? stack.info.facilitators[0]!.url,
    NETWORK: stack.info.network,
    TOKEN: stack.info.token.address,
    TOKEN_NAME: stack.info.token.name,
    TOKEN_VERSION: stack.info.token.version,
    PAY_TO: stack.info.payTo,
  });
}

/** A well-formed payment for the wrong amount, for the first offer of `url`'s 402. */
/** A payment any facilitator would refuse: the wrong amount (1 atomic unit), or the right amount to a stranger. */
export async function invalidPayment(url: string, flaw: "amount" | "payTo" = "amount"): Promise<string> {
  const offer = JSON.parse(atob((await fetch(url)).headers.get("PAYMENT-REQUIRED")!)).accepts[0];
  const stranger = privateKeyToAccount(generatePrivateKey());
  return encodeBase64Json({
    x402Version: 2,
    accepted: offer,
    payload: {
      signature: `0x${"11".repeat(65)}`,
      authorization: {
        from: stranger.address,
        to: flaw === "payTo" ? stranger.address : offer.payTo,
        value: flaw === "amount" ? "1" : offer.amount,
        validAfter: "0",
        validBefore: "99999999999",
        nonce: `0x${"22".repeat(32)}`,
      },
    },
  });
}

/** Pay-per-call, gateway and peer taking turns, with anvil mining a block every `seconds` (as Base does every 2 s). */
export async function measurePaidWithBlockTime(options: {
  gateway: string;
  peer: string;
  pay: typeof fetch;
  rpcUrl: string;
  seconds: number;
  rounds: number;
}): Promise<Stats[]> {
  const rpc = async (method: string, params: unknown[]) => {
    const response = await fetch(options.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const reply = (await response.json()) as { error?: { message: string } };
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
  };
  await rpc("evm_setIntervalMining", [options.seconds]);
  try {
    const route = "/api/weather/bench";
    return await measureInterleaved(
      [
        {
          name: `pay-per-call, ${options.seconds} s blocks (gateway)`,
          once: () => options.pay(`${options.gateway}${route}`),
          expectStatus: 200,
        },
        { name: `pay-per-call, ${options.seconds} s blocks (peer)`, once: () => options.pay(`${options.peer}${route}`), expectStatus: 200 },
      ],
      options.rounds,
      1,
    );
  } finally {
    await rpc("evm_setAutomine", [true]);
  }
}

/**
 * The unpaid 402 and pay-per-call side by side again, with the gateway restarted with `REQUEST_LOG=off`, then
 * `alsoQuiet` (the throughput cases) against that gateway; it is restarted with its own settings afterwards, so
 * what the bench measures next sees the default again.
 */
export async function measureWithRequestLogOff<T>(
  stack: RunningStack,
  peer: string,
  pay: typeof fetch,
  rounds: number,
  paidRounds: number,
  alsoQuiet: (gateway: string) => Promise<T>,
): Promise<{ rows: { case: string; gateway: Stats; peer: Stats }[]; also: T }> {
  const route = "/api/weather/bench";
  await stack.restartGateway({ REQUEST_LOG: "off" });
  try {
    const gateway = stack.info.gateway;
    const [unpaidGateway, unpaidPeer] = await measureInterleaved(
      [
        { name: "402, log off (gateway)", once: () => fetch(`${gateway}${route}`), expectStatus: 402 },
        { name: "402 (peer)", once: () => fetch(`${peer}${route}`), expectStatus: 402 },
      ],
      rounds,
    );
    const [paidGateway, paidPeer] = await measureInterleaved(
      [
        { name: "paid, log off (gateway)", once: () => pay(`${gateway}${route}`), expectStatus: 200 },
        { name: "paid (peer)", once: () => pay(`${peer}${route}`), expectStatus: 200 },
      ],
      paidRounds,
      10,
    );
    const also = await alsoQuiet(gateway);
    return {
      rows: [
        { case: "unpaid 402", gateway: unpaidGateway!, peer: unpaidPeer! },
        { case: "pay-per-call (verify + origin + on-chain settle)", gateway: paidGateway!, peer: paidPeer! },
      ],
      also,
    };
  } finally {
    await stack.restartGateway({});
  }
}

export interface SideBySide {
  rows: { case: string; gateway: Stats; peer: Stats }[];
  /** Facilitator calls the peer made for its invalid payments (the gateway's: counted with its own cases). */
  peerInvalidCalls: number;
  invalidRequests: number;
  /** Median of the gateway's own time on its paid requests (ms), from its Server-Timing. */
  gatewayOwnMsP50: number | undefined;
  /** Medians of verify and settle as the facilitator timed them for each system's paid requests (ms). */
  facilitatorMsP50: Record<"gateway" | "peer", { verify: number | undefined; settle: number | undefined }>;
  /** Replaying a settled payment: each system alone, with the facilitator calls it made. */
  replay: { gateway: Stats; peer: Stats; gatewayCalls: number; peerCalls: number; requests: number };
}

export async function measureSideBySide(options: {
  gateway: string;
  peer: string;
  pay: typeof fetch;
  /** The same paying client over another fetch (to keep the payment header it sends). */
  payVia: (baseFetch: typeof fetch) => typeof fetch;
  rounds: number;
  paidRounds: number;
  facilitatorCalls: () => Promise<number>;
  /** The facilitator's own verify and settle durations, keyed `verify <host>` / `settle <host>` (stack/facilitator.ts). */
  facilitatorTimings: () => Promise<Record<string, number[]>>;
}): Promise<SideBySide> {
  const { gateway, peer, pay } = options;
  const route = "/api/weather/bench";
  const [gatewayInvalid, peerInvalid, gatewayWrongPayTo, peerWrongPayTo] = await Promise.all([
    invalidPayment(`${gateway}${route}`),
    invalidPayment(`${peer}${route}`),
    invalidPayment(`${gateway}${route}`, "payTo"),
    invalidPayment(`${peer}${route}`, "payTo"),
  ]);
  const pair = (
    name: string,
    make: (base: string, invalid: string) => () => Promise<Response>,
    status: number,
    invalid = [gatewayInvalid, peerInvalid],
  ): [BenchCase, BenchCase] => [
    { name: `${name} (gateway)`, once: make(gateway, invalid[0]!), expectStatus: status },
    { name: `${name} (peer)`, once: make(peer, invalid[1]!), expectStatus: status },
  ];
  const cheap: [string, [BenchCase, BenchCase]][] = [
    ["free route", pair("free", (base) => () => fetch(`${base}/api/health`), 200)],
    ["unpaid 402", pair("402", (base) => () => fetch(`${base}${route}`), 402)],
  ];
  const cheapStats = await measureInterleaved(
    cheap.flatMap(([, cases]) => cases),
    options.rounds,
  );
  // Invalid payments alone, so the facilitator calls counted are the peer's (the gateway makes none for them).
  const before = await options.facilitatorCalls();
  const sendInvalid = (base: string, invalid: string) => () => fetch(`${base}${route}`, { headers: { "PAYMENT-SIGNATURE": invalid } });
  const invalidStats = await measureInterleaved(
    [...pair("invalid", sendInvalid, 402), ...pair("wrong payTo", sendInvalid, 402, [gatewayWrongPayTo, peerWrongPayTo])],
    options.rounds,
  );
  const peerInvalidCalls = (await options.facilitatorCalls()) - before;
  // The gateway says how long verify, origin and settle took and its total (Server-Timing): the rest is its own time.
  const ownMs: number[] = [];
  const [paidGateway, paidPeer] = pair("paid", (base) => () => pay(`${base}${route}`), 200);
  const timedGateway = {
    ...paidGateway,
    once: async () => {
      const response = await paidGateway.once();
      const own = ownTimeOf(response.headers.get("server-timing"));
      if (own !== undefined) ownMs.push(own);
      return response;
    },
  };
  const paidStats = await measureInterleaved([timedGateway, paidPeer], options.paidRounds, 5);
  ownMs.sort((a, b) => a - b);
  // The last paidRounds calls from each host are this phase's: nothing else paid in between.
  const timings = await options.facilitatorTimings();
  const facilitatorP50 = (base: string, operation: string) => {
    const kept = timings[`${operation} ${new URL(base).host}`]?.slice(-options.paidRounds);
    return kept && kept.length > 0 ? summarise(operation, kept).p50 : undefined;
  };
  const facilitatorMsP50 = {
    gateway: { verify: facilitatorP50(gateway, "verify"), settle: facilitatorP50(gateway, "settle") },
    peer: { verify: facilitatorP50(peer, "verify"), settle: facilitatorP50(peer, "settle") },
  };
  const rows = [
    ...cheap.map(([name], i) => ({ case: name, gateway: cheapStats[2 * i]!, peer: cheapStats[2 * i + 1]! })),
    { case: "invalid payment (wrong amount)", gateway: invalidStats[0]!, peer: invalidStats[1]! },
    { case: "invalid payment (wrong payTo)", gateway: invalidStats[2]!, peer: invalidStats[3]! },
    { case: "pay-per-call (verify + origin + on-chain settle)", gateway: paidStats[0]!, peer: paidStats[1]! },
  ];
  return {
    rows,
    peerInvalidCalls,
    invalidRequests: 2 * (options.rounds + 20),
    gatewayOwnMsP50: ownMs[Math.floor(ownMs.length / 2)],
    facilitatorMsP50,
    replay: await measureReplay(options, route),
  };
}

/** A settled payment sent again: the gateway's replay lock refuses it; the peer asks the facilitator. */
async function measureReplay(options: Parameters<typeof measureSideBySide>[0], route: string): Promise<SideBySide["replay"]> {
  const replayOf = async (base: string) => {
    let header: string | null = null;
    const keep: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      header = request.headers.get("PAYMENT-SIGNATURE") ?? header;
      return fetch(request);
    };
    const paid = await options.payVia(keep)(`${base}${route}`);
    if (paid.status !== 200 || header === null) throw new Error(`replay set-up: payment through ${base} answered ${paid.status}`);
    const sent: string = header;
    return {
      name: `replay (${base === options.gateway ? "gateway" : "peer"})`,
      once: () => fetch(`${base}${route}`, { headers: { "PAYMENT-SIGNATURE": sent } }),
      expectStatus: 402,
    };
  };
  const rounds = Math.ceil(options.rounds / 2);
  const counted = async (c: BenchCase) => {
    const before = await options.facilitatorCalls();
    const [stats] = await measureInterleaved([c], rounds, 5);
    return { stats: stats!, calls: (await options.facilitatorCalls()) - before };
  };
  const gateway = await counted(await replayOf(options.gateway));
  const peer = await counted(await replayOf(options.peer));
  return { gateway: gateway.stats, peer: peer.stats, gatewayCalls: gateway.calls, peerCalls: peer.calls, requests: rounds + 5 };
}

/**
 * total − verify − origin − settle, from `x402-verify;dur=12, origin;dur=4, x402-settle;dur=20, x402-total;dur=40`
 * (a metric may carry `desc` before `dur`: `origin;desc="asked during verify";dur=0`).
 */
function ownTimeOf(serverTiming: string | null): number | undefined {
  if (!serverTiming) return undefined;
  const durations: Record<string, number> = {};
  for (const metric of serverTiming.split(",")) {
    const [name, ...params] = metric.split(";").map((part) => part.trim());
    const dur = params.find((param) => param.startsWith("dur="));
    if (name && dur) durations[name] = Number(dur.slice("dur=".length));
  }
  const { "x402-total": total, "x402-verify": verify, origin, "x402-settle": settle } = durations;
  return total === undefined || verify === undefined || origin === undefined || settle === undefined
    ? undefined
    : total - verify - origin - settle;
}

/** How the peer is set up, for BENCHMARKS.md. */
export const PEER_SETUP = `## Peer set-up

\`bench/peer/peer-worker.ts\`: hono + \`paymentMiddlewareFromHTTPServer\` over an \`x402HTTPResourceServer\` with
\`x402ResourceServer(new HTTPFacilitatorClient({ url }))\` and the \`@x402/evm\` \`ExactEvmScheme\` server, one route
(\`GET /api/weather/*\`, 10000 atomic TestUSDC to the same payee), everything else proxied to the demo origin as
the bare Worker does. Its 402 declares the extensions the gateway's rule does, with \`@x402/extensions\`: bazaar
(\`declareDiscoveryExtension\` with the same output example and schema) and payment-identifier (not required), so
both 402s are about the same size and the official client echoes the same extensions in both payments. One change from the package's documented set-up, forced by workerd: \`paymentMiddleware\`
starts its facilitator sync (\`/supported\`) in the background of the first request, and workerd does not let a
later request wait on I/O the first one started, so every later paid request hangs. The peer therefore builds the
server once per isolate and awaits \`initialize()\` inside the request (\`syncFacilitatorOnStart: false\` on the
middleware); after that both systems hold the facilitator's kinds in memory. \`nodejs_compat\` is on: the
middleware buffers the paid response with \`Buffer\`.`;
