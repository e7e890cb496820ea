// `batch-settlement` on EVM networks (specs/schemes/batch-settlement/scheme_batch_settlement_evm.md): the payer
// deposits once into a channel held by x402's escrow and then pays each call with a cumulative voucher it signs;
// the gateway keeps the channel (payment-modes/channel/channel-mode.ts, channels/payment-channel.ts) and claims the vouchers
// on chain in batches. Checked here: the channel is the offer's, its id is its config's, the voucher is signed by
// the payer's authorizer, and a deposit's authorization moves the deposit into this channel.
import { encodeAbiParameters, isAddress, isAddressEqual, keccak256, type Hex } from "viem";
import * as z from "zod";
import type { PaymentRequirements } from "../x402/schemas.js";
import {
  BATCH_SETTLEMENT_SCHEME,
  chainIdOf,
  ChannelConfigSchema,
  computeChannelId,
  ERC3009_DEPOSIT_COLLECTOR,
  MAX_WITHDRAW_DELAY,
  MIN_WITHDRAW_DELAY,
  PERMIT2_DEPOSIT_COLLECTOR,
  SignedVoucherSchema,
  Uint128,
  voucherSigner,
  voucherTypedData,
} from "./evm/channel-typed-data.js";
import {
  checkPayersSignature,
  EIP3009_AUTHORIZATION_FIELDS,
  EvmAddress,
  EvmHex,
  parseEvmAddress,
  signatureMayBePayers,
  typedDataSignedBy,
  Uint256,
  type PayersSignature,
} from "./evm/typed-signature.js";
import type { CheckContext, PluginResult, SchemePlugin } from "./scheme-plugin.js";

const DEFAULT_WITHDRAW_DELAY = 900;

const Erc3009DepositSchema = z.object({ validAfter: Uint256, validBefore: Uint256, salt: EvmHex(32), signature: EvmHex() });
const Permit2DepositSchema = z.object({
  from: EvmAddress,
  permitted: z.object({ token: EvmAddress, amount: Uint256 }),
  spender: EvmAddress,
  nonce: Uint256,
  deadline: Uint256,
  witness: z.object({ channelId: EvmHex(32) }),
  signature: EvmHex(),
});

const ChannelFields = { channelConfig: ChannelConfigSchema, voucher: SignedVoucherSchema };
const ChannelPayloadSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("voucher"), ...ChannelFields }),
  z.object({
    type: z.literal("deposit"),
    ...ChannelFields,
    deposit: z.object({
      amount: Uint128,
      authorization: z.union([
        z.object({ erc3009Authorization: Erc3009DepositSchema }),
        z.object({ permit2Authorization: Permit2DepositSchema }),
      ]),
    }),
  }),
  z.object({ type: z.literal("refund"), ...ChannelFields, amount: Uint128.optional() }),
]);
export type ChannelPayload = z.infer<typeof ChannelPayloadSchema>;

/** Payloads parsed here, by the object the request carried: the channel mode reads the one checkPayload parsed. */
const parsedPayloads = new WeakMap<object, ChannelPayload>();

/** A batch-settlement payload, for the channel mode: undefined when it is not one (checkPayload refuses those). */
export function parseChannelPayload(payload: unknown): ChannelPayload | undefined {
  const known = typeof payload === "object" && payload !== null ? parsedPayloads.get(payload) : undefined;
  if (known) return known;
  const parsed = ChannelPayloadSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  if (typeof payload === "object" && payload !== null) parsedPayloads.set(payload, parsed.data);
  return parsed.data;
}

const ChannelExtraSchema = z.object({
  withdrawDelay: z.number().int().min(MIN_WITHDRAW_DELAY).max(MAX_WITHDRAW_DELAY).default(DEFAULT_WITHDRAW_DELAY),
  assetTransferMethod: z.enum(["eip3009", "permit2"]).optional(),
  minDeposit: Uint256.optional(),
  receiverAuthorizer: EvmAddress.optional(),
});

