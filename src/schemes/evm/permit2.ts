// Permit2 witness transfers, as x402 uses them: the payer signs a Permit2 `PermitWitnessTransferFrom` whose spender
// is one of x402's proxies and whose witness names the recipient. Two variants share it: Permit2 `exact`
// (specs/schemes/exact/scheme_exact_evm.md; the amount moved is the amount signed) and `upto`
// (specs/schemes/upto/scheme_upto_evm.md; the witness also names the one facilitator that may settle, and the
// amount signed is a maximum). Checked here as the facilitator's verify does, short of simulating the transfer.
import { getAddress, isAddressEqual, type Hex } from "viem";
import * as z from "zod";
import type { AssetInfo } from "../../pricing/assets.js";
import type { PaymentRequirements } from "../../x402/schemas.js";
import type { CheckContext, CheckedPayment, PluginResult } from "../scheme-plugin.js";
import { EvmAddress, EvmHex, signatureMayBePayers, Uint256 } from "./typed-signature.js";

/** Uniswap's Permit2, at one address on every chain. */
export const PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
/** The x402 exact proxy (CREATE2, one address on every chain): the only spender the facilitator settles through. */
export const X402_EXACT_PERMIT2_PROXY = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001";
/** x402's upto proxy (CREATE2, one address on every chain): the only spender an upto payment may name. */
export const X402_UPTO_PERMIT2_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";

const witnessTransferTypes = <W extends readonly { name: string; type: string }[]>(witness: W) =>
  ({
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
    Witness: witness,
  }) as const;

export const PERMIT2_WITNESS_TYPES = witnessTransferTypes([
  { name: "to", type: "address" },
  { name: "validAfter", type: "uint256" },
] as const);
export const UPTO_WITNESS_TYPES = witnessTransferTypes([
  { name: "to", type: "address" },
  { name: "facilitator", type: "address" },
  { name: "validAfter", type: "uint256" },
] as const);

const payloadSchema = <W extends z.ZodRawShape>(witness: W) =>
  z.object({
    signature: EvmHex(),
    permit2Authorization: z.object({
      from: EvmAddress,
      permitted: z.object({ token: EvmAddress, amount: Uint256 }),
      spender: EvmAddress,
      nonce: Uint256,
      deadline: Uint256,
      witness: z.object({ to: EvmAddress, validAfter: Uint256, ...witness }),
    }),
  });

export const Permit2PayloadSchema = payloadSchema({});
export const UptoPayloadSchema = payloadSchema({ facilitator: EvmAddress });
type WitnessTransferPayload = z.infer<typeof UptoPayloadSchema> | z.infer<typeof Permit2PayloadSchema>;

/** Permit2 signs under its own domain: the token's name/version only serve an EIP-2612 approval, if known. */
export function permit2Extra(asset: AssetInfo | undefined, configured: Record<string, unknown> | undefined): Record<string, unknown> {
  const name = configured?.name ?? asset?.name;
  const version = configured?.version ?? asset?.version;
  return {
    ...configured,
    ...(typeof name === "string" && typeof version === "string" ? { name, version } : {}),
    assetTransferMethod: "permit2",
  };
}

export async function checkPermit2Payload(
  payload: z.infer<typeof Permit2PayloadSchema>,
  requirements: PaymentRequirements,
  context: CheckContext,
): Promise<PluginResult<CheckedPayment>> {
  const checked = await checkWitnessTransfer(payload, requirements, context, X402_EXACT_PERMIT2_PROXY);
  // The exact amount to the signed payee, through any facilitator: the chain can say what became of it (issue #34).
  return checked.ok
    ? {
        ok: true,
        value: { ...checked.value, chainNonce: { method: "permit2", permit2Nonce: BigInt(payload.permit2Authorization.nonce).toString() } },
      }
    : checked;
}

