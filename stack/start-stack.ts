// Starts the whole local stack: chain + token, facilitator, demo origin, and the gateway under wrangler dev.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Address, Hex } from "viem";
import {
  CHANNEL_AUTHORIZER_PRIVATE_KEY,
  FACILITATOR_PRIVATE_KEY,
  FACILITATOR_TWO_PRIVATE_KEY,
  PAYER,
  PAYER_PRIVATE_KEY,
  SELLER,
} from "./accounts.js";
import { approvePermit2, CHAIN_ID, deployContracts, startChain, TOKEN_DECIMALS, TOKEN_NAME, TOKEN_VERSION } from "./chain.js";
import { isGatewayLogLine, startGateway } from "./gateway.js";
import { findFreePort, startProcess, type ManagedProcess } from "./process.js";
import { buildShopPayees, buildStackRules, SHOP_PAYEES_KEY, STACK_SECRET_NAMES, type StackFacilitators } from "./stack-rules.js";

/** Session secret of the local stack only (docs/sessions.md); production sets its own with `wrangler secret put`. */
export const DEV_SESSION_KEYS = "dev:local-stack-session-secret-never-use-in-production";

export interface StackInfo {
  gateway: string;
  origin: string;
  /** The first (preferred) facilitator's URL. */
  facilitator: string;
  /** Every facilitator the stack's rules use, in preference order. */
  facilitators: { id: string; url: string; pid: number | undefined }[];
  rpcUrl: string;
  chainId: number;
  network: string;
  token: { address: Address; name: string; version: string; decimals: number };
  payer: { address: Address; privateKey: Hex };
  payTo: Address;
  examples: { priced: string; free: string };
  persistDir: string;
  /** The admin API (docs/admin.md): a token made at each start, for `npm run cli`. */
  admin: { token: string; prefix: string };
  /** Process-group leader of each part (each runs in its own group): what `kill -- -PID` stops. */
  pids: Record<string, number | undefined>;
  facilitatorAuthToken?: string;
}

export interface StackOptions {
  /** Gateway port; default: a free one. */
  gatewayPort?: number;
  /** Where wrangler keeps local KV/D1; default: a fresh temp dir, removed when the stack stops. */
  persistDir?: string;
  /** Require this bearer token at the facilitator (and send it from the gateway). */
  facilitatorAuthToken?: string;
  /** The preferred facilitator answers `settlement_pending` after this long without a receipt (stack/facilitator.ts). */
  facilitatorConfirmationTimeoutMs?: number;
  /** Extra gateway vars. */
  gatewayVars?: Record<string, string>;
  /** Write `.dev/stack.json` (`true`) or this file. */
  writeStackFile?: boolean | string;
  echo?: boolean;
  /** Echo the gateway's output only (its per-request log lines), as `npm run dev` does. */
  echoGateway?: boolean;
  /** Payer balance minted at start, atomic units. Default 1000 USDC. */
  payerBalance?: bigint;
  /** More price rules after the demo ones (e.g. for fault tests). */
  extraRules?: unknown[];
  /** The chain's id; default 31337. 84532 lets x402 V1 clients pay (V1 names networks, e.g. `base-sepolia`). */
  chainId?: number;
  /** The rules document's `circuit` (docs/facilitators.md); default the gateway's. */
  circuit?: StackFacilitators["circuit"];
  /** local-a's `settleTimeoutMs` in the rules document. */
  primarySettleTimeoutMs?: number;
  /** Front this origin instead of starting the demo one (`ORIGIN_URL` of `npm run dev`). */
  originUrl?: string;
  /** Seed this rules document instead of the demo rules (`RULES` of `npm run dev`). */
  rules?: unknown;
  /** `if-absent`: keep the KV entries a persisted state already has (an earlier `rules push` survives a restart). Default `always`. */
  seed?: "always" | "if-absent";
  /** Fixed ports for the facilitators and the demo origin, so rules kept across restarts still name them. Default: free ones. */
  ports?: { facilitatorA: number; facilitatorB: number; origin: number };
  /** Called as each part comes up, with the ms since the start. */
  onProgress?: (part: string, ms: number) => void;
  /** False: the gateway runs with no debugger attached (stack/worker-host.ts), as the bench runs it. Default true. */
  inspector?: boolean;
}

