// An x402 facilitator built on the official packages (@x402/core facilitator + @x402/evm exact, upto and
// batch-settlement schemes),
// served over HTTP on 127.0.0.1: POST /verify, POST /settle, GET /supported. Settles with a funded local key.
// Run as its own process: `tsx stack/facilitator.ts` with RPC_URL, NETWORK, FACILITATOR_PRIVATE_KEY, PORT
// (and optional FACILITATOR_AUTH_TOKEN: callers must then send `Authorization: Bearer <token>`; or optional
// CDP_PUBLIC_KEYS, JSON `{ keyId: spki PEM }`: callers must send a CDP API-key JWT per call, checked as Coinbase does).
// When the chain's id has an x402 V1 name (e.g. 84532 = base-sepolia), V1 payments are settled too.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { ExactEvmScheme } from "@x402/evm/exact/facilitator";
import { UptoEvmScheme } from "@x402/evm/upto/facilitator";
import { BatchSettlementEvmScheme } from "@x402/evm/batch-settlement/facilitator";
import { ExactEvmSchemeV1 } from "@x402/evm/exact/v1/facilitator";
import { EVM_NETWORK_CHAIN_ID_MAP } from "@x402/evm/v1";
import { createWalletClient, http, nonceManager, publicActions, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { localChain } from "./chain.js";
import { createCdpJwtChecker } from "./cdp-jwt-check.js";
import { CARD_NETWORK, TestCardLedger, TestCardRailFacilitator } from "./test-card-rail.js";
import { ResourceCatalog } from "./facilitator-catalog.js";
import { BAZAAR } from "@x402/extensions/bazaar";

export interface FacilitatorServerOptions {
  rpcUrl: string;
  network: `${string}:${string}`;
  privateKey: Hex;
  authToken?: string;
  /** Require a CDP API-key JWT signed by one of these keys (key id → spki PEM). */
  cdpPublicKeys?: Record<string, string>;
  /**
   * Sign batch-settlement claims and refunds for receivers that name this key's address as their authorizer (it is
   * then listed in /supported). Unset: each seller's gateway signs its own claims.
   */
  authorizerKey?: Hex;
  /** Also settle the test card rail (stack/test-card-rail.ts); `POST /__cards` issues prepaid test cards. */
  cardRail?: boolean;
  /**
   * How long a settle waits for its receipt before answering `settlement_pending` with the transaction (the official
   * signer's `confirmationTimeoutMs`; its default is 180 s). Tests set it short to see a broadcast, unconfirmed settle.
   */
  confirmationTimeoutMs?: number;
}

const TIMINGS_KEPT = 1000;

export function createFacilitatorServer(options: FacilitatorServerOptions) {
  // Nonces handed out locally, in order: settlements of concurrent payments are sent at once and would otherwise
  // all read the same pending nonce from the chain, and all but one fail.
  const account = privateKeyToAccount(options.privateKey, { nonceManager });
  const chainId = Number(options.network.split(":")[1]);
  // Receipts polled every 250 ms: with anvil mining each transaction at once the first poll finds it, and with
  // interval mining (the bench's 2 s blocks, as on Base) settlement waits for the block, not for a 4 s default poll.
  const client = createWalletClient({
    account,
    chain: localChain(options.rpcUrl, chainId),
    transport: http(options.rpcUrl),
    pollingInterval: 250,
  }).extend(publicActions);
  const signer = toFacilitatorEvmSigner(
    { ...client, address: account.address } as unknown as Parameters<typeof toFacilitatorEvmSigner>[0],
    options.confirmationTimeoutMs ? { confirmationTimeoutMs: options.confirmationTimeoutMs } : undefined,
  );
  const facilitator = new x402Facilitator()
    .register(options.network, new ExactEvmScheme(signer))
    .register(options.network, new UptoEvmScheme(signer));
  // The official channel scheme, against the escrow placed on the local chain (stack/chain.ts).
  facilitator.register(
    options.network,
    new BatchSettlementEvmScheme(signer, options.authorizerKey ? privateKeyToAccount(options.authorizerKey) : undefined),
  );
  const v1Name = Object.entries(EVM_NETWORK_CHAIN_ID_MAP).find(([, id]) => id === chainId)?.[0];
  if (v1Name) facilitator.registerV1(v1Name as never, new ExactEvmSchemeV1(signer));
  const cards = new TestCardLedger();
  const catalog = new ResourceCatalog();
  // `/supported` then lists "bazaar": this facilitator catalogs what it is paid for.
  facilitator.registerExtension(BAZAAR);
  if (options.cardRail) facilitator.register(CARD_NETWORK, new TestCardRailFacilitator(cards));
  const stats = { verify: 0, settle: 0, supported: 0, refused: 0 };
  // How long verify and settle took here, per paid resource's host: the bench shows the gateway and the peer were
  // served alike (GET /__timings, the last TIMINGS_KEPT of each).
  const timings: Record<string, number[]> = {};
  const timed = (operation: "verify" | "settle", payload: unknown, ms: number) => {
    const url = (payload as { resource?: { url?: unknown } }).resource?.url;
    let host = "unknown";
    try {
      if (typeof url === "string") host = new URL(url).host;
    } catch {
      // Not a URL: counted under "unknown".
    }
    timings[`${operation} ${host}`] ??= [];
    const kept = timings[`${operation} ${host}`]!;
    if (kept.length >= TIMINGS_KEPT) kept.shift();
    kept.push(ms);
  };
  const checkJwt = options.cdpPublicKeys ? createCdpJwtChecker({ keys: options.cdpPublicKeys }) : undefined;
  // Fault injection for tests (POST /__fault, local stack only): a settle that is broadcast and mined, then the
  // connection dropped before the answer; or one never answered and never sent.
  let settleFault: "drop-after-broadcast" | "hang" | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void =>
      void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/__stats") return send(200, stats);
    if (path === "/__timings") return send(200, timings);
    if (path === "/__fault" && req.method === "POST") {
      settleFault = (JSON.parse(await readText(req)) as { settle: typeof settleFault }).settle;
      return send(200, { settle: settleFault });
    }
    // Test-rail bookkeeping (no auth: local stack only): issue a card, read a card's or a merchant's balance.
    if (options.cardRail && path === "/__cards" && req.method === "POST") {
      const { holder, balanceCents } = JSON.parse(await readText(req)) as { holder: string; balanceCents: string };
      return send(200, { card: cards.issue(holder, BigInt(balanceCents)) });
    }
    if (options.cardRail && path.startsWith("/__cards/")) {
      const id = decodeURIComponent(path.slice("/__cards/".length));
      const balance = cards.cards.get(id)?.balance ?? cards.merchants.get(id) ?? 0n;
      return send(200, { balance: balance.toString() });
    }
    // The catalog is a public listing, like the hosted bazaar's: no credentials needed to read it.
    if (req.method === "GET" && path === "/discovery/resources")
      return send(200, catalog.list(new URL(req.url ?? "/", "http://x").searchParams));
    if (req.method === "GET" && path === "/discovery/search")
      return send(200, catalog.search(new URL(req.url ?? "/", "http://x").searchParams));
    if (options.authToken && req.headers.authorization !== `Bearer ${options.authToken}`) {
      stats.refused++;
      return send(401, { error: "unauthorized" });
    }
    if (checkJwt) {
      const verdict = await checkJwt(req.headers.authorization, req.method ?? "", req.headers.host ?? "", path);
      if (!verdict.ok) {
        stats.refused++;
        return send(401, { error: "unauthorized", reason: verdict.reason });
      }
    }
    if (req.method === "GET" && path === "/supported") {
      stats.supported++;
      return send(200, facilitator.getSupported());
    }
    if (req.method === "POST" && (path === "/verify" || path === "/settle")) {
      let body: { paymentPayload?: unknown; paymentRequirements?: unknown };
      try {
        body = JSON.parse(await readText(req));
      } catch {
        return send(400, { error: "body is not JSON" });
      }
      if (!body.paymentPayload || !body.paymentRequirements)
        return send(400, { error: "paymentPayload and paymentRequirements are required" });
      type Args = Parameters<typeof facilitator.verify>;
      const args = [body.paymentPayload, body.paymentRequirements] as Args;
      // Cataloguing runs once the answer is on its way (Node flushes a response on the next tick), as a hosted
      // facilitator would index: it must not add to any payment's verify or settle time.
      const index = () => setImmediate(() => catalog.index(...args));
      if (path === "/verify") {
        stats.verify++;
        const startedAt = performance.now();
        const verified = await facilitator.verify(...args);
        timed("verify", body.paymentPayload, performance.now() - startedAt);
        send(200, verified);
        if (verified.isValid) index();
        return;
      }
      stats.settle++;
      if (settleFault === "hang") return;
      const startedAt = performance.now();
      const settled = await facilitator.settle(...args);
      if (settleFault === "drop-after-broadcast") return void res.destroy();
      timed("settle", body.paymentPayload, performance.now() - startedAt);
      send(200, settled);
      if (settled.success) index();
    }
    send(404, { error: "not found" });
  }

  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error("facilitator error:", error);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: String(error) }));
    });
  });
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = createFacilitatorServer({
    rpcUrl: process.env.RPC_URL!,
    network: process.env.NETWORK as `${string}:${string}`,
    privateKey: process.env.FACILITATOR_PRIVATE_KEY as Hex,
    authToken: process.env.FACILITATOR_AUTH_TOKEN || undefined,
    cdpPublicKeys: process.env.CDP_PUBLIC_KEYS ? (JSON.parse(process.env.CDP_PUBLIC_KEYS) as Record<string, string>) : undefined,
    cardRail: process.env.CARD_RAIL === "1",
    authorizerKey: (process.env.FACILITATOR_AUTHORIZER_KEY as Hex | undefined) || undefined,
    confirmationTimeoutMs: process.env.CONFIRMATION_TIMEOUT_MS ? Number(process.env.CONFIRMATION_TIMEOUT_MS) : undefined,
  });
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    const address = server.address();
    console.log(`facilitator listening on http://127.0.0.1:${typeof address === "object" && address ? address.port : "?"}`);
  });
}