export function checkUptoPayload(
  payload: z.infer<typeof UptoPayloadSchema>,
  requirements: PaymentRequirements,
  context: CheckContext,
): Promise<PluginResult<CheckedPayment>> {
  // The witness names the facilitator that may settle: it must be the one the offer names.
  const facilitatorAddress = requirements.extra?.facilitatorAddress;
  const named =
    typeof facilitatorAddress === "string" &&
    isAddressEqual(payload.permit2Authorization.witness.facilitator as Hex, facilitatorAddress as Hex);
  return checkWitnessTransfer(payload, requirements, context, X402_UPTO_PERMIT2_PROXY, named ? undefined : "upto_facilitator_mismatch");
}

async function checkWitnessTransfer(
  payload: WitnessTransferPayload,
  requirements: PaymentRequirements,
  context: CheckContext,
  spender: string,
  witnessProblem?: string,
): Promise<PluginResult<CheckedPayment>> {
  const permit = payload.permit2Authorization;
  const fail = (reason: string): PluginResult<CheckedPayment> => ({ ok: false, reason });
  if (!isAddressEqual(permit.spender as Hex, spender as Hex)) return fail("invalid_permit2_spender");
  if (!isAddressEqual(permit.witness.to as Hex, requirements.payTo as Hex)) return fail("invalid_permit2_recipient_mismatch");
  if (witnessProblem) return fail(witnessProblem);
  // A permit that could expire before its settle (a metered stream's included) buys work or content for nothing.
  if (BigInt(permit.deadline) < BigInt(context.validUntilSeconds)) return fail("permit2_deadline_expired");
  if (BigInt(permit.witness.validAfter) > BigInt(context.nowSeconds)) return fail("permit2_not_yet_valid");
  // For upto the signed maximum is the offer's: a smaller one would cap the meter below the rule's maximum.
  if (BigInt(permit.permitted.amount) !== BigInt(requirements.amount)) return fail("permit2_amount_mismatch");
  if (!isAddressEqual(permit.permitted.token as Hex, requirements.asset as Hex)) return fail("permit2_token_mismatch");
  if (!(await signatureMayBeValid(payload, requirements, context))) return fail("invalid_permit2_signature");
  const payer = getAddress(permit.from);
  return {
    ok: true,
    value: {
      payer,
      // Permit2 nonces are per owner and chain, shared by every token and spender: that is what one use spends. Keyed
      // by its number: "05" and "5" sign and spend the same nonce, so they must meet the same lock.
      paymentKey: `${requirements.network}:permit2:${payer.toLowerCase()}:${BigInt(permit.nonce)}`,
      lockGroup: `${requirements.network}:${payer.toLowerCase()}`,
      expiresAtSeconds: Number(permit.deadline),
    },
  };
}

function signatureMayBeValid(payload: WitnessTransferPayload, requirements: PaymentRequirements, context: CheckContext): Promise<boolean> {
  const permit = payload.permit2Authorization;
  const { to, validAfter } = permit.witness;
  const facilitator = "facilitator" in permit.witness ? permit.witness.facilitator : undefined;
  const typedData = {
    domain: { name: "Permit2", chainId: Number(requirements.network.split(":")[1]), verifyingContract: PERMIT2_ADDRESS },
    types: facilitator === undefined ? PERMIT2_WITNESS_TYPES : UPTO_WITNESS_TYPES,
    primaryType: "PermitWitnessTransferFrom",
    message: {
      permitted: { token: permit.permitted.token as Hex, amount: BigInt(permit.permitted.amount) },
      spender: permit.spender as Hex,
      nonce: BigInt(permit.nonce),
      deadline: BigInt(permit.deadline),
      witness: { to: to as Hex, ...(facilitator === undefined ? {} : { facilitator: facilitator as Hex }), validAfter: BigInt(validAfter) },
    },
  } as const;
  return signatureMayBePayers(
    permit.from,
    typedData as Parameters<typeof signatureMayBePayers>[1],
    payload.signature as Hex,
    requirements.network,
    context,
  );
}
