// Checks a SIGN-IN-WITH-X proof: the message fields against this request (pure), then the signature.
// Reason strings follow the sign-in-with-x extension's error codes.
import { bytesToHex, createPublicClient, http, isAddress, isAddressEqual, recoverMessageAddress, size, type Hex } from "viem";
import { GatewayFailure } from "../errors.js";
import { decodeBase58 } from "./base58.js";
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
  if (size(signature) === 65) {
    try {
      const signer = await recoverMessageAddress({ message, signature });
      if (isAddressEqual(signer, proof.address)) return { ok: true };
    } catch {
      // Not an ECDSA signature; a contract wallet may still accept it.
    }
  }
  const rpcUrl = options.rpcUrls?.[proof.chainId];
  if (!rpcUrl) return { ok: false, reason: "invalid_siwx_signature" };
  const client = createPublicClient({ transport: http(rpcUrl, { timeout: options.rpcTimeoutMs, retryCount: 0 }) });
  let valid: boolean;
  try {
    // viem reports an unreachable RPC inside verifyMessage as "invalid": probe the RPC first so an outage is a 502.
    await client.getCode({ address: proof.address });
    valid = await client.verifyMessage({ address: proof.address, message, signature });
  } catch (cause) {
    throw new GatewayFailure({ kind: "siwx_verifier_unavailable", detail: `${proof.chainId}: ${String(cause).slice(0, 300)}` }, { cause });
  }
  return valid ? { ok: true } : { ok: false, reason: "invalid_siwx_signature" };
}

async function verifySolana(proof: SiwxProof, chainReference: string): Promise<SiwxCheck> {
  const publicKey = decodeBase58(proof.address);
  const signature = decodeBase58(proof.signature);
  if (publicKey?.length !== 32 || signature?.length !== 64) return { ok: false, reason: "invalid_siwx_malformed_signature" };
  // A small-order key "verifies" signatures nobody made; no real wallet has one.
  if (isSmallOrderEd25519Key(publicKey)) return { ok: false, reason: "invalid_siwx_signature" };
  const message = new TextEncoder().encode(buildSiwsMessage(proof, chainReference));
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    const valid = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    return valid ? { ok: true } : { ok: false, reason: "invalid_siwx_signature" };
  } catch {
    return { ok: false, reason: "invalid_siwx_malformed_signature" };
  }
}

/** The encodings of Ed25519's eight small-order points (sign bit cleared), non-canonical ones included. */
const SMALL_ORDER_KEYS = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

export function isSmallOrderEd25519Key(publicKey: Uint8Array): boolean {
  const masked = Uint8Array.from(publicKey);
  masked[31]! &= 0x7f;
  const hex = bytesToHex(masked).slice(2);
  return SMALL_ORDER_KEYS.includes(hex);
}
