// The Permit2 variant of EVM `exact` (specs/schemes/exact/scheme_exact_evm.md): for tokens without EIP-3009,
// the payer signs a Permit2 `PermitWitnessTransferFrom` whose spender is the x402 exact proxy and whose witness
// names the recipient. Checked here as the facilitator's verify does, short of simulating the transfer.
import { getAddress, isAddressEqual, type Hex } from "viem";
import * as z from "zod";
import type { PaymentRequirements } from "../../x402/schemas.js";
import type { CheckContext, CheckedPayment, PluginResult } from "../scheme-plugin.js";
import { EvmAddress, EvmHex, signatureMayBePayers, Uint256 } from "./typed-signature.js";

/** Uniswap's Permit2, at one address on every chain. */
export const PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
/** The x402 exact proxy (CREATE2, one address on every chain): the only spender the facilitator settles through. */
export const X402_EXACT_PERMIT2_PROXY = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001";
/** The facilitator refuses permits expiring sooner than this. */
const DEADLINE_MARGIN_SECONDS = 6;

export const Permit2PayloadSchema = z.object({
  signature: EvmHex(),
  permit2Authorization: z.object({
    from: EvmAddress,
    permitted: z.object({ token: EvmAddress, amount: Uint256 }),
    spender: EvmAddress,
    nonce: Uint256,
    deadline: Uint256,
    witness: z.object({ to: EvmAddress, validAfter: Uint256 }),
  }),
});
export type Permit2Payload = z.infer<typeof Permit2PayloadSchema>;

export const PERMIT2_WITNESS_TYPES = {
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
    { name: "validAfter", type: "uint256" },
  ],
} as const;

export async function checkPermit2Payload(payload: Permit2Payload, requirements: PaymentRequirements, context: CheckContext): Promise<PluginResult<CheckedPayment>> {
  const permit = payload.permit2Authorization;
  const fail = (reason: string): PluginResult<CheckedPayment> => ({ ok: false, reason });
  if (!isAddressEqual(permit.spender as Hex, X402_EXACT_PERMIT2_PROXY)) return fail("invalid_permit2_spender");
  if (!isAddressEqual(permit.witness.to as Hex, requirements.payTo as Hex)) return fail("invalid_permit2_recipient_mismatch");
  if (BigInt(permit.deadline) < BigInt(context.nowSeconds + DEADLINE_MARGIN_SECONDS)) return fail("permit2_deadline_expired");
  if (BigInt(permit.witness.validAfter) > BigInt(context.nowSeconds)) return fail("permit2_not_yet_valid");
  if (BigInt(permit.permitted.amount) !== BigInt(requirements.amount)) return fail("permit2_amount_mismatch");
  if (!isAddressEqual(permit.permitted.token as Hex, requirements.asset as Hex)) return fail("permit2_token_mismatch");
  if (!(await signatureMayBeValid(payload, requirements, context))) return fail("invalid_permit2_signature");
  const payer = getAddress(permit.from);
  return {
    ok: true,
    value: {
      payer,
      // Permit2 nonces are per owner and chain, shared by every token and spender: that is what one use spends.
      paymentKey: `${requirements.network}:permit2:${payer.toLowerCase()}:${permit.nonce}`,
      expiresAtSeconds: Number(permit.deadline),
    },
  };
}

function signatureMayBeValid(payload: Permit2Payload, requirements: PaymentRequirements, context: CheckContext): Promise<boolean> {
  const permit = payload.permit2Authorization;
  const typedData = {
    domain: { name: "Permit2", chainId: Number(requirements.network.split(":")[1]), verifyingContract: PERMIT2_ADDRESS },
    types: PERMIT2_WITNESS_TYPES,
    primaryType: "PermitWitnessTransferFrom",
    message: {
      permitted: { token: permit.permitted.token as Hex, amount: BigInt(permit.permitted.amount) },
      spender: permit.spender as Hex,
      nonce: BigInt(permit.nonce),
      deadline: BigInt(permit.deadline),
      witness: { to: permit.witness.to as Hex, validAfter: BigInt(permit.witness.validAfter) },
    },
  } as const;
  return signatureMayBePayers(permit.from, typedData, payload.signature as Hex, requirements.network, context);
}
