// Whether a 65-byte ECDSA signature over a hash was made by an address, with the answer ecrecover gives.
// Recovering the key multiplies a point known only from the signature (about 1.3 ms of JavaScript). A payer who
// signs again is checked against its remembered public key with a precomputed table (about 0.5 ms; the table is
// built at the second signature, so a one-time payer costs no more than a recovery). Both refuse exactly the same
// signatures: the known-key check also requires R's x and y parity to be those the signature names, which is
// what makes ecrecover return that key. The table is used through the constant-time multiply: @noble/curves
// 1.9.1's table-driven unsafe multiply gives wrong results for full-size scalars (test/unit/signer-check.test.ts).
import { invert, mod } from "@noble/curves/abstract/modular";
import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak256, type Hex } from "viem";

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;

interface KnownKey {
  point: Point;
  tabled: boolean;
}

const N = secp256k1.CURVE.n;
const HALF_N = N >> 1n;
const G = secp256k1.ProjectivePoint.BASE;
/** A table (window 4) is about 80 KB: past this many payers per isolate the oldest is forgotten. */
const KNOWN_KEYS_MAX = 64;
const TABLE_WINDOW = 4;
const knownKeys = new Map<string, KnownKey>();

/** `address` (any case) made `signature` over `hash`, as ecrecover would answer; false for any malformed signature. */
export function signedBy(address: string, hash: Hex, signature: Hex): boolean {
  const parts = splitSignature(signature);
  if (!parts) return false;
  const id = address.toLowerCase();
  const z = mod(BigInt(hash), N);
  const known = knownKeys.get(id);
  if (known) {
    if (!known.tabled) {
      secp256k1.utils.precompute(TABLE_WINDOW, known.point);
      known.tabled = true;
    }
    return madeWith(known.point, z, parts);
  }
  let point: Point;
  try {
    point = new secp256k1.Signature(parts.r, parts.s).addRecoveryBit(parts.yParity).recoverPublicKey(hash.slice(2));
  } catch {
    return false;
  }
  if (addressOf(point) !== id) return false;
  if (knownKeys.size >= KNOWN_KEYS_MAX) knownKeys.delete(knownKeys.keys().next().value!);
  knownKeys.set(id, { point, tabled: false });
  return true;
}

interface SignatureParts {
  r: bigint;
  s: bigint;
  yParity: number;
}

/**
 * Canonical signatures only, as the chain's checks want them: v 27 or 28 (USDC's ECRecover and OpenZeppelin's
 * ECDSA refuse 0 and 1) and s in the lower half (both refuse the other, malleable, half). A signature that would
 * recover here but not on chain must not count as the payer's (security review F13).
 */
function splitSignature(signature: Hex): SignatureParts | undefined {
  if (signature.length !== 132) return undefined;
  const r = BigInt(signature.slice(0, 66));
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130), 16);
  if (v !== 27 && v !== 28) return undefined;
  if (r <= 0n || r >= N || s <= 0n || s > HALF_N) return undefined;
  return { r, s, yParity: v - 27 };
}

/** R = z/s·G + r/s·P must be the point the signature names: x equal to r (not r + n) and y of its parity. */
function madeWith(key: Point, z: bigint, { r, s, yParity }: SignatureParts): boolean {
  const w = invert(s, N);
  const u1 = mod(z * w, N);
  // u2 is never 0 (r and s are in [1, n)); u1 is 0 only for a hash of 0 mod n.
  const R = (u1 === 0n ? secp256k1.ProjectivePoint.ZERO : G.multiply(u1)).add(key.multiply(mod(r * w, N)));
  if (R.equals(secp256k1.ProjectivePoint.ZERO)) return false;
  const { x, y } = R.toAffine();
  return x === r && Number(y & 1n) === yParity;
}

function addressOf(point: Point): string {
  return `0x${keccak256(point.toRawBytes(false).subarray(1)).slice(26)}`;
}

/** For tests: forget every remembered key. */
export function forgetKnownKeys(): void {
  knownKeys.clear();
}
