// What scheme plugins may ask the outside world during their local checks (schemes/scheme-plugin.ts).
import { getCode } from "../schemes/evm/evm-rpc.js";
import { readBlockhash } from "../schemes/svm/solana-rpc.js";
import type { GatewayConfig } from "../env.js";
import type { CheckContext } from "../schemes/scheme-plugin.js";

const RPC_TIMEOUT_MS = 3000;

/** The network's RPC (RPC_URLS), as every chain read of the gateway's own uses it. */
export function rpcFor(config: GatewayConfig, network: string): { url: string; timeoutMs: number } | undefined {
  const url = config.RPC_URLS?.[network];
  return url ? { url, timeoutMs: RPC_TIMEOUT_MS } : undefined;
}

/** `windowSeconds`: how long from now a payment must stay valid (pipeline/payment-window.ts). */
export function buildCheckContext(config: GatewayConfig, nowMs: number, windowSeconds: number): CheckContext {
  const nowSeconds = Math.floor(nowMs / 1000);
  return {
    nowSeconds,
    validUntilSeconds: nowSeconds + windowSeconds,
    async isContract(network, address) {
      const rpc = rpcFor(config, network);
      if (!rpc) return undefined;
      try {
        return (await getCode(rpc, address)) !== "0x";
      } catch {
        // An RPC outage must not refuse a good payment: the facilitator still decides.
        return undefined;
      }
    },
    async blockhashStatus(network, blockhash) {
      const rpc = rpcFor(config, network);
      if (!rpc) return undefined;
      try {
        return await readBlockhash(rpc, network, blockhash, nowSeconds);
      } catch (error) {
        // Its life unknown, so the money moves first: an attacker who can make the RPC fail (flooding it to 429s)
        // must not get the origin's work for a blockhash about to expire (attacker review of this check).
        console.warn(JSON.stringify({ event: "solana_rpc_unavailable", network, message: String(error).slice(0, 200) }));
        return { valid: true };
      }
    },
  };
}
