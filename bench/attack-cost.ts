// The attack-cost table (issue #33 item 8, docs/security.md): what hostile traffic costs the operator, counted on the
// local stack (the demo origin's and the official facilitator's own counters, balances on chain, bytes received),
// for the gateway and, where the pattern applies, the official middleware on the same route, origin, facilitator
// and chain. Each pattern sends its requests to a path of its own, so the origin's per-path count is exact.
import { BatchSettlementEvmScheme, signVoucher } from "@x402/evm/batch-settlement/client";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Hex } from "viem";
import { PAYER, SELLER } from "../stack/accounts.js";
import { mintTestUsdc } from "../stack/chain.js";
import { createPayingFetch, readBalance } from "../stack/pay.js";
import type { RunningStack } from "../stack/start-stack.js";
import { encodeBase64Json } from "../src/x402/headers.js";
import { EIP3009_AUTHORIZATION_FIELDS } from "../src/schemes/evm/typed-signature.js";

export interface AttackRow {
  pattern: string;
  system: "gateway" | "peer";
  requests: number;
  originCalls: number;
  facilitatorCalls: number;
  /** The gateway's own (admin `GET /usage`); the official middleware keeps no state and reads no chain itself. */
  durableObjectCalls?: number;
  rpcCalls?: number;
  /** Atomic units that reached the payee. */
  moneyMoved: bigint;
  /** Body bytes of 2xx answers the attacker received. */
  contentBytes: number;
  statuses: string;
}

interface Offer {
  scheme: string;
  network: string;
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: { name: string; version: string };
}

const randomHex = (bytes: number) =>
  `0x${[...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("")}` as Hex;

export async function offerFor(url: string): Promise<Offer> {
  const header = (await fetch(url)).headers.get("PAYMENT-REQUIRED");
  if (!header) throw new Error(`no 402 at ${url}`);
  return (JSON.parse(atob(header)) as { accepts: Offer[] }).accepts[0]!;
}

/** An EIP-3009 payment for `offer`: signed by `signer` in `from`'s name (its own by default), or with garbage. */
export async function exactPayment(
  offer: Offer,
  options: { signer?: PrivateKeyAccount; from?: string; validBefore?: number; garbage?: boolean },
): Promise<string> {
  const from = (options.from ?? options.signer?.address ?? privateKeyToAccount(generatePrivateKey()).address) as Hex;
  const authorization = {
    from,
    to: offer.payTo as Hex,
    value: BigInt(offer.amount),
    validAfter: 0n,
    validBefore: BigInt(options.validBefore ?? Math.floor(Date.now() / 1000) + offer.maxTimeoutSeconds),
    nonce: randomHex(32),
  };
  const signature = options.garbage
    ? randomHex(65)
    : await options.signer!.signTypedData({
        domain: {
          name: offer.extra.name,
          version: offer.extra.version,
          chainId: Number(offer.network.split(":")[1]),
          verifyingContract: offer.asset as Hex,
        },
        types: { TransferWithAuthorization: EIP3009_AUTHORIZATION_FIELDS },
        primaryType: "TransferWithAuthorization",
        message: authorization,
      });
  const text = Object.fromEntries(Object.entries(authorization).map(([key, value]) => [key, String(value)]));
  return encodeBase64Json({ x402Version: 2, accepted: offer, payload: { signature, authorization: text } });
}

interface Counters {
  origin(path: string): Promise<number>;
  facilitator(): Promise<number>;
  paid(payTo: string): Promise<bigint>;
  gatewayUsage(): Promise<{ durableObjectCalls: number; rpcCalls: number }>;
}

function countersOf(stack: RunningStack): Counters {
  const stats = async <T>(url: string) => (await (await fetch(`${url}/__stats`)).json()) as T;
  return {
    origin: async (path) => (await stats<{ byPath: Record<string, number> }>(stack.info.origin)).byPath[path] ?? 0,
    facilitator: async () => {
      const all = await Promise.all(stack.info.facilitators.map((f) => stats<{ verify: number; settle: number }>(f.url)));
      return all.reduce((sum, s) => sum + s.verify + s.settle, 0);
    },
    paid: (payTo) => readBalance(stack.info.rpcUrl, stack.info.token.address, payTo as Hex),
    gatewayUsage: async () => {
      const { prefix, token } = stack.info.admin;
      const answer = await fetch(`${stack.info.gateway}${prefix}/usage`, { headers: { authorization: `Bearer ${token}` } });
      return ((await answer.json()) as { isolate: { durableObjectCalls: number; rpcCalls: number } }).isolate;
    },
  };
}

