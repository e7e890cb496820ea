// Checks a SIGN-IN-WITH-X proof: the message fields against this request (pure), then the signature.
// Reason strings follow the sign-in-with-x extension's error codes.
import { encodeAbiParameters, hashMessage, isAddress, size, type Hex } from "viem";
import { callCreationCode, EvmRpcError, type EvmRpc } from "../schemes/evm/evm-rpc.js";
import { signedBy } from "../schemes/evm/signer-check.js";
import { ERC6492_VALIDATOR_BYTECODE } from "./erc6492-validator-bytecode.js";
import { GatewayFailure } from "../errors.js";
import { decodeBase58 } from "../encoding/base58.js";
import { verifyEd25519 } from "../encoding/ed25519.js";
import { buildSiweMessage } from "./siwe-message.js";
import { buildSiwsMessage } from "./siws-message.js";
import type { SiwxProof } from "./siwx-proof.js";

export type SiwxCheck = { ok: true } | { ok: false; reason: string };

export interface SiwxFieldOptions {
  /** The request's host: the proof's `domain` must equal it. */
  host: string;
  /** The resource's origin: the proof's `uri` must be under it. */
  resourceOrigin: string;
  nowMs: number;
  /** How old `issuedAt` may be. */
  maxAgeSeconds: number;
  /** Tolerated clock skew for `issuedAt` in the future. */
  clockSkewSeconds: number;
}

export function checkSiwxFields(proof: SiwxProof, options: SiwxFieldOptions): SiwxCheck {
  if (proof.domain !== options.host) return { ok: false, reason: "invalid_siwx_domain_mismatch" };
  let uri: URL;
  try {
    uri = new URL(proof.uri);
  } catch {
    return { ok: false, reason: "invalid_siwx_uri_mismatch" };
  }
  if (uri.origin !== options.resourceOrigin) return { ok: false, reason: "invalid_siwx_uri_mismatch" };
  const issuedAt = Date.parse(proof.issuedAt);
  if (Number.isNaN(issuedAt)) return { ok: false, reason: "invalid_siwx_issued_at" };
  if (issuedAt > options.nowMs + options.clockSkewSeconds * 1000) return { ok: false, reason: "invalid_siwx_issued_at_in_future" };
  if (issuedAt < options.nowMs - options.maxAgeSeconds * 1000) return { ok: false, reason: "invalid_siwx_issued_at_too_old" };
  if (proof.expirationTime !== undefined) {
    const expiration = Date.parse(proof.expirationTime);
    if (Number.isNaN(expiration)) return { ok: false, reason: "invalid_siwx_expiration_time" };
    if (expiration <= options.nowMs) return { ok: false, reason: "invalid_siwx_expired" };
  }
  if (proof.notBefore !== undefined) {
    const notBefore = Date.parse(proof.notBefore);
    if (Number.isNaN(notBefore)) return { ok: false, reason: "invalid_siwx_not_before" };
    if (notBefore > options.nowMs) return { ok: false, reason: "invalid_siwx_not_yet_valid" };
  }
  return { ok: true };
}

export interface SiwxSignatureOptions {
  /** CAIP-2 → JSON-RPC URL: where EIP-1271 / EIP-6492 smart-wallet signatures are checked. */
  rpcUrls: Readonly<Record<string, string>> | undefined;
  rpcTimeoutMs: number;
  /**
   * The chains a contract wallet may sign in on: the rule's own networks. One address can be a different contract on
   * another chain (a counterfactual or replayed deployment), and EVM sessions are shared across chains, so a
   * contract's say-so counts only on a chain the rule is paid on (security review F14). An EOA's key is the same
   * everywhere and is not limited.
   */
  contractChains: readonly string[];
}

/**
 * EVM: EIP-191 over the EIP-4361 text — an EOA is recovered locally with no RPC; anything else (contract
 * wallets, EIP-6492 counterfactual wallets) is asked on chain, when an RPC URL is configured for the chain.
 * Solana: Ed25519 over the SIWS text. Throws `siwx_verifier_unavailable` when the RPC cannot answer.
 */
export async function verifySiwxSignature(proof: SiwxProof, options: SiwxSignatureOptions): Promise<SiwxCheck> {
  const [namespace, reference = ""] = proof.chainId.split(":");
  if (namespace === "eip155" && proof.type === "eip191" && /^\d{1,20}$/.test(reference)) return verifyEvm(proof, reference, options);
  if (namespace === "solana" && proof.type === "ed25519") return verifySolana(proof, reference);
  return { ok: false, reason: "invalid_siwx_unsupported_chain" };
}

async function verifyEvm(proof: SiwxProof, chainReference: string, options: SiwxSignatureOptions): Promise<SiwxCheck> {
  if (!isAddress(proof.address, { strict: false }) || !/^0x([0-9a-fA-F]{2})+$/.test(proof.signature)) {
    return { ok: false, reason: "invalid_siwx_malformed_signature" };
  }
  const message = buildSiweMessage(proof, chainReference);
  const signature = proof.signature as Hex;
  const hash = hashMessage(message);
  // Not an EOA's signature: a contract wallet may still accept it.
  if (size(signature) === 65 && signedBy(proof.address, hash, signature)) return { ok: true };
  const rpcUrl = options.rpcUrls?.[proof.chainId];
  if (!rpcUrl || !options.contractChains.includes(proof.chainId)) return { ok: false, reason: "invalid_siwx_signature" };
  let valid: boolean;
  try {
    valid = await isValidOnChain({ url: rpcUrl, timeoutMs: options.rpcTimeoutMs }, proof.address, hash, signature);
  } catch (cause) {
    // An RPC URL often carries its API key: the log says which chain, never the URL (F24).
    const detail = String(cause).replaceAll(rpcUrl, "<RPC_URLS entry>").slice(0, 300);
    throw new GatewayFailure({ kind: "siwx_verifier_unavailable", detail: `${proof.chainId}: ${detail}` }, { cause });
  }
  return valid ? { ok: true } : { ok: false, reason: "invalid_siwx_signature" };
}

/**
 * Asks the chain, through the never-deployed validator (contracts/Erc6492SigValidator.sol): an EIP-6492 wrapped
 * signature of a wallet not deployed yet, a contract wallet's EIP-1271 answer, or a key's ECDSA signature. An RPC
 * that is down throws (EvmRpcError "unavailable"); a signature the chain refused is false.
 */
async function isValidOnChain(rpc: EvmRpc, address: string, hash: Hex, signature: Hex): Promise<boolean> {
  const args = encodeAbiParameters([{ type: "address" }, { type: "bytes32" }, { type: "bytes" }], [address as Hex, hash, signature]);
  try {
    return (await callCreationCode(rpc, `${ERC6492_VALIDATOR_BYTECODE}${args.slice(2)}`)) === "0x01";
  } catch (error) {
    // A malformed EIP-6492 wrapper makes the validator revert: that is a bad signature, not an outage.
    if (error instanceof EvmRpcError && error.kind === "reverted") return false;
    throw error;
  }
}

async function verifySolana(proof: SiwxProof, chainReference: string): Promise<SiwxCheck> {
  const publicKey = decodeBase58(proof.address);
  const signature = decodeBase58(proof.signature);
  if (publicKey?.length !== 32 || signature?.length !== 64) return { ok: false, reason: "invalid_siwx_malformed_signature" };
  const message = new TextEncoder().encode(buildSiwsMessage(proof, chainReference));
  return (await verifyEd25519(publicKey, signature, message)) ? { ok: true } : { ok: false, reason: "invalid_siwx_signature" };
}
