// What scheme plugins may ask the outside world during their local checks (schemes/scheme-plugin.ts).
import { getCode } from "../schemes/evm/evm-rpc.js";
import type { GatewayConfig } from "../env.js";
import type { CheckContext } from "../schemes/scheme-plugin.js";

const RPC_TIMEOUT_MS = 3000;

/** `windowSeconds`: how long from now a payment must stay valid (pipeline/payment-window.ts). */
export function buildCheckContext(config: GatewayConfig, nowMs: number, windowSeconds: number): CheckContext {
  const nowSeconds = Math.floor(nowMs / 1000);
  return {
    nowSeconds,
    validUntilSeconds: nowSeconds + windowSeconds,
    async isContract(network, address) {
      const url = config.RPC_URLS?.[network];
      if (!url) return undefined;
      try {
        return (await getCode({ url, timeoutMs: RPC_TIMEOUT_MS }, address)) !== "0x";
      } catch {
        // An RPC outage must not refuse a good payment: the facilitator still decides.
        return undefined;
      }
    },
  };
}
