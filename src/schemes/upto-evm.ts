// `upto` on EVM networks (specs/schemes/upto/scheme_upto_evm.md): the payer signs a Permit2 witness transfer of
// at most `amount` (the offer's maximum) whose spender is x402's upto proxy and whose witness names the recipient
// and the one facilitator allowed to settle; the gateway settles what was used (docs/metering.md). Checked here
// as the facilitator's verify does, short of simulating the transfer.
import { getAddress, isAddress, isAddressEqual, type Hex } from "viem";
import * as z from "zod";
import type { PaymentRequirements } from "../x402/schemas.js";
import { PERMIT2_ADDRESS } from "./evm/permit2.js";
import { EvmAddress, EvmHex, signatureMayBePayers, Uint256 } from "./evm/typed-signature.js";
import type { CheckContext, SchemePlugin } from "./scheme-plugin.js";

/** x402's upto proxy (CREATE2, one address on every chain): the only spender an upto payment may name. */
export const X402_UPTO_PERMIT2_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
/** The facilitator refuses permits expiring sooner than this. */
const DEADLINE_MARGIN_SECONDS = 6;

const UptoPayloadSchema = z.object({
  signature: EvmHex(),
  permit2Authorization: z.object({
    from: EvmAddress,
    permitted: z.object({ token: EvmAddress, amount: Uint256 }),
    spender: EvmAddress,
    nonce: Uint256,
    deadline: Uint256,
    witness: z.object({ to: EvmAddress, facilitator: EvmAddress, validAfter: Uint256 }),
  }),
});
type UptoPayload = z.infer<typeof UptoPayloadSchema>;

const UPTO_WITNESS_TYPES = {
  PermitWitnessTransferFrom: [
    { name: "permitted", type: "TokenPermissions" },
    { name: "spender", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "witness", type: "Witness" },
  ],
  TokenPermissions: [
    { name: "token", type: "address" },
    { name: "amount", type: "uint256" },
  ],
  Witness: [
    { name: "to", type: "address" },
    { name: "facilitator", type: "address" },
    { name: "validAfter", type: "uint256" },
  ],
} as const;

export const uptoEvmScheme: SchemePlugin = {
  scheme: "upto",
  namespace: "eip155",

  parseAddress(address) {
    return isAddress(address, { strict: false }) ? { ok: true, value: getAddress(address) } : { ok: false, reason: `"${address}" is not an EVM address` };
  },

  buildExtra(asset, configured) {
    const name = configured?.name ?? asset?.name;
    const version = configured?.version ?? asset?.version;
    // Permit2 signs under its own domain: the token's name/version are for the client's EIP-2612 approval, if known.
    return { ok: true, value: { ...configured, ...(typeof name === "string" && typeof version === "string" ? { name, version } : {}), assetTransferMethod: "permit2" } };
  },

  async completeOffer(offer, facilitator) {
    if (typeof offer.extra?.facilitatorAddress === "string") return { ok: true, value: offer };
    // The payer's witness names the facilitator that may settle: it must be one that settles upto here.
    const kinds = await facilitator.supportedKinds();
    const kind = kinds.find((k) => k.x402Version === 2 && k.scheme === "upto" && k.network === offer.network && typeof k.extra?.facilitatorAddress === "string");
    const address = kind && String(kind.extra!.facilitatorAddress);
    if (!address || !isAddress(address, { strict: false })) return { ok: false, reason: `the facilitator lists no upto payments with a facilitatorAddress on ${offer.network}` };
    // Kept as the facilitator spells it: failover matches offers to facilitators by their /supported extra.
    return { ok: true, value: { ...offer, extra: { ...offer.extra, facilitatorAddress: address } } };
  },

  async checkPayload(payload, requirements, context) {
    const parsed = UptoPayloadSchema.safeParse(payload.payload);
    if (!parsed.success) return { ok: false, reason: "invalid_payload" };
    const permit = parsed.data.permit2Authorization;
    const fail = (reason: string) => ({ ok: false as const, reason });
    if (!isAddressEqual(permit.spender as Hex, X402_UPTO_PERMIT2_PROXY)) return fail("invalid_permit2_spender");
    if (!isAddressEqual(permit.witness.to as Hex, requirements.payTo as Hex)) return fail("invalid_permit2_recipient_mismatch");
    const facilitatorAddress = requirements.extra?.facilitatorAddress;
    if (typeof facilitatorAddress !== "string" || !isAddressEqual(permit.witness.facilitator as Hex, facilitatorAddress as Hex)) return fail("upto_facilitator_mismatch");
    if (BigInt(permit.deadline) < BigInt(context.nowSeconds + DEADLINE_MARGIN_SECONDS)) return fail("permit2_deadline_expired");
    if (BigInt(permit.witness.validAfter) > BigInt(context.nowSeconds)) return fail("permit2_not_yet_valid");
    // The signed maximum is the offer's: a smaller one would cap what the meter may charge below the rule's cap.
    if (BigInt(permit.permitted.amount) !== BigInt(requirements.amount)) return fail("permit2_amount_mismatch");
    if (!isAddressEqual(permit.permitted.token as Hex, requirements.asset as Hex)) return fail("permit2_token_mismatch");
    if (!(await signatureMayBeValid(parsed.data, requirements, context))) return fail("invalid_permit2_signature");
    const payer = getAddress(permit.from);
    return {
      ok: true,
      value: {
        payer,
        // One Permit2 nonce space per owner and chain, shared with exact's Permit2 payments.
        paymentKey: `${requirements.network}:permit2:${payer.toLowerCase()}:${permit.nonce}`,
        expiresAtSeconds: Number(permit.deadline),
      },
    };
  },
};

function signatureMayBeValid(payload: UptoPayload, requirements: PaymentRequirements, context: CheckContext): Promise<boolean> {
  const permit = payload.permit2Authorization;
  const typedData = {
    domain: { name: "Permit2", chainId: Number(requirements.network.split(":")[1]), verifyingContract: PERMIT2_ADDRESS },
    types: UPTO_WITNESS_TYPES,
    primaryType: "PermitWitnessTransferFrom",
    message: {
      permitted: { token: permit.permitted.token as Hex, amount: BigInt(permit.permitted.amount) },
      spender: permit.spender as Hex,
      nonce: BigInt(permit.nonce),
      deadline: BigInt(permit.deadline),
      witness: { to: permit.witness.to as Hex, facilitator: permit.witness.facilitator as Hex, validAfter: BigInt(permit.witness.validAfter) },
    },
  } as const;
  return signatureMayBePayers(permit.from, typedData, payload.signature as Hex, requirements.network, context);
}
