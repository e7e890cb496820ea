// `upto` on EVM networks (specs/schemes/upto/scheme_upto_evm.md): the payer signs a Permit2 witness transfer of
// at most `amount` (the offer's maximum) to x402's upto proxy, whose witness names the recipient and the one
// facilitator allowed to settle; the gateway settles what was used (docs/metering.md). Checked as Permit2 `exact`
// is (./evm/permit2.ts), plus the facilitator.
import { isAddress } from "viem";
import { checkUptoPayload, permit2Extra, UptoPayloadSchema } from "./evm/permit2.js";
import { parseEvmAddress } from "./evm/typed-signature.js";
import type { SchemePlugin } from "./scheme-plugin.js";

export const uptoEvmScheme: SchemePlugin = {
  scheme: "upto",
  namespace: "eip155",
  settles: "usage",
  parseAddress: parseEvmAddress,

  buildExtra(asset, configured) {
    return { ok: true, value: permit2Extra(asset, configured) };
  },

  async completeOffer(offer, facilitator) {
    if (typeof offer.extra?.facilitatorAddress === "string") return { ok: true, value: offer };
    // The payer's witness names the facilitator that may settle: it must be one that settles upto here.
    const kinds = await facilitator.supportedKinds();
    const kind = kinds.find(
      (k) => k.x402Version === 2 && k.scheme === "upto" && k.network === offer.network && typeof k.extra?.facilitatorAddress === "string",
    );
    const address = kind && String(kind.extra!.facilitatorAddress);
    if (!address || !isAddress(address, { strict: false }))
      return { ok: false, reason: `the facilitator lists no upto payments with a facilitatorAddress on ${offer.network}` };
    // Kept as the facilitator spells it: failover matches offers to facilitators by their /supported extra.
    return { ok: true, value: { ...offer, extra: { ...offer.extra, facilitatorAddress: address } } };
  },

  checkPayload(payload, requirements, context) {
    const parsed = UptoPayloadSchema.safeParse(payload.payload);
    return parsed.success ? checkUptoPayload(parsed.data, requirements, context) : { ok: false, reason: "invalid_payload" };
  },
};
