// The side-by-side with distance (issue #34): on one machine every hop takes a fraction of a millisecond, which hides
// what a round trip the gateway saves (or adds) costs a payer. Here the facilitator is 80 ms away and the origin 30 ms,
// as for a Worker in Europe whose facilitator and origin are in the US: a delay proxy on 127.0.0.1 holds each request
// that long before passing it on. The gateway (a rule routed through the delayed facilitator to the delayed origin)
// and the official middleware (a second peer Worker pointed at the same two proxies) take turns, request by request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SELLER } from "../stack/accounts.js";
import type { RunningStack } from "../stack/start-stack.js";
import { measureInterleaved, type Stats } from "./measure.js";
import { startPeer } from "./peer.js";

export const WIDE_AREA_HEADING = "## Wide area: the facilitator 80 ms away, the origin 30 ms (bench/wide-area.ts)";
export const FACILITATOR_DELAY_MS = 80;
export const ORIGIN_DELAY_MS = 30;
/** The gateway's rules for the delayed route: their requests reach the origin without it, as the peer's do. */
const WIDE_PREFIX = "/wide";
/**
 * The gateway's rule as a returning payer meets it (verify left out), then verifying every payment with the origin
 * asked while verify runs, then verifying before the origin is asked, as the peer does: where each round trip goes.
 */
const VARIANTS = [
  { path: "", case: "pay-per-call, a returning payer (gateway: verify left out)", rule: {} },
  { path: "/verified", case: "pay-per-call, every payment verified, the origin asked during verify", rule: { verifyEveryPayment: true } },
  {
    path: "/serial",
    case: "pay-per-call, every payment verified before the origin is asked",
    rule: { verifyEveryPayment: true, forwardDuringVerify: false },
  },
] as const;
/** The rules document is re-read within this long (the gateway's rules cache). */
const RULES_SETTLE_MS = 6_500;

export interface WideAreaFigures {
  rows: { case: string; gateway: Stats; peer: Stats }[];
  /** Requests each proxy passed on, per paid call of each system: the round trips distance is paid for. */
  perPaidCall: { gateway: { facilitator: number; origin: number }; peer: { facilitator: number; origin: number } };
}

interface DelayProxy {
  url: string;
  /** Requests passed on. */
  passed: number;
  close(): Promise<void>;
}