/** Runs `send` (returning the answers it got) and counts what it cost. */
async function measure(
  counters: Counters,
  pattern: string,
  system: AttackRow["system"],
  path: string,
  payTo: string,
  send: () => Promise<Response[]>,
): Promise<AttackRow> {
  const before = {
    origin: await counters.origin(path),
    facilitator: await counters.facilitator(),
    paid: await counters.paid(payTo),
    usage: await counters.gatewayUsage(),
  };
  const answers = await send();
  let contentBytes = 0;
  const statuses = new Map<number, number>();
  for (const answer of answers) {
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const body = await answer.arrayBuffer().catch(() => new ArrayBuffer(0));
    if (answer.status < 300) contentBytes += body.byteLength;
  }
  // Work after the answer (a stream settled once its client left) lands within a few seconds.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // The local stack is one isolate: its counters are the whole gateway's. Only the gateway's rows use them.
  const usage = system === "gateway" ? await counters.gatewayUsage() : undefined;
  return {
    pattern,
    system,
    requests: answers.length,
    originCalls: (await counters.origin(path)) - before.origin,
    facilitatorCalls: (await counters.facilitator()) - before.facilitator,
    ...(usage
      ? { durableObjectCalls: usage.durableObjectCalls - before.usage.durableObjectCalls, rpcCalls: usage.rpcCalls - before.usage.rpcCalls }
      : {}),
    moneyMoved: (await counters.paid(payTo)) - before.paid,
    contentBytes,
    statuses: [...statuses].map(([status, n]) => `${n}× ${status}`).join(", "),
  };
}

const send = (url: string, header: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { "PAYMENT-SIGNATURE": header } });

export async function measureAttackCost(stack: RunningStack, peer: string, requests = 100): Promise<AttackRow[]> {
  const counters = countersOf(stack);
  const token = { network: stack.info.network, address: stack.info.token.address };
  const rows: AttackRow[] = [];
  const systems = [
    ["gateway", stack.info.gateway],
    ["peer", peer],
  ] as const;
  const times = async (n: number, one: () => Promise<Response>) => {
    const answers: Response[] = [];
    for (let i = 0; i < n; i++) answers.push(await one());
    return answers;
  };

  const exactPatterns: [string, (offer: Offer) => Promise<string>][] = [
    ["garbage signature, random payer", (offer) => exactPayment(offer, { garbage: true })],
    ["valid signature, unfunded wallet", (offer) => exactPayment(offer, { signer: privateKeyToAccount(generatePrivateKey()) })],
    [
      "funded wallet, authorization valid 7 s more",
      (offer) => exactPayment(offer, { signer: PAYER, validBefore: Math.floor(Date.now() / 1000) + 7 }),
    ],
    [
      "forged signature in a funded payer's name",
      (offer) => exactPayment(offer, { signer: privateKeyToAccount(generatePrivateKey()), from: PAYER.address }),
    ],
  ];
  for (const [pattern, build] of exactPatterns) {
    for (const [system, base] of systems) {
      const path = `/api/weather/attack-${rows.length}`;
      const offer = await offerFor(`${base}${path}`);
      rows.push(
        await measure(counters, pattern, system, path, offer.payTo, () =>
          times(requests, async () => send(`${base}${path}`, await build(offer))),
        ),
      );
    }
  }

  // A payer who paid once (on the gateway: good standing) and has nothing left, sending 20 payments at once, 5 times.
  for (const [system, base] of systems) {
    const path = `/api/weather/attack-${rows.length}`;
    const spent = privateKeyToAccount(generatePrivateKey());
    const offer = await offerFor(`${base}${path}`);
    await mintTestUsdc(stack.info.rpcUrl, stack.info.token.address, spent.address, BigInt(offer.amount));
    const first = await createPayingFetch(spent, token)(`${base}${path}`);
    if (first.status !== 200) throw new Error(`the spent payer's first payment failed: ${first.status}`);
    await first.arrayBuffer();
    rows.push(
      await measure(
        counters,
        `burst of 20 at once from a spent payer in good standing (×${requests / 20})`,
        system,
        path,
        offer.payTo,
        async () => {
          const answers: Response[] = [];
          for (let round = 0; round < requests / 20; round++) {
            const headers = await Promise.all(Array.from({ length: 20 }, () => exactPayment(offer, { signer: spent })));
            answers.push(...(await Promise.all(headers.map((header) => send(`${base}${path}`, header)))));
          }
          return answers;
        },
      ),
    );
  }

  // Metered streams (the gateway only: the official middleware has no metering). The client reads the first event
  // and leaves; then replays the signature of one of those streams.
  const streamUrl = `${stack.info.gateway}/api/metered/stream?tokens=300&gapMs=300`;
  const streamPath = "/api/metered/stream";
  const sent: string[] = [];
  const recording: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const header = request.headers.get("PAYMENT-SIGNATURE");
    if (header) sent.push(header);
    return fetch(request);
  };
  const payUpto = createPayingFetch(PAYER, token, recording, new UptoEvmScheme(PAYER));
  const streams = Math.max(1, Math.floor(requests / 10));
  let served: string | undefined;
  rows.push(
    await measure(
      counters,
      `metered stream left after its first event (${streams} streams)`,
      "gateway",
      streamPath,
      stack.info.payTo,
      async () => {
        const answers: Response[] = [];
        for (let i = 0; i < streams; i++) {
          const response = await payUpto(streamUrl);
          if (response.status === 200) served = sent.at(-1);
          const reader = response.body!.getReader();
          const first = await reader.read();
          await reader.cancel();
          answers.push(new Response(first.value ?? null, { status: response.status }));
          // One stream per payer: the next waits until this one is settled (its client left, so at once).
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
        return answers;
      },
    ),
  );
  if (!served) throw new Error("no metered stream was served");
  const replayed = served;
  rows.push(
    await measure(counters, "a left stream's signature replayed", "gateway", streamPath, stack.info.payTo, () =>
      times(requests, () => send(streamUrl, replayed)),
    ),
  );
  rows.push(await zeroAuthorizerVouchers(stack, counters, requests));
  return rows;
}

