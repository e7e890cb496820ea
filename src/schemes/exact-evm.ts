// `exact` on EVM networks with an EIP-3009 `transferWithAuthorization` payload (specs/schemes/exact/scheme_exact_evm.md).
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import type { SchemePlugin } from "./scheme-plugin.js";

/** The facilitator refuses authorizations expiring sooner than this; refusing them here saves its round trip. */
const VALID_BEFORE_MARGIN_SECONDS = 6;

const Hex = (bytes?: number) => z.string().regex(bytes ? new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`) : /^0x([0-9a-fA-F]{2})+$/);
const Uint = z.string().regex(/^\d{1,78}$/);

const Eip3009PayloadSchema = z.object({
  signature: Hex(),
  authorization: z.object({
    from: Hex(20),
    to: Hex(20),
    value: Uint,
    validAfter: Uint,
    validBefore: Uint,
    nonce: Hex(32),
  }),
});

export const exactEvmScheme: SchemePlugin = {
  scheme: "exact",
  namespace: "eip155",

  parseAddress(address) {
    return isAddress(address, { strict: false }) ? { ok: true, value: getAddress(address) } : { ok: false, reason: `"${address}" is not an EVM address` };
  },

  buildExtra(asset, configured) {
    const name = configured?.name ?? asset?.name;
    const version = configured?.version ?? asset?.version;
    if (typeof name !== "string" || typeof version !== "string") {
      return { ok: false, reason: "exact on EVM needs the token's EIP-712 name and version (asset registry or extra)" };
    }
    return { ok: true, value: { ...configured, name, version } };
  },

  checkPayload(payload, requirements, nowSeconds) {
    const parsed = Eip3009PayloadSchema.safeParse(payload.payload);
    if (!parsed.success) return { ok: false, reason: "invalid_payload" };
    const { authorization } = parsed.data;
    if (authorization.to.toLowerCase() !== requirements.payTo.toLowerCase()) {
      return { ok: false, reason: "invalid_exact_evm_recipient_mismatch" };
    }
    if (BigInt(authorization.value) !== BigInt(requirements.amount)) {
      return { ok: false, reason: "invalid_exact_evm_payload_authorization_value_mismatch" };
    }
    if (BigInt(authorization.validAfter) > BigInt(nowSeconds)) {
      return { ok: false, reason: "invalid_exact_evm_payload_authorization_valid_after" };
    }
    if (BigInt(authorization.validBefore) < BigInt(nowSeconds + VALID_BEFORE_MARGIN_SECONDS)) {
      return { ok: false, reason: "invalid_exact_evm_payload_authorization_valid_before" };
    }
    const payer = getAddress(authorization.from);
    return {
      ok: true,
      value: {
        payer,
        paymentKey: `${requirements.network}:${payer.toLowerCase()}:${authorization.nonce.toLowerCase()}`,
        expiresAtSeconds: Number(authorization.validBefore),
      },
    };
  },
};
