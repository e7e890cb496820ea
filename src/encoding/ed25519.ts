// Ed25519 facts Solana relies on: signature checks (WebCrypto) and whether 32 bytes are a curve point
// (program-derived addresses are exactly the hashes that are not). Pure apart from WebCrypto.

/** The encodings of Ed25519's eight small-order points (sign bit cleared), non-canonical ones included. */
const SMALL_ORDER_KEYS = new Set([
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]);

export function isSmallOrderEd25519Key(publicKey: Uint8Array): boolean {
  const masked = Uint8Array.from(publicKey);
  masked[31]! &= 0x7f;
  return SMALL_ORDER_KEYS.has([...masked].map((b) => b.toString(16).padStart(2, "0")).join(""));
}

/** false for a bad signature, a malformed key or signature, and a small-order key (it "verifies" signatures nobody made). */
export async function verifyEd25519(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64 || isSmallOrderEd25519Key(publicKey)) return false;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch {
    return false;
  }
}

const P = 2n ** 255n - 19n;
const D = mod(-121665n * invert(121666n));

/**
 * Whether 32 bytes decompress to a point of edwards25519, as Solana's runtime decides it: y is read modulo p with
 * the sign bit dropped, and the point exists when (y² − 1) / (d·y² + 1) has a square root.
 */
export function isOnEd25519Curve(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!);
  y = mod(y);
  const y2 = mod(y * y);
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  if (v === 0n) return u === 0n;
  const x2 = mod(u * invert(v));
  return x2 === 0n || pow(x2, (P - 1n) / 2n) === 1n;
}

function mod(a: bigint): bigint {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function invert(a: bigint): bigint {
  return pow(a, P - 2n);
}