/** Holds each request `delayMs`, then passes it to `target` (less `strip` at the start of its path). */
async function startDelayProxy(target: string, delayMs: number, strip?: string): Promise<DelayProxy> {
  const proxy = { passed: 0 } as DelayProxy;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        let path = req.url ?? "/";
        // `/wide/api/…` and `/wide/verified/api/…` alike reach the origin as `/api/…`.
        if (strip && path.startsWith(`${strip}/`)) path = path.slice(path.indexOf("/api/"));
        proxy.passed++;
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers))
          if (typeof value === "string" && name !== "host" && name !== "connection") headers.set(name, value);
        try {
          const answer = await fetch(new URL(path, target), {
            method: req.method,
            headers,
            ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
          });
          const body = Buffer.from(await answer.arrayBuffer());
          const out: Record<string, string> = {};
          answer.headers.forEach((value, name) => {
            if (name !== "content-encoding" && name !== "content-length" && name !== "transfer-encoding") out[name] = value;
          });
          res.writeHead(answer.status, out).end(body);
        } catch (error) {
          res.writeHead(502, { "content-type": "text/plain" }).end(String(error));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/**
 * Adds a facilitator entry at the delayed facilitator and a rule routed through it to the delayed origin (through
 * the admin API, so the document's history keeps the one replaced), measures, and puts the document back.
 */
export async function measureWideArea(stack: RunningStack, pay: typeof fetch, rounds: number): Promise<WideAreaFigures> {
  const local = stack.info.facilitators[0]!.url;
  // One pair for each system, so each one's round trips are counted apart.
  const proxies = await Promise.all([
    startDelayProxy(local, FACILITATOR_DELAY_MS),
    startDelayProxy(stack.info.origin, ORIGIN_DELAY_MS, WIDE_PREFIX),
    startDelayProxy(local, FACILITATOR_DELAY_MS),
    startDelayProxy(stack.info.origin, ORIGIN_DELAY_MS),
  ]);
  const [facilitator, origin, peerFacilitator, peerOrigin] = proxies;
  const admin = `${stack.info.gateway}${stack.info.admin.prefix}/rules`;
  const auth = { authorization: `Bearer ${stack.info.admin.token}` };
  const original = (await (await fetch(admin, { headers: auth })).json()) as { facilitators?: unknown[]; rules: unknown[] };
  const peer = await startPeer(stack, { facilitator: peerFacilitator.url, origin: peerOrigin.url });
  try {
    const wide = {
      ...original,
      facilitators: [...(original.facilitators ?? []), { id: "wide-a", url: facilitator.url, auth: { kind: "none" }, priority: 9 }],
      rules: [
        ...original.rules,
        ...VARIANTS.map((variant, index) => ({
          id: `bench-wide-${index}`,
          methods: ["GET"],
          path: `${WIDE_PREFIX}${variant.path}/api/weather/:city`,
          price: "$0.01",
          accepts: [{ network: stack.info.network }],
          payTo: SELLER.address,
          origin: origin.url,
          preferences: { preferFacilitators: ["wide-a"] },
          ...variant.rule,
        })),
      ],
    };
    await putRules(admin, auth, wide);
    await new Promise((resolve) => setTimeout(resolve, RULES_SETTLE_MS));
    const gatewayUrl = `${stack.info.gateway}${WIDE_PREFIX}/api/weather/bench`;
    const peerUrl = `${peer.url}/api/weather/bench`;
    const [unpaidGateway, unpaidPeer] = await measureInterleaved(
      [
        { name: "402 (gateway)", once: () => fetch(gatewayUrl), expectStatus: 402 },
        { name: "402 (peer)", once: () => fetch(peerUrl), expectStatus: 402 },
      ],
      rounds,
      5,
    );
    const rows: WideAreaFigures["rows"] = [{ case: "unpaid 402", gateway: unpaidGateway!, peer: unpaidPeer! }];
    let perPaidCall: WideAreaFigures["perPaidCall"] | undefined;
    // Each variant against the peer in its own run, so the proxies count that variant's round trips alone.
    for (const variant of VARIANTS) {
      const before = proxies.map((proxy) => proxy.passed);
      const [paidGateway, paidPeer] = await measureInterleaved(
        [
          {
            name: `paid${variant.path} (gateway)`,
            once: () => pay(`${stack.info.gateway}${WIDE_PREFIX}${variant.path}/api/weather/bench`),
            expectStatus: 200,
          },
          { name: "paid (peer)", once: () => pay(peerUrl), expectStatus: 200 },
        ],
        rounds,
        5,
      );
      rows.push({ case: variant.case, gateway: paidGateway!, peer: paidPeer! });
      // measureInterleaved runs `warmUp` untimed calls of each case first: they are counted as calls too.
      const per = (index: number) => (proxies[index]!.passed - before[index]!) / (rounds + 5);
      perPaidCall ??= { gateway: { facilitator: per(0), origin: per(1) }, peer: { facilitator: per(2), origin: per(3) } };
    }
    return { rows, perPaidCall: perPaidCall! };
  } finally {
    await putRules(admin, auth, original).catch(() => undefined);
    await Promise.all([peer.process.stop(), ...proxies.map((proxy) => proxy.close())]);
  }
}

async function putRules(url: string, auth: Record<string, string>, document: unknown): Promise<void> {
  const response = await fetch(url, {
    method: "PUT",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(document),
  });
  if (response.status !== 200) throw new Error(`PUT rules: ${response.status} ${await response.text()}`);
}

export function wideAreaTable(figures: WideAreaFigures): string[] {
  const x = (value: number) => `${value.toFixed(2)}×`;
  const { gateway, peer } = figures.perPaidCall;
  return [
    `Each request to the facilitator waits ${FACILITATOR_DELAY_MS} ms, each to the origin ${ORIGIN_DELAY_MS} ms, in a delay proxy on 127.0.0.1; the`,
    "gateway (a rule routed through the delayed facilitator to the delayed origin) and a second peer Worker pointed at the",
    "same proxies take turns. The payer is in good standing with the gateway, as a returning payer is; the last two rows",
    "make the gateway verify every payment anyway (`verifyEveryPayment`), with the origin asked during verify or after it.",
    "",
    "| case | gateway p50 / p95 ms | peer p50 / p95 ms | gateway ÷ peer (p50) |",
    "|---|---|---|---|",
    ...figures.rows.map(
      (row) =>
        `| ${row.case} | ${row.gateway.p50.toFixed(0)} / ${row.gateway.p95.toFixed(0)} | ${row.peer.p50.toFixed(0)} / ${row.peer.p95.toFixed(0)} | ${x(row.gateway.p50 / row.peer.p50)} |`,
    ),
    "",
    `Round trips per paid call of a returning payer, counted by the proxies: the gateway ${gateway.facilitator.toFixed(2)} to the facilitator and ${gateway.origin.toFixed(2)} to the origin; the peer ${peer.facilitator.toFixed(2)} and ${peer.origin.toFixed(2)}. The peer's row is measured again beside each gateway variant.`,
  ];
}
