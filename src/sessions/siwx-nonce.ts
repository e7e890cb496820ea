// SIWX nonces the gateway can recognise as its own without storing them: 16 bytes, shown as 32 hex,
// = issue time (4 bytes, seconds) ‖ random (4) ‖ MAC (8). The MAC is keccak256 over a key-prefixed input
// (sponge hashes have no length extension). Single use is enforced where proofs are accepted
// (sessions/wallet-session.ts); the embedded time bounds how long a used nonce must be remembered. Pure.
import { bytesToHex, concatBytes, hexToBytes, keccak256 } from "viem";
import type { SessionKeys } from "./session-keys.js";

const DOMAIN = new TextEncoder().encode("x402-gateway siwx nonce v1");
const NONCE = /^[0-9a-f]{32}$/;

export function mintNonce(keys: SessionKeys, nowSeconds: number): string {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setUint32(0, nowSeconds >>> 0);
  crypto.getRandomValues(body.subarray(4));
  return bytesToHex(concatBytes([body, mac(keys.signing.secret, body)])).slice(2);
}

export interface NonceCheckOptions {
  nowSeconds: number;
  /** How long after issue a nonce may be used. */
  lifetimeSeconds: number;
  clockSkewSeconds: number;
}

/** Ours and fresh: returns when it stops being usable (the used-nonce record may be dropped after that). */
export function checkNonce(
  nonce: string,
  keys: SessionKeys,
  options: NonceCheckOptions,
): { ok: true; expiresAtSeconds: number } | { ok: false } {
  if (!NONCE.test(nonce)) return { ok: false };
  const bytes = hexToBytes(`0x${nonce}`);
  const body = bytes.subarray(0, 8);
  const tag = bytes.subarray(8);
  const ours = [...keys.byKid.values()].some((key) => equalBytes(mac(key.secret, body), tag));
  if (!ours) return { ok: false };
  const issuedAt = new DataView(body.buffer, body.byteOffset).getUint32(0);
  if (issuedAt > options.nowSeconds + options.clockSkewSeconds) return { ok: false };
  const expiresAtSeconds = issuedAt + options.lifetimeSeconds;
  if (expiresAtSeconds < options.nowSeconds) return { ok: false };
  return { ok: true, expiresAtSeconds };
}

function mac(secret: Uint8Array, body: Uint8Array): Uint8Array {
  return hexToBytes(keccak256(concatBytes([secret, DOMAIN, body]))).subarray(0, 8);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
