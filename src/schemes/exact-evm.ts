// `exact` on EVM networks (specs/schemes/exact/scheme_exact_evm.md): an EIP-3009 `transferWithAuthorization`
// payload, or a Permit2 witness transfer (./evm/permit2.ts) for tokens whose offer says `assetTransferMethod: "permit2"`.
import { getAddress, type Hex } from "viem";
import * as z from "zod";
import type { PaymentRequirements } from "../x402/schemas.js";
import { checkPermit2Payload, Permit2PayloadSchema, permit2Extra } from "./evm/permit2.js";
import {
  EIP3009_AUTHORIZATION_FIELDS,
  EvmAddress,
  EvmHex,
  parseEvmAddress,
  checkPayersSignature,
  Uint256,
  type PayersSignature,
} from "./evm/typed-signature.js";
import type { CheckContext, SchemePlugin } from "./scheme-plugin.js";

const Eip3009PayloadSchema = z.object({
  signature: EvmHex(),
  authorization: z.object({
    from: EvmAddress,
    to: EvmAddress,
    value: Uint256,
    validAfter: Uint256,
    validBefore: Uint256,
    nonce: EvmHex(32),
  }),
});

export const exactEvmScheme: SchemePlugin = {
  scheme: "exact",
  namespace: "eip155",

  parseAddress: parseEvmAddress,

  buildExtra(asset, configured) {
    const name = configured?.name ?? asset?.name;
    const version = configured?.version ?? asset?.version;
    const method = configured?.assetTransferMethod ?? asset?.assetTransferMethod ?? "eip3009";
    if (method === "permit2") return { ok: true, value: permit2Extra(asset, configured) };
    if (method !== "eip3009") return { ok: false, reason: `assetTransferMethod must be "eip3009" or "permit2"` };
    if (typeof name !== "string" || typeof version !== "string") {
      return { ok: false, reason: "exact on EVM needs the token's EIP-712 name and version (asset registry or extra)" };
    }
    return { ok: true, value: { ...configured, name, version } };
  },

  async checkPayload(payload, requirements, context) {
    const { nowSeconds } = context;
    // The payload's shape says which transfer the payer signed, as the facilitator reads it.
    if (Object.hasOwn(payload.payload, "permit2Authorization")) {
      const permit2 = Permit2PayloadSchema.safeParse(payload.payload);
      return permit2.success ? checkPermit2Payload(permit2.data, requirements, context) : { ok: false, reason: "invalid_payload" };
    }
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
    // One that could expire before its settle would buy the origin's work for nothing (pipeline/payment-window.ts).
    if (BigInt(authorization.validBefore) < BigInt(context.validUntilSeconds)) {
      return { ok: false, reason: "invalid_exact_evm_payload_authorization_valid_before" };
    }
    const payer = getAddress(authorization.from);
    const signature = await payersSignature(parsed.data, requirements, context);
    if (signature === "forged") return { ok: false, reason: "invalid_exact_evm_payload_signature" };
    return {
      ok: true,
      value: {
        payer,
        signatureProven: signature === "signed",
        paymentKey: `${requirements.network}:${payer.toLowerCase()}:${authorization.nonce.toLowerCase()}`,
        lockGroup: `${requirements.network}:${payer.toLowerCase()}`,
        expiresAtSeconds: Number(authorization.validBefore),
        chainNonce: { method: "eip3009", nonce: authorization.nonce },
      },
    };
  },
};

async function payersSignature(
  payload: z.infer<typeof Eip3009PayloadSchema>,
  requirements: PaymentRequirements,
  context: CheckContext,
): Promise<PayersSignature> {
  const { authorization } = payload;
  const typedData = {
    domain: {
      name: String(requirements.extra?.name),
      version: String(requirements.extra?.version),
      chainId: Number(requirements.network.split(":")[1]),
      verifyingContract: requirements.asset as Hex,
    },
    types: { TransferWithAuthorization: EIP3009_AUTHORIZATION_FIELDS },
    primaryType: "TransferWithAuthorization",
    message: {
      from: authorization.from as Hex,
      to: authorization.to as Hex,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
      nonce: authorization.nonce as Hex,
    },
  } as const;
  return checkPayersSignature(authorization.from, typedData, payload.signature as Hex, requirements.network, context);
}
