// Starts the whole local stack: chain + token, facilitator, demo origin, and the gateway under wrangler dev.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Address, Hex } from "viem";
import { FACILITATOR_PRIVATE_KEY, PAYER, PAYER_PRIVATE_KEY, SELLER } from "./accounts.js";
import { approvePermit2, CHAIN_ID, deployContracts, startChain, TOKEN_DECIMALS, TOKEN_NAME, TOKEN_VERSION } from "./chain.js";
import { startGateway } from "./gateway.js";
import { findFreePort, startProcess, type ManagedProcess } from "./process.js";
import { buildShopPayees, buildStackRules, SHOP_PAYEES_KEY } from "./stack-rules.js";

/** Session secret of the local stack only (docs/sessions.md); production sets its own with `wrangler secret put`. */
export const DEV_SESSION_KEYS = "dev:local-stack-session-secret-never-use-in-production";

export interface StackInfo {
  gateway: string;
  origin: string;
  facilitator: string;
  rpcUrl: string;
  chainId: number;
  network: string;
  token: { address: Address; name: string; version: string; decimals: number };
  payer: { address: Address; privateKey: Hex };
  payTo: Address;
  examples: { priced: string; free: string };
  persistDir: string;
  facilitatorAuthToken?: string;
}

export interface StackOptions {
  /** Gateway port; default: a free one. */
  gatewayPort?: number;
  /** Where wrangler keeps local KV/D1; default: a fresh temp dir. */
  persistDir?: string;
  /** Require this bearer token at the facilitator (and send it from the gateway). */
  facilitatorAuthToken?: string;
  /** Extra gateway vars. */
  gatewayVars?: Record<string, string>;
  /** Write `.dev/stack.json`. */
  writeStackFile?: boolean;
  echo?: boolean;
  /** Payer balance minted at start, atomic units. Default 1000 USDC. */
  payerBalance?: bigint;
  /** More price rules after the demo ones (e.g. for fault tests). */
  extraRules?: unknown[];
  /** The chain's id; default 31337. 84532 lets x402 V1 clients pay (V1 names networks, e.g. `base-sepolia`). */
  chainId?: number;
}

export interface RunningStack {
  info: StackInfo;
  timings: Record<string, number>;
  /** The stack's child processes by name, for fault injection (stop one mid-test). */
  processes: Record<"anvil" | "facilitator" | "origin" | "gateway", ManagedProcess>;
  stop(): Promise<void>;
}

const NODE_TS = [process.execPath, "--import", "tsx"] as const;

export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const started: ManagedProcess[] = [];
  const stop = async () => {
    for (const p of started.reverse()) await p.stop();
  };
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  const lap = (name: string) => (timings[name] = Date.now() - t0);
  try {
    // Servers that can bind port 0 do, and report their port; only wrangler dev needs one chosen for it.
    const [gatewayPort, firstInspectorPort] = await Promise.all([options.gatewayPort ?? findFreePort(), findFreePort()]);
    const chainId = options.chainId ?? CHAIN_ID;
    const network = `eip155:${chainId}`;
    const chain = await startChain(chainId);
    started.push(chain.process);
    lap("chain");
    const { token } = await deployContracts(chain.rpcUrl, [{ to: PAYER.address, amount: options.payerBalance ?? 1_000n * 10n ** 6n }], chainId);
    await approvePermit2(chain.rpcUrl, token, PAYER, chainId);
    lap("contracts");

    const persistDir = resolve(options.persistDir ?? mkdtempSync(join(tmpdir(), "x402-gateway-")));
    mkdirSync(persistDir, { recursive: true });
    const [facilitator, origin] = await Promise.all([
      startProcess({
        name: "facilitator",
        command: NODE_TS[0],
        args: [...NODE_TS.slice(1), "stack/facilitator.ts"],
        env: {
          RPC_URL: chain.rpcUrl, NETWORK: network, FACILITATOR_PRIVATE_KEY, PORT: "0",
          FACILITATOR_AUTH_TOKEN: options.facilitatorAuthToken ?? "",
        },
        ready: /listening on (http:\/\/\S+)/,
        echo: options.echo,
      }),
      startProcess({
        name: "origin",
        command: NODE_TS[0],
        args: [...NODE_TS.slice(1), "stack/demo-origin.ts"],
        env: { PORT: "0" },
        ready: /listening on (http:\/\/\S+)/,
        echo: options.echo,
      }),
      seedInChildProcess(persistDir, { "price-rules": buildStackRules(token, options.extraRules, network), [SHOP_PAYEES_KEY]: buildShopPayees() }),
    ]);
    started.push(facilitator.process, origin.process);
    lap("facilitator+origin+seed");
    const facilitatorUrl = facilitator.match[1]!;
    const originUrl = origin.match[1]!;
    const gatewayVars = {
      ORIGIN_URL: originUrl,
      FACILITATOR_URL: facilitatorUrl,
      SESSION_KEYS: DEV_SESSION_KEYS,
      RPC_URLS: JSON.stringify({ [network]: chain.rpcUrl }),
      ...(options.facilitatorAuthToken ? { FACILITATOR_AUTH_TOKEN: options.facilitatorAuthToken } : {}),
      ...options.gatewayVars,
    };
    // wrangler dev needs its ports chosen up front; a parallel test may take one first, so retry on fresh ones.
    let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
    for (let attempt = 1; !gateway; attempt++) {
      const [port, inspectorPort] = attempt === 1 ? [gatewayPort, firstInspectorPort] : await Promise.all([findFreePort(), findFreePort()]);
      try {
        gateway = await startGateway({ port: options.gatewayPort ?? port, inspectorPort, persistDir, echo: options.echo, vars: gatewayVars });
      } catch (error) {
        if (attempt >= 3 || options.gatewayPort !== undefined) throw error;
      }
    }
    started.push(gateway.process);
    lap("gateway");

    const info: StackInfo = {
      gateway: gateway.url,
      origin: originUrl,
      facilitator: facilitatorUrl,
      rpcUrl: chain.rpcUrl,
      chainId,
      network,
      token: { address: token, name: TOKEN_NAME, version: TOKEN_VERSION, decimals: TOKEN_DECIMALS },
      payer: { address: PAYER.address, privateKey: PAYER_PRIVATE_KEY },
      payTo: SELLER.address,
      examples: { priced: `${gateway.url}/api/weather/paris`, free: `${gateway.url}/api/health` },
      persistDir,
      ...(options.facilitatorAuthToken ? { facilitatorAuthToken: options.facilitatorAuthToken } : {}),
    };
    if (options.writeStackFile) {
      mkdirSync(".dev", { recursive: true });
      writeFileSync(".dev/stack.json", `${JSON.stringify(info, null, 2)}\n`);
    }
    const processes = { anvil: chain.process, facilitator: facilitator.process, origin: origin.process, gateway: gateway.process };
    return { info, timings, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function seedInChildProcess(persistDir: string, kvEntries: Record<string, unknown>): Promise<void> {
  const rulesFile = join(persistDir, "kv-seed.json");
  writeFileSync(rulesFile, JSON.stringify(kvEntries, null, 2));
  const { process: seeding } = await startProcess({
    name: "seed",
    command: NODE_TS[0],
    args: [...NODE_TS.slice(1), "stack/seed-gateway.ts", persistDir, rulesFile],
    ready: /^seeded$/m,
    timeoutMs: 60_000,
  });
  await seeding.stop();
}
