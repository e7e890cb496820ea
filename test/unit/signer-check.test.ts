import fc from "fast-check";
import { recoverAddress, keccak256, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, sign } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { secp256k1 } from "@noble/curves/secp256k1";
import { forgetKnownKeys, signedBy } from "../../src/schemes/evm/signer-check.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const hex32 = (value: bigint) => value.toString(16).padStart(64, "0");

async function signed(hash: Hex) {
  const key = generatePrivateKey();
  const address = privateKeyToAccount(key).address;
  const signature = await sign({ hash, privateKey: key, to: "hex" });
  return { address, signature };
}

/**
 * What the token's check answers: ecrecover's address equals `address`, for a canonical signature (v 27 or 28, s in
 * the lower half: USDC's ECRecover and OpenZeppelin's ECDSA refuse the rest).
 */
async function ecrecoverSays(address: string, hash: Hex, signature: Hex): Promise<boolean> {
  if (signature.length !== 132) return false;
  const v = Number.parseInt(signature.slice(130), 16);
  if ((v !== 27 && v !== 28) || BigInt(`0x${signature.slice(66, 130)}`) > N / 2n) return false;
  try {
    return (await recoverAddress({ hash, signature })).toLowerCase() === address.toLowerCase();
  } catch {
    return false;
  }
}

describe("signedBy: ecrecover's answer, first by recovery, then with the payer's remembered key", () => {
  beforeEach(() => forgetKnownKeys());

  it("accepts the signer's signatures on each path (recovered, remembered, tabled)", async () => {
    const hash = keccak256(toHex("first"));
    const { address, signature } = await signed(hash);
    for (let i = 0; i < 3; i++) expect(signedBy(address, hash, signature)).toBe(true);
    expect(signedBy(address.toUpperCase().replace("0X", "0x"), hash, signature)).toBe(true);
  });

  // Security review F13: what the chain refuses is not the payer's signature, however it recovers.
  it("refuses the forms the token's ecrecover refuses: v 0 or 1, and the high-s twin", async () => {
    const hash = keccak256(toHex("canonical"));
    const { address, signature } = await signed(hash);
    const r = signature.slice(2, 66);
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = Number.parseInt(signature.slice(130), 16);
    const highS = `0x${r}${hex32(N - s)}${v === 27 ? "1c" : "1b"}` as Hex;
    expect(await recoverAddress({ hash, signature: highS })).toBe(address);
    for (const remembered of [false, true]) {
      forgetKnownKeys();
      if (remembered) expect(signedBy(address, hash, signature)).toBe(true);
      expect(signedBy(address, hash, `${signature.slice(0, 130)}0${v - 27}` as Hex)).toBe(false);
      expect(signedBy(address, hash, highS)).toBe(false);
    }
  });

  it("refuses another hash, another address, the other parity and out-of-range r, s or v, before and after the key is known", async () => {
    const hash = keccak256(toHex("second"));
    const { address, signature } = await signed(hash);
    const r = BigInt(signature.slice(0, 66));
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = signature.slice(130);
    const flipped = `${signature.slice(0, 130)}${v === "1b" ? "1c" : "1b"}` as Hex;
    const refused: [string, Hex, Hex][] = [
      [address, keccak256(toHex("other")), signature],
      [privateKeyToAccount(generatePrivateKey()).address, hash, signature],
      [address, hash, flipped],
      [address, hash, `0x${hex32(0n)}${hex32(s)}${v}`],
      [address, hash, `0x${hex32(r)}${hex32(0n)}${v}`],
      [address, hash, `0x${hex32(r + N)}${hex32(s)}${v}`],
      [address, hash, `0x${hex32(r)}${hex32(N)}${v}`],
      [address, hash, `${signature.slice(0, 130)}1d` as Hex],
      [address, hash, signature.slice(0, 130) as Hex],
    ];
    for (const [who, h, sig] of refused) expect(signedBy(who, h, sig), `${who} ${sig}`).toBe(false);
    expect(signedBy(address, hash, signature)).toBe(true);
    for (const [who, h, sig] of refused) expect(signedBy(who, h, sig), `${who} ${sig}`).toBe(false);
  });

  it("answers as ecrecover does for mutated signatures, with the key unknown and with it remembered", async () => {
    const hash = keccak256(toHex("property"));
    const { address, signature } = await signed(hash);
    const mutation = fc.record({ at: fc.integer({ min: 2, max: 131 }), digit: fc.constantFrom(..."0123456789abcdef") });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 0, maxLength: 3 }), fc.boolean(), async (mutations, remembered) => {
        forgetKnownKeys();
        if (remembered) expect(signedBy(address, hash, signature)).toBe(true);
        let mutated = signature as string;
        for (const { at, digit } of mutations) mutated = `${mutated.slice(0, at)}${digit}${mutated.slice(at + 1)}`;
        expect(signedBy(address, hash, mutated as Hex)).toBe(await ecrecoverSays(address, hash, mutated as Hex));
      }),
      { numRuns: 150 },
    );
  });

  it("canary: @noble/curves' table-driven unsafe multiply is wrong for full-size scalars, so the table goes through multiply", () => {
    const point = secp256k1.ProjectivePoint.BASE.multiply(123456789n);
    const tabled = secp256k1.utils.precompute(4, secp256k1.ProjectivePoint.fromAffine(point.toAffine()));
    const scalar = N - 99_999n;
    expect(tabled.multiply(scalar).equals(point.multiplyUnsafe(scalar))).toBe(true);
    // When this fails after an upgrade, the fixed unsafe multiply can replace multiply in signer-check.ts.
    expect(tabled.multiplyUnsafe(scalar).equals(point.multiplyUnsafe(scalar))).toBe(false);
  });
});
