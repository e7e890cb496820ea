// Checks a SIGN-IN-WITH-X proof: the message fields against this request (pure), then the signature.
// Reason strings follow the sign-in-with-x extension's error codes.
import { isAddress, verifyMessage } from "viem";
import { buildSiweMessage } from "./siwe-message.js";
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

/** EOA signatures (EIP-191 personal_sign over the EIP-4361 text), recovered locally with no RPC. */
export async function verifyEvmSiwxSignature(proof: SiwxProof): Promise<SiwxCheck> {
  const [namespace, reference] = proof.chainId.split(":");
  if (namespace !== "eip155" || proof.type !== "eip191") return { ok: false, reason: "invalid_siwx_unsupported_chain" };
  if (!isAddress(proof.address, { strict: false }) || !/^0x([0-9a-fA-F]{2})+$/.test(proof.signature)) {
    return { ok: false, reason: "invalid_siwx_malformed_signature" };
  }
  const message = buildSiweMessage(proof, reference!);
  try {
    const valid = await verifyMessage({ address: proof.address, message, signature: proof.signature as `0x${string}` });
    return valid ? { ok: true } : { ok: false, reason: "invalid_siwx_signature" };
  } catch {
    return { ok: false, reason: "invalid_siwx_malformed_signature" };
  }
}
