import fc from "fast-check";
import { getAddress, hashTypedData, toHex, type Hex, type TypedDataDefinition } from "viem";
import { describe, expect, it } from "vitest";
import { EIP3009_AUTHORIZATION_FIELDS } from "../../src/schemes/evm/typed-signature.js";
import { PERMIT2_WITNESS_TYPES, UPTO_WITNESS_TYPES } from "../../src/schemes/evm/permit2.js";
import { VOUCHER_TYPES } from "../../src/schemes/evm/channel-typed-data.js";
import { hashTypedDataFast } from "../../src/schemes/evm/typed-data-hash.js";

/** The hash, or that it threw: the fast path must answer exactly what viem answers, refusals included. */
function outcome(hash: (typedData: TypedDataDefinition) => Hex, typedData: unknown): string {
  try {
    return hash(typedData as TypedDataDefinition);
  } catch {
    return "threw";
  }
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => toHex(b));
const address = bytes(20).chain((a) => fc.constantFrom(a, getAddress(a)));
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const domain = fc.record(
  {
    name: fc.string({ unit: "grapheme" }),
    version: fc.string({ maxLength: 4 }),
    chainId: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), uint(64)),
    verifyingContract: address,
    salt: bytes(32),
  },
  { requiredKeys: [] },
);

const ALL_ATOMIC_TYPES = {
  Inner: [
    { name: "flag", type: "bool" },
    { name: "small", type: "int8" },
    { name: "tag", type: "bytes4" },
  ],
  Everything: [
    { name: "who", type: "address" },
    { name: "inner", type: "Inner" },
    { name: "big", type: "int256" },
    { name: "data", type: "bytes" },
    { name: "text", type: "string" },
    { name: "count", type: "uint48" },
  ],
} as const;

describe("hashTypedDataFast: viem's hashTypedData, sooner", () => {
  it("hashes EIP-3009 authorizations as viem does, over any domain", () => {
    fc.assert(
      fc.property(
        domain,
        address,
        address,
        uint(256),
        uint(64),
        uint(64),
        bytes(32),
        (d, from, to, value, validAfter, validBefore, nonce) => {
          const typedData = {
            domain: d,
            types: { TransferWithAuthorization: EIP3009_AUTHORIZATION_FIELDS },
            primaryType: "TransferWithAuthorization",
            message: { from, to, value, validAfter, validBefore, nonce },
          };
          expect(outcome(hashTypedDataFast, typedData)).toBe(outcome(hashTypedData, typedData));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("hashes nested structs (Permit2 witness transfers, channel vouchers) as viem does", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        address,
        uint(256),
        address,
        uint(256),
        uint(256),
        address,
        address,
        uint(256),
        fc.boolean(),
        (chainId, token, amount, spender, nonce, deadline, to, facilitator, validAfter, upto) => {
          const typedData = {
            domain: { name: "Permit2", chainId, verifyingContract: "0x000000000022D473030F116dDEE9F6B43aC78BA3" },
            types: upto ? UPTO_WITNESS_TYPES : PERMIT2_WITNESS_TYPES,
            primaryType: "PermitWitnessTransferFrom",
            message: {
              permitted: { token, amount },
              spender,
              nonce,
              deadline,
              witness: { to, ...(upto ? { facilitator } : {}), validAfter },
            },
          };
          expect(outcome(hashTypedDataFast, typedData)).toBe(outcome(hashTypedData, typedData));
          const voucher = {
            domain: typedData.domain,
            types: VOUCHER_TYPES,
            primaryType: "Voucher",
            message: { channelId: toHex(amount, { size: 32 }), maxClaimableAmount: nonce },
          };
          expect(outcome(hashTypedDataFast, voucher)).toBe(outcome(hashTypedData, voucher));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("encodes every atomic type (negative ints, dynamic bytes, strings, bool, bytesN) as viem does", () => {
    fc.assert(
      fc.property(
        address,
        fc.boolean(),
        fc.integer({ min: -128, max: 127 }),
        bytes(4),
        fc.bigInt({ min: -(1n << 255n), max: (1n << 255n) - 1n }),
        fc.uint8Array({ maxLength: 80 }),
        fc.string(),
        uint(48),
        (who, flag, small, tag, big, data, text, count) => {
          const typedData = {
            domain: { name: "x" },
            types: ALL_ATOMIC_TYPES,
            primaryType: "Everything",
            message: { who, inner: { flag, small, tag }, big, data: toHex(data), text, count },
          };
          expect(outcome(hashTypedDataFast, typedData)).toBe(outcome(hashTypedData, typedData));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("answers as viem does for what it refuses or coerces: bad checksums, out-of-range ints, wrong sizes, missing fields, arrays", () => {
    const good = {
      from: getAddress(`0x${"ab".repeat(20)}`),
      to: `0x${"cd".repeat(20)}`,
      value: 5n,
      validAfter: 0n,
      validBefore: 99n,
      nonce: `0x${"11".repeat(32)}`,
    };
    const base = {
      domain: { name: "USD Coin", version: "2", chainId: 8453, verifyingContract: `0x${"ef".repeat(20)}` },
      types: { TransferWithAuthorization: EIP3009_AUTHORIZATION_FIELDS },
      primaryType: "TransferWithAuthorization",
    };
    const badChecksum = `0x${"aB".repeat(20)}`;
    const variants: unknown[] = [
      { ...base, message: good },
      { ...base, message: { ...good, from: badChecksum } },
      { ...base, message: { ...good, value: -1n } },
      { ...base, message: { ...good, value: 1n << 256n } },
      { ...base, message: { ...good, value: 5 } },
      { ...base, message: { ...good, value: "5" } },
      { ...base, message: { ...good, value: 1.5 } },
      { ...base, message: { ...good, nonce: "0x11" } },
      { ...base, message: { ...good, nonce: `0x${"1".repeat(63)}` } },
      { ...base, message: { ...good, to: undefined } },
      { ...base, message: null },
      { ...base, domain: { ...base.domain, verifyingContract: badChecksum } },
      { ...base, domain: { ...base.domain, chainId: "8453" } },
      { ...base, domain: { ...base.domain, name: 7 } },
      { ...base, domain: { ...base.domain, salt: `0x${"00".repeat(32)}` } },
      { ...base, domain: {} },
      { ...base, domain: undefined },
      { ...base, types: { ...base.types, EIP712Domain: [{ name: "name", type: "string" }] } },
      { ...base, primaryType: "Missing", message: good },
      { ...base, primaryType: "EIP712Domain", message: good },
      {
        ...base,
        types: { TransferWithAuthorization: [...EIP3009_AUTHORIZATION_FIELDS, { name: "list", type: "uint256[]" }] },
        message: { ...good, list: [1n, 2n] },
      },
      {
        ...base,
        types: { TransferWithAuthorization: [...EIP3009_AUTHORIZATION_FIELDS, { name: "n", type: "uint" }] },
        message: { ...good, n: 1n },
      },
      {
        ...base,
        types: { TransferWithAuthorization: [...EIP3009_AUTHORIZATION_FIELDS, { name: "n", type: "uint7" }] },
        message: { ...good, n: 1n },
      },
      { ...base, types: { ...base.types, uint8: [{ name: "a", type: "bool" }] }, message: good },
    ];
    for (const typedData of variants) expect(outcome(hashTypedDataFast, typedData)).toBe(outcome(hashTypedData, typedData));
    // Remembered domains and types do not leak into the next answer.
    for (const typedData of [...variants].reverse()) expect(outcome(hashTypedDataFast, typedData)).toBe(outcome(hashTypedData, typedData));
  });
});
