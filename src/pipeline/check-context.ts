// What scheme plugins may ask the outside world during their local checks (schemes/scheme-plugin.ts).
import { getCode } from "../schemes/evm/evm-rpc.js";
import { readBlockhash } from "../schemes/svm/solana-rpc.js";
import type { GatewayConfig } from "../gateway-config.js";
import type { CheckContext } from "../schemes/scheme-plugin.js";
import { rpcFor } from "../schemes/chain-rpc.js";

/** `windowSeconds`: how long from now a payment must stay valid (pipeline/payment-window.ts). */
export function buildCheckContext(config: GatewayConfig, nowMs: number, windowSeconds: number): CheckContext {
  const nowSeconds = Math.floor(nowMs / 1000);
  return {
    nowSeconds,
    validUntilSeconds: nowSeconds + windowSeconds,
    async isContract(network, address) {
      const rpc = rpcFor(config.RPC_URLS, network);
      if (!rpc) return undefined;
      try {
        return (await getCode(rpc, address)) !== "0x";
      } catch {
        // An RPC outage must not refuse a good payment: the facilitator still decides.
        return undefined;
      }
    },
    async blockhashStatus(network, blockhash) {
      const rpc = rpcFor(config.RPC_URLS, network);
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