export const batchSettlementEvmScheme: SchemePlugin = {
  scheme: BATCH_SETTLEMENT_SCHEME,
  namespace: "eip155",
  parseAddress: parseEvmAddress,

  buildExtra(asset, configured) {
    const parsed = ChannelExtraSchema.safeParse(configured ?? {});
    if (!parsed.success)
      return {
        ok: false,
        reason: `batch-settlement extra: ${parsed.error.issues.map((i) => `${i.path.join(".") || "extra"} ${i.message}`).join("; ")}`,
      };
    const name = configured?.name ?? asset?.name;
    const version = configured?.version ?? asset?.version;
    const method = parsed.data.assetTransferMethod ?? asset?.assetTransferMethod ?? "eip3009";
    if (method === "eip3009" && (typeof name !== "string" || typeof version !== "string")) {
      return {
        ok: false,
        reason: "batch-settlement deposits by EIP-3009 need the token's EIP-712 name and version (asset registry or extra)",
      };
    }
    return {
      ok: true,
      value: {
        ...configured,
        ...parsed.data,
        ...(typeof name === "string" ? { name } : {}),
        ...(typeof version === "string" ? { version } : {}),
        assetTransferMethod: method,
      },
    };
  },

  async completeOffer(offer, facts) {
    if (typeof offer.extra?.receiverAuthorizer === "string") return { ok: true, value: offer };
    // Whoever holds this key signs the claims and refunds of every channel opened on the offer: the gateway's own
    // key (CHANNEL_AUTHORIZER_KEY) when it has one, else the key a facilitator offers to sign with.
    let authorizer = facts.channelAuthorizer;
    if (!authorizer) {
      const kinds = await facts.supportedKinds();
      const kind = kinds.find(
        (k) =>
          k.x402Version === 2 &&
          k.scheme === BATCH_SETTLEMENT_SCHEME &&
          k.network === offer.network &&
          typeof k.extra?.receiverAuthorizer === "string",
      );
      authorizer = kind && String(kind.extra!.receiverAuthorizer);
    }
    if (!authorizer || !isAddress(authorizer, { strict: false })) {
      return {
        ok: false,
        reason: `batch-settlement on ${offer.network} needs a receiverAuthorizer: set CHANNEL_AUTHORIZER_KEY, or use a facilitator that lists one`,
      };
    }
    return { ok: true, value: { ...offer, extra: { ...offer.extra, receiverAuthorizer: authorizer } } };
  },

  async checkPayload(payload, requirements, context) {
    const channel = parseChannelPayload(payload.payload);
    if (!channel) return { ok: false, reason: "invalid_payload" };
    const bound = checkChannelBinding(channel, requirements);
    if (!bound.ok) return bound;
    const signature = await voucherSignature(channel, requirements.network, context);
    if (signature === "forged") return { ok: false, reason: "invalid_batch_settlement_evm_voucher_signature" };
    if (channel.type === "deposit") {
      const deposit = await checkDeposit(channel, requirements, context);
      if (!deposit.ok) return deposit;
    }
    const channelId = bound.value;
    const suffix = channel.type === "refund" ? `refund:${channel.voucher.maxClaimableAmount}` : channel.voucher.maxClaimableAmount;
    return {
      ok: true,
      value: {
        payer: channel.channelConfig.payer,
        // Only a voucher recovered here to its signer is trusted without the facilitator (security review F2).
        signatureProven: signature === "signed",
        paymentKey: `${requirements.network}:${channelId}:${suffix}`,
        expiresAtSeconds: context.nowSeconds + requirements.maxTimeoutSeconds,
        channel: { channelId },
      },
    };
  },
};

/** The channel must be the one this offer opens: same receiver, authorizer, token and delay; its id its config's. */
function checkChannelBinding(channel: ChannelPayload, requirements: PaymentRequirements): PluginResult<string> {
  const config = channel.channelConfig;
  const extra = requirements.extra ?? {};
  const mismatch =
    !isAddressEqual(config.receiver as Hex, requirements.payTo as Hex) ||
    !isAddressEqual(config.token as Hex, requirements.asset as Hex) ||
    typeof extra.receiverAuthorizer !== "string" ||
    !isAddressEqual(config.receiverAuthorizer as Hex, extra.receiverAuthorizer as Hex) ||
    config.withdrawDelay !== extra.withdrawDelay;
  if (mismatch) return { ok: false, reason: "invalid_batch_settlement_evm_channel_config_mismatch" };
  const channelId = computeChannelId(config, requirements.network);
  if (channel.voucher.channelId.toLowerCase() !== channelId)
    return { ok: false, reason: "invalid_batch_settlement_evm_channel_id_mismatch" };
  return { ok: true, value: channelId };
}

