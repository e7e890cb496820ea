// Property tests of the Solana `exact` check: the wire decoder never throws on any bytes, and no single-byte
// change to a valid payment gets through, except in the facilitator's own (unsigned) signature slot, which
// leaves the payment, and so its replay key, unchanged.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exactSvmScheme } from "../../src/schemes/exact-svm.js";
import { decodeSolanaTransaction } from "../../src/schemes/svm/solana-transaction.js";
import type { PaymentRequirements } from "../../src/x402/schemas.js";
import { buildSvmPayment, DEVNET_USDC, newSolanaWallet } from "../fixtures/solana.js";

const FEE_PAYER = "FaKeFeePayer1111111111111111111111111111111";
const offer: PaymentRequirements = {
  scheme: "exact",
  network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
  amount: "10000",
  asset: DEVNET_USDC,
  payTo: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
  maxTimeoutSeconds: 60,
  extra: { feePayer: FEE_PAYER },
};
const context = {
  nowSeconds: 1_800_000_000,
  validUntilSeconds: 1_800_000_071,
  isContract: async () => undefined,
  blockhashStatus: async () => undefined,
};
const check = (bytes: Uint8Array) =>
  exactSvmScheme.checkPayload(
    { x402Version: 2, accepted: offer, payload: { transaction: btoa(String.fromCharCode(...bytes)) } },
    offer,
    context,
  );

describe("Solana transactions, fuzzed", () => {
  it("decodes any bytes without throwing (10,000 cases)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), (bytes) => {
        const decoded = decodeSolanaTransaction(bytes);
        if (decoded) expect(decoded.signatures.length).toBe(decoded.numRequiredSignatures);
      }),
      { numRuns: 10_000, seed: 402 },
    );
  });

  it("refuses every one-byte change to a valid payment outside the fee payer's slot (10,000 cases)", async () => {
    const valid = Uint8Array.from(
      atob(await buildSvmPayment({ payer: await newSolanaWallet(), feePayer: FEE_PAYER, payTo: offer.payTo, amount: 10_000n })),
      (c) => c.charCodeAt(0),
    );
    const original = await check(valid);
    if (!original.ok) throw new Error(original.reason);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), async (index, flip) => {
        const mutated = Uint8Array.from(valid);
        mutated[index]! ^= flip;
        const result = await check(mutated);
        // Byte 0 counts the signatures; bytes 1-64 are the facilitator's slot, empty until it signs.
        if (index >= 1 && index < 65) expect(result).toEqual(original);
        else expect(result.ok).toBe(false);
      }),
      { numRuns: 10_000, seed: 402 },
    );
  }, 120_000);
});
