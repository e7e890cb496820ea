// x402 batch-settlement on EVM (specs/schemes/batch-settlement/scheme_batch_settlement_evm.md): the channel config,
// its id, and the typed data payers and receivers sign, under the escrow's EIP-712 domain. The escrow and its
// collectors sit at one address on every chain (CREATE2); the SDK and the facilitator hard-code them.
import type { Hex } from "viem";
import { hashTypedDataFast } from "./typed-data-hash.js";
import * as z from "zod";
import { EvmAddress, EvmHex, Uint256 } from "./typed-signature.js";

export const BATCH_SETTLEMENT_SCHEME = "batch-settlement";
export const X402_BATCH_SETTLEMENT = "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003";
export const ERC3009_DEPOSIT_COLLECTOR = "0x4020806089470a89826cB9fB1f4059150b550004";
export const PERMIT2_DEPOSIT_COLLECTOR = "0x4020425FAf3B746C082C2f942b4E5159887B0005";
/** The escrow's bounds on how long a payer's withdrawal waits (seconds): claims must land within it. */
export const MIN_WITHDRAW_DELAY = 900;
export const MAX_WITHDRAW_DELAY = 2_592_000;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export const ChannelConfigSchema = z.strictObject({
  payer: EvmAddress,
  payerAuthorizer: EvmAddress,
  receiver: EvmAddress,
  receiverAuthorizer: EvmAddress,
  token: EvmAddress,
  withdrawDelay: z
    .number()
    .int()
    .min(0)
    .max(2 ** 40 - 1),
  salt: EvmHex(32),
});
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;

/** uint128 in decimal: the escrow's amount width. */
export const Uint128 = Uint256.refine((value) => BigInt(value) < 2n ** 128n, "above uint128");

export const SignedVoucherSchema = z.object({
  channelId: EvmHex(32),
  maxClaimableAmount: Uint128,
  signature: EvmHex(),
});
export type SignedVoucher = z.infer<typeof SignedVoucherSchema>;

function channelDomain(chainId: number) {
  return { name: "x402 Batch Settlement", version: "1", chainId, verifyingContract: X402_BATCH_SETTLEMENT } as const;
}

const CHANNEL_CONFIG_TYPES = {
  ChannelConfig: [
    { name: "payer", type: "address" },
    { name: "payerAuthorizer", type: "address" },
    { name: "receiver", type: "address" },
    { name: "receiverAuthorizer", type: "address" },
    { name: "token", type: "address" },
    { name: "withdrawDelay", type: "uint40" },
    { name: "salt", type: "bytes32" },
  ],
} as const;

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "channelId", type: "bytes32" },
    { name: "maxClaimableAmount", type: "uint128" },
  ],
} as const;

export const CLAIM_BATCH_TYPES = {
  ClaimBatch: [{ name: "claims", type: "ClaimEntry[]" }],
  ClaimEntry: [
    { name: "channelId", type: "bytes32" },
    { name: "maxClaimableAmount", type: "uint128" },
    { name: "totalClaimed", type: "uint128" },
  ],
} as const;

export const REFUND_TYPES = {
  Refund: [
    { name: "channelId", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "amount", type: "uint128" },
  ],
} as const;

export function chainIdOf(network: string): number {
  return Number(network.split(":")[1]);
}

/** The channel's id: its config's EIP-712 hash, so it is bound to one chain and one escrow. Lower-case. */
export function computeChannelId(config: ChannelConfig, network: string): Hex {
  return hashTypedDataFast({
    domain: channelDomain(chainIdOf(network)),
    types: CHANNEL_CONFIG_TYPES,
    primaryType: "ChannelConfig",
    message: {
      ...config,
      payer: config.payer as Hex,
      payerAuthorizer: config.payerAuthorizer as Hex,
      receiver: config.receiver as Hex,
      receiverAuthorizer: config.receiverAuthorizer as Hex,
      token: config.token as Hex,
      salt: config.salt as Hex,
    },
  }).toLowerCase() as Hex;
}

export function voucherTypedData(channelId: string, maxClaimableAmount: string, network: string) {
  return {
    domain: channelDomain(chainIdOf(network)),
    types: VOUCHER_TYPES,
    primaryType: "Voucher",
    message: { channelId: channelId as Hex, maxClaimableAmount: BigInt(maxClaimableAmount) },
  } as const;
}

/** Vouchers are signed by the payer's authorizer key; a zero authorizer leaves it to the payer (possibly a contract). */
export function voucherSigner(config: ChannelConfig): { address: string; contractAllowed: boolean } {
  return config.payerAuthorizer.toLowerCase() === ZERO_ADDRESS
    ? { address: config.payer, contractAllowed: true }
    : { address: config.payerAuthorizer, contractAllowed: false };
}

/** One claim row as the facilitator's `claim` and `refund` payloads carry it. */
export interface VoucherClaim {
  voucher: { channel: ChannelConfig; maxClaimableAmount: string };
  signature: string;
  totalClaimed: string;
}

export function claimBatchTypedData(claims: readonly VoucherClaim[], network: string) {
  return {
    domain: channelDomain(chainIdOf(network)),
    types: CLAIM_BATCH_TYPES,
    primaryType: "ClaimBatch",
    message: {
      claims: claims.map((claim) => ({
        channelId: computeChannelId(claim.voucher.channel, network),
        maxClaimableAmount: BigInt(claim.voucher.maxClaimableAmount),
        totalClaimed: BigInt(claim.totalClaimed),
      })),
    },
  } as const;
}

export function refundTypedData(channelId: string, nonce: string, amount: string, network: string) {
  return {
    domain: channelDomain(chainIdOf(network)),
    types: REFUND_TYPES,
    primaryType: "Refund",
    message: { channelId: channelId as Hex, nonce: BigInt(nonce), amount: BigInt(amount) },
  } as const;
}