/**
 * A channel opened with no payer authorizer (the payer's own signature, EOA or EIP-1271, signs its vouchers), then
 * vouchers for it signed by another key (the gateway only: the official middleware has no batch-settlement server).
 */
async function zeroAuthorizerVouchers(stack: RunningStack, counters: Counters, requests: number): Promise<AttackRow> {
  const path = "/api/batch/attack-zero-authorizer";
  const url = `${stack.info.gateway}${path}`;
  const payer = privateKeyToAccount(generatePrivateKey());
  await mintTestUsdc(stack.info.rpcUrl, stack.info.token.address, payer.address, 1_000_000n);
  const allowed = {
    allowedAssets: [
      { network: stack.info.network as `${string}:${string}`, asset: stack.info.token.address, maxAmountPerPayment: "1000000" },
    ],
  };
  const opener = new BatchSettlementEvmScheme(payer, { payerAuthorizer: "0x0000000000000000000000000000000000000000" });
  const opened = await wrapFetchWithPaymentFromConfig(fetch, {
    schemes: [{ network: "eip155:*", client: opener }],
    spendControls: allowed,
  })(url);
  if (opened.status !== 200) throw new Error(`the zero-authorizer channel's deposit failed: ${opened.status}`);
  await opened.arrayBuffer();
  const offer = (await offerFor(url)) as unknown as Parameters<BatchSettlementEvmScheme["buildChannelConfig"]>[0];
  const channelConfig = opener.buildChannelConfig(offer);
  const settled = JSON.parse(Buffer.from(opened.headers.get("PAYMENT-RESPONSE")!, "base64").toString()) as {
    extra: { channelState: { channelId: Hex } };
  };
  const { channelId } = settled.extra.channelState;
  const forger = privateKeyToAccount(generatePrivateKey());
  return measure(counters, "voucher signed by another key on a zero-authorizer channel", "gateway", path, SELLER.address, async () => {
    const answers: Response[] = [];
    for (let i = 2; i < requests + 2; i++) {
      const voucher = await signVoucher(forger, channelId, (BigInt(offer.amount) * BigInt(i)).toString(), offer.network);
      answers.push(
        await send(url, encodeBase64Json({ x402Version: 2, accepted: offer, payload: { type: "voucher", channelConfig, voucher } })),
      );
    }
    return answers;
  });
}

export function attackCostTable(rows: AttackRow[]): string[] {
  const usd = (atomic: bigint) => `$${(Number(atomic) / 1e6).toFixed(2)}`;
  return [
    "| pattern | system | requests | origin calls | facilitator calls | Durable Object calls | RPC calls | money moved | content bytes | answers |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.pattern} | ${r.system} | ${r.requests} | ${r.originCalls} | ${r.facilitatorCalls} | ${r.durableObjectCalls ?? "–"} | ${r.rpcCalls ?? "–"} | ${usd(r.moneyMoved)} | ${r.contentBytes} | ${r.statuses} |`,
    ),
  ];
}
