// Kinds the gateway has no local plugin for (a card or bank rail, a new chain) that a rule opts into with
// `delegate: true` and a configured facilitator lists in `/supported`: verify and settle are left wholly to the
// facilitator (docs/facilitators.md "Any rail"). The only local work is the replay key: a hash of the payload.
import { sha256OfStableJson } from "../encoding/bytes.js";
import type { PluginResult, SchemePlugin } from "./scheme-plugin.js";

/** Payee and asset identifiers of rails are opaque to us: printable, no spaces, bounded. */
const OPAQUE_ID = /^[\x21-\x7e]{1,128}$/;
/** x402's `upto` settles what was used on any network, so its payments stay metered when a facilitator checks them. */
const USAGE_SETTLED_SCHEMES = new Set(["upto"]);
/** How long the replay lock remembers a delegated payment when nothing in it says when it expires. */
const DELEGATED_REPLAY_WINDOW_SECONDS = 24 * 60 * 60;

export function buildDelegatedPlugin(scheme: string, namespace: string): SchemePlugin {
  return {
    scheme,
    namespace,
    delegated: true,
    settles: USAGE_SETTLED_SCHEMES.has(scheme) ? "usage" : "whole",
    parseAddress(address): PluginResult<string> {
      return OPAQUE_ID.test(address)
        ? { ok: true, value: address }
        : { ok: false, reason: `"${address}" is not an identifier (1-128 printable characters, no spaces)` };
    },
    buildExtra: (_asset, configured) => ({ ok: true, value: configured }),
    async checkPayload(payload, requirements, context) {
      if (Object.keys(payload.payload).length === 0) return { ok: false, reason: "invalid_payload" };
      const digest = await sha256OfStableJson(payload.payload);
      return {
        ok: true,
        value: {
          // The facilitator's verify names the payer; until then the payment is known by its hash.
          payer: `${requirements.network}:unverified`,
          paymentKey: `${requirements.network}:${scheme}:${digest}`,
          expiresAtSeconds: context.nowSeconds + Math.max(requirements.maxTimeoutSeconds, DELEGATED_REPLAY_WINDOW_SECONDS),
        },
      };
    },
  };
}