/**
 * "signed": recovered here to the channel's signer. "unproven": a zero-authorizer channel's payer may be a contract
 * wallet (EIP-1271), which only the facilitator can check. "forged": neither.
 */
async function voucherSignature(channel: ChannelPayload, network: string, context: CheckContext): Promise<PayersSignature> {
  const { voucher } = channel;
  const typedData = voucherTypedData(voucher.channelId, voucher.maxClaimableAmount, network);
  const signer = voucherSigner(channel.channelConfig);
  if (signer.contractAllowed) return checkPayersSignature(signer.address, typedData, voucher.signature as Hex, network, context);
  // An authorizer key is an EOA: the escrow recovers it with plain ECDSA, and so does this check.
  return typedDataSignedBy(signer.address, typedData, voucher.signature as Hex) ? "signed" : "forged";
}

/** The deposit's authorization must move exactly the deposit, into this channel, and still be usable. */
async function checkDeposit(
  channel: Extract<ChannelPayload, { type: "deposit" }>,
  requirements: PaymentRequirements,
  context: CheckContext,
): Promise<PluginResult<true>> {
  const { deposit, channelConfig: config, voucher } = channel;
  if (BigInt(deposit.amount) === 0n) return { ok: false, reason: "invalid_batch_settlement_evm_deposit_amount" };
  // The deposit settles after the origin answered: it must outlive that (pipeline/payment-window.ts).
  const minValidBefore = BigInt(context.validUntilSeconds);
  if ("permit2Authorization" in deposit.authorization) {
    const permit = deposit.authorization.permit2Authorization;
    const bound =
      isAddressEqual(permit.from as Hex, config.payer as Hex) &&
      isAddressEqual(permit.spender as Hex, PERMIT2_DEPOSIT_COLLECTOR) &&
      isAddressEqual(permit.permitted.token as Hex, requirements.asset as Hex) &&
      permit.permitted.amount === deposit.amount &&
      permit.witness.channelId.toLowerCase() === voucher.channelId.toLowerCase();
    if (!bound) return { ok: false, reason: "invalid_batch_settlement_evm_permit2_authorization" };
    if (BigInt(permit.deadline) < minValidBefore) return { ok: false, reason: "invalid_batch_settlement_evm_permit2_deadline" };
    return { ok: true, value: true };
  }
  const authorization = deposit.authorization.erc3009Authorization;
  if (BigInt(authorization.validAfter) > BigInt(context.nowSeconds))
    return { ok: false, reason: "invalid_batch_settlement_evm_authorization_valid_after" };
  if (BigInt(authorization.validBefore) < minValidBefore)
    return { ok: false, reason: "invalid_batch_settlement_evm_authorization_valid_before" };
  const typedData = {
    domain: {
      name: String(requirements.extra?.name),
      version: String(requirements.extra?.version),
      chainId: chainIdOf(requirements.network),
      verifyingContract: requirements.asset as Hex,
    },
    types: { ReceiveWithAuthorization: EIP3009_AUTHORIZATION_FIELDS },
    primaryType: "ReceiveWithAuthorization",
    message: {
      from: config.payer as Hex,
      to: ERC3009_DEPOSIT_COLLECTOR,
      value: BigInt(deposit.amount),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
      // The collector derives the nonce from the channel: an authorization for one channel cannot fund another.
      nonce: keccak256(
        encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [voucher.channelId as Hex, BigInt(authorization.salt)]),
      ),
    },
  } as const;
  const valid = await signatureMayBePayers(config.payer, typedData, authorization.signature as Hex, requirements.network, context);
  return valid ? { ok: true, value: true } : { ok: false, reason: "invalid_batch_settlement_evm_authorization_signature" };
}
