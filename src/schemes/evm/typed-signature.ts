// What the EVM schemes (exact with EIP-3009 or Permit2, upto) share: payload field shapes, and whether an EIP-712
// signature may be the payer's.
import { getAddress, isAddress, size, type Hex, type TypedDataDefinition } from "viem";
import * as z from "zod";
import type { CheckContext, PluginResult } from "../scheme-plugin.js";
import { signedBy } from "./signer-check.js";
import { hashTypedDataFast } from "./typed-data-hash.js";

/** 0x-hex of exactly `bytes` bytes, or of any whole number of bytes. */
export const EvmHex = (bytes?: number) => z.string().regex(bytes ? new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`) : /^0x([0-9a-fA-F]{2})+$/);
export const EvmAddress = EvmHex(20);
const UINT256_MAX = 2n ** 256n - 1n;
/** A uint256 in decimal (78 digits allow more than 2^256 - 1: refused, as the chain would). */
export const Uint256 = z
  .string()
  .regex(/^\d{1,78}$/)
  // Checked again: zod runs a refinement even when the pattern failed, and BigInt throws on what is not digits.
  .refine((digits) => /^\d+$/.test(digits) && BigInt(digits) <= UINT256_MAX, "above uint256");

/** The fields of an EIP-3009 authorization (TransferWithAuthorization and ReceiveWithAuthorization alike). */
export const EIP3009_AUTHORIZATION_FIELDS = [
  { name: "from", type: "address" },
  { name: "to", type: "address" },
  { name: "value", type: "uint256" },
  { name: "validAfter", type: "uint256" },
  { name: "validBefore", type: "uint256" },
  { name: "nonce", type: "bytes32" },
] as const;

/** Checksumming hashes the address: every rule of a 10,000-rule document and every 402 names the same few. */
const parsedAddresses = new Map<string, PluginResult<string>>();
const PARSED_ADDRESSES_MAX = 10_000;

/** A configured EVM address (payTo or asset), checksummed. */
export function parseEvmAddress(address: string): PluginResult<string> {
  let parsed = parsedAddresses.get(address);
  if (parsed) return parsed;
  parsed = isAddress(address, { strict: false })
    ? { ok: true, value: getAddress(address) }
    : { ok: false, reason: `"${address}" is not an EVM address` };
  // Per-request payees (tenant tables, quotes) are unbounded: start over rather than grow.
  if (parsedAddresses.size >= PARSED_ADDRESSES_MAX) parsedAddresses.clear();
  parsedAddresses.set(address, parsed);
  return parsed;
}

type TypedData = TypedDataDefinition;

/** `signer` made this EOA signature over the typed data (ecrecover's answer); false when it is not one. */
export function typedDataSignedBy(signer: string, typedData: TypedData, signature: Hex): boolean {
  try {
    return size(signature) === 65 && signedBy(signer, hashTypedDataFast(typedData), signature);
  } catch {
    // Typed data that does not encode: nothing could have signed it.
    return false;
  }
}

/** "signed": an EOA's signature, recovered here; "unproven": perhaps a contract wallet's, the facilitator decides. */
export type PayersSignature = "signed" | "unproven" | "forged";

/**
 * Checks the EIP-712 signer locally. A match is an EOA's valid signature. A mismatch is a forgery unless the
 * payer is a contract wallet (EIP-1271: its owner key signs, so the recovered key differs); asked on chain when
 * an RPC is configured, otherwise left to the facilitator. Longer signatures (EIP-6492 wrappers) likewise.
 */
export async function checkPayersSignature(
  payer: string,
  typedData: TypedData,
  signature: Hex,
  network: string,
  context: CheckContext,
): Promise<PayersSignature> {
  if (typedDataSignedBy(payer, typedData, signature)) return "signed";
  return (await context.isContract(network, payer)) !== false ? "unproven" : "forged";
}

export async function signatureMayBePayers(
  payer: string,
  typedData: TypedData,
  signature: Hex,
  network: string,
  context: CheckContext,
): Promise<boolean> {
  return (await checkPayersSignature(payer, typedData, signature, network, context)) !== "forged";
}
