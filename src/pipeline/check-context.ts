// What scheme plugins may ask the outside world during their local checks (schemes/scheme-plugin.ts).
import { createClient, http, type Hex } from "viem";
import { getCode } from "viem/actions";
import type { GatewayConfig } from "../env.js";
import type { CheckContext } from "../schemes/scheme-plugin.js";

const RPC_TIMEOUT_MS = 3000;

export function buildCheckContext(config: GatewayConfig, nowMs: number): CheckContext {
  return {
    nowSeconds: Math.floor(nowMs / 1000),
    async isContract(network, address) {
      const url = config.RPC_URLS?.[network];
      if (!url) return undefined;
      try {
        const client = createClient({ transport: http(url, { timeout: RPC_TIMEOUT_MS, retryCount: 0 }) });
        const code = await getCode(client, { address: address as Hex });
        return code !== undefined && code !== "0x";
      } catch {
        // An RPC outage must not refuse a good payment: the facilitator still decides.
        return undefined;
      }
    },
  };
}