export interface RunningStack {
  info: StackInfo;
  timings: Record<string, number>;
  /** The stack's child processes by name, for fault injection (stop one mid-test). `facilitator` is `local-a`. */
  processes: Record<"anvil" | "facilitator" | "facilitatorB" | "gateway", ManagedProcess> & { origin?: ManagedProcess };
  /** KV keys a persisted state already held, kept rather than seeded (`seed: "if-absent"`). */
  keptKv: string[];
  /** Starts `local-a` again on its old port (after it was stopped), as a facilitator coming back. */
  restartPrimaryFacilitator(): Promise<void>;
  /** Stops the gateway and starts it again on its port and state with these vars added (the bench's A/B runs). */
  restartGateway(vars: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const NODE_TS = [process.execPath, "--import", "tsx"] as const;

export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const withInspector = options.inspector !== false;
  const started: ManagedProcess[] = [];
  /** A temp dir made here: every test and bench run makes one (a bench's 100,000 wallets leave ~3 GB). */
  let madePersistDir: string | undefined;
  const stop = async () => {
    for (const p of started.reverse()) await p.stop();
    if (madePersistDir) rmSync(madePersistDir, { recursive: true, force: true });
  };
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  const lap = (name: string) => {
    timings[name] = Date.now() - t0;
    options.onProgress?.(name, timings[name]);
  };
  try {
    // Servers that can bind port 0 do, and report their port; only wrangler dev needs one chosen for it.
    const [gatewayPort, firstInspectorPort] = await Promise.all([options.gatewayPort ?? findFreePort(), findFreePort()]);
    const chainId = options.chainId ?? CHAIN_ID;
    const network = `eip155:${chainId}`;
    const chain = await startChain(chainId);
    started.push(chain.process);
    lap("chain");
    const { token } = await deployContracts(
      chain.rpcUrl,
      [{ to: PAYER.address, amount: options.payerBalance ?? 1_000n * 10n ** 6n }],
      chainId,
    );
    await approvePermit2(chain.rpcUrl, token, PAYER, chainId);
    lap("contracts");

    if (options.persistDir === undefined) madePersistDir = mkdtempSync(join(tmpdir(), "x402-gateway-"));
    const persistDir = resolve(options.persistDir ?? madePersistDir!);
    mkdirSync(persistDir, { recursive: true });
    const cdp = buildCdpKey();
    const primaryEnv = {
      RPC_URL: chain.rpcUrl,
      NETWORK: network,
      FACILITATOR_PRIVATE_KEY,
      FACILITATOR_AUTH_TOKEN: options.facilitatorAuthToken ?? "",
      CONFIRMATION_TIMEOUT_MS: String(options.facilitatorConfirmationTimeoutMs ?? ""),
    };
    const startFacilitator = (name: string, env: NodeJS.ProcessEnv, port = 0) =>
      startProcess({
        name,
        command: NODE_TS[0],
        args: [...NODE_TS.slice(1), "stack/facilitator.ts"],
        env: { ...env, PORT: String(port) },
        ready: /listening on (http:\/\/\S+)/,
        echo: options.echo,
      });
    const ports = options.ports;
    const [facilitator, facilitatorB, origin] = await Promise.all([
      startFacilitator("facilitator", primaryEnv, ports?.facilitatorA),
      startFacilitator(
        "facilitator-b",
        {
          RPC_URL: chain.rpcUrl,
          NETWORK: network,
          FACILITATOR_PRIVATE_KEY: FACILITATOR_TWO_PRIVATE_KEY,
          CDP_PUBLIC_KEYS: JSON.stringify({ [cdp.keyId]: cdp.publicKey }),
          CARD_RAIL: "1",
        },
        ports?.facilitatorB,
      ),
      options.originUrl
        ? undefined
        : startProcess({
            name: "origin",
            command: NODE_TS[0],
            args: [...NODE_TS.slice(1), "stack/demo-origin.ts"],
            env: { PORT: String(ports?.origin ?? 0) },
            ready: /listening on (http:\/\/\S+)/,
            echo: options.echo,
          }),
    ]);
    started.push(facilitator.process, facilitatorB.process, ...(origin ? [origin.process] : []));
    lap(origin ? "facilitators+origin" : "facilitators");
    const facilitatorUrl = facilitator.match[1]!;
    const facilitatorBUrl = facilitatorB.match[1]!;
    const originUrl = options.originUrl ?? origin!.match[1]!;
    const facilitators: StackFacilitators = {
      primaryUrl: facilitatorUrl,
      secondaryUrl: facilitatorBUrl,
      ...(options.facilitatorAuthToken ? { primaryToken: options.facilitatorAuthToken } : {}),
      ...(options.circuit ? { circuit: options.circuit } : {}),
      ...(options.primarySettleTimeoutMs ? { primarySettleTimeoutMs: options.primarySettleTimeoutMs } : {}),
    };
    const rules = options.rules ?? buildStackRules(token, options.extraRules, network, facilitators);
    const keptKv = await seedInChildProcess(
      persistDir,
      { "price-rules": rules, [SHOP_PAYEES_KEY]: buildShopPayees() },
      options.seed ?? "always",
    );
    lap("seed");
    // The facilitators' credentials: Worker secrets in production (`wrangler secret put`), vars under wrangler dev.
    const adminToken = `dev-admin-${randomBytes(24).toString("hex")}`;
    const gatewayVars = {
      ADMIN_TOKEN: adminToken,
      ORIGIN_URL: originUrl,
      // Rules without a facilitators[] list (most of yours) settle through local-a.
      FACILITATOR_URL: facilitatorUrl,
      SESSION_KEYS: DEV_SESSION_KEYS,
      CHANNEL_AUTHORIZER_KEY: CHANNEL_AUTHORIZER_PRIVATE_KEY,
      RPC_URLS: JSON.stringify({ [network]: chain.rpcUrl }),
      [STACK_SECRET_NAMES.cdpKeyId]: cdp.keyId,
      [STACK_SECRET_NAMES.cdpKeySecret]: cdp.secret,
      ...(options.facilitatorAuthToken ? { [STACK_SECRET_NAMES.primaryToken]: options.facilitatorAuthToken } : {}),
      ...options.gatewayVars,
    };
    // wrangler dev needs its ports chosen up front; a parallel test may take one first, so retry on fresh ones.
    let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
    for (let attempt = 1; !gateway; attempt++) {
      const [port, inspectorPort] = attempt === 1 ? [gatewayPort, firstInspectorPort] : await Promise.all([findFreePort(), findFreePort()]);
      try {
        gateway = await startGateway({
          port: options.gatewayPort ?? port,
          inspectorPort: withInspector ? inspectorPort : undefined,
          persistDir,
          echo: options.echo || (options.echoGateway ? isGatewayLogLine : false),
          vars: gatewayVars,
        });
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
      facilitators: [
        { id: "local-a", url: facilitatorUrl, pid: facilitator.process.child.pid },
        { id: "local-b", url: facilitatorBUrl, pid: facilitatorB.process.child.pid },
      ],
      rpcUrl: chain.rpcUrl,
      chainId,
      network,
      token: { address: token, name: TOKEN_NAME, version: TOKEN_VERSION, decimals: TOKEN_DECIMALS },
      payer: { address: PAYER.address, privateKey: PAYER_PRIVATE_KEY },
      payTo: SELLER.address,
      examples: { priced: `${gateway.url}/api/weather/paris`, free: `${gateway.url}/api/health` },
      persistDir,
      admin: { token: adminToken, prefix: options.gatewayVars?.ADMIN_PATH_PREFIX ?? "/.well-known/x402/admin" },
      pids: Object.fromEntries(started.map((p) => [p.name, p.child.pid])),
      ...(options.facilitatorAuthToken ? { facilitatorAuthToken: options.facilitatorAuthToken } : {}),
    };
    if (options.writeStackFile) {
      const file = resolve(options.writeStackFile === true ? ".dev/stack.json" : options.writeStackFile);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
    }
    const processes = {
      anvil: chain.process,
      facilitator: facilitator.process,
      facilitatorB: facilitatorB.process,
      gateway: gateway.process,
      ...(origin ? { origin: origin.process } : {}),
    };
    const restartPrimaryFacilitator = async () => {
      const again = await startFacilitator("facilitator", primaryEnv, Number(new URL(facilitatorUrl).port));
      started.push(again.process);
      processes.facilitator = again.process;
      info.facilitators[0]!.pid = again.process.child.pid;
    };
    const restartGateway = async (vars: Record<string, string>) => {
      await processes.gateway.stop();
      const port = Number(new URL(gateway!.url).port);
      // The port was just let go: a bind that races its release is tried again.
      for (let attempt = 1; ; attempt++) {
        try {
          const again = await startGateway({
            port,
            inspectorPort: withInspector ? await findFreePort() : undefined,
            persistDir,
            echo: options.echo || (options.echoGateway ? isGatewayLogLine : false),
            vars: { ...gatewayVars, ...vars },
          });
          started.push(again.process);
          processes.gateway = again.process;
          info.pids.gateway = again.process.child.pid;
          return;
        } catch (error) {
          if (attempt >= 3) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    };
    return { info, timings, processes, keptKv, restartPrimaryFacilitator, restartGateway, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A CDP-style API key for the second facilitator: base64 Ed25519 (seed ‖ public key), as CDP hands them out. */
function buildCdpKey(): { keyId: string; secret: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return {
    keyId: "organizations/local-stack/apiKeys/facilitator-b",
    secret: Buffer.concat([Buffer.from(jwk.d!, "base64url"), Buffer.from(jwk.x!, "base64url")]).toString("base64"),
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** Returns the KV keys the state already held and kept (`if-absent`). */
async function seedInChildProcess(persistDir: string, kvEntries: Record<string, unknown>, seed: "always" | "if-absent"): Promise<string[]> {
  const rulesFile = join(persistDir, "kv-seed.json");
  writeFileSync(rulesFile, JSON.stringify(kvEntries, null, 2));
  const start = () =>
    startProcess({
      name: "seed",
      command: NODE_TS[0],
      args: [...NODE_TS.slice(1), "stack/seed-gateway.ts", persistDir, rulesFile, seed],
      ready: /^seeded$/m,
      timeoutMs: 60_000,
    });
  // Once more if it fails: on a loaded machine wrangler's platform proxy has been seen to drop a synchronous call
  // (miniflare fetch-sync). "always" is idempotent (schema applied if absent, entries written again); "if-absent"
  // would count a first attempt's writes as entries kept, so it is not retried.
  const { process: seeding } = await (seed === "always" ? start().catch(start) : start());
  const kept = JSON.parse(/^kept: (.*)$/m.exec(seeding.output())?.[1] ?? "[]") as string[];
  await seeding.stop();
  return kept;
}
