// Fuzzes the whole Worker: random payment headers against a paid route never get a 200 or a 500,
// never reach the origin or the facilitator.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { BASE_SEPOLIA, buildHarness, buildRule, decodeHeader, encodePayment } from "../fixtures/builders.js";
import { buildSvmPayment, newSolanaWallet } from "../fixtures/solana.js";

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
const headerValue = fc.oneof(
  printable,
  fc.base64String({ maxLength: 300 }),
  fc.jsonValue().map((v) => btoa(JSON.stringify(v) ?? "null")),
);

describe("gateway under fuzz", () => {
  it("answers 400, 402 or 431 to any payment headers on a paid route", async () => {
    // Facilitator health cached per isolate as in production (the harness reads it on every request).
    const harness = await buildHarness({ vars: { FACILITATOR_STATE_CACHE_MS: "2000" } });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          "PAYMENT-SIGNATURE": fc.option(headerValue),
          "X-PAYMENT": fc.option(headerValue),
          "SIGN-IN-WITH-X": fc.option(headerValue),
        }),
        fc.constantFrom("GET", "HEAD"),
        async (headers, method) => {
          const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== null)) as Record<string, string>;
          const response = await harness.fetch("/weather/paris", { method, headers: sent });
          await response.arrayBuffer();
          expect([400, 402, 431]).toContain(response.status);
        },
      ),
      { numRuns: 1000, seed: 99 },
    );
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);
  }, 30_000);

  it("answers 400 or 402 to any Solana transaction that is not exactly the payment asked for", async () => {
    const SOL_PAY_TO = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
    const FEE_PAYER = "FaKeFeePayer1111111111111111111111111111111";
    const harness = await buildHarness({
      rules: [
        buildRule({
          accepts: [
            { network: BASE_SEPOLIA },
            { network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", payTo: SOL_PAY_TO, extra: { feePayer: FEE_PAYER } },
          ],
        }),
      ],
    });
    const offer = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED")).accepts[1]!;
    const valid = Uint8Array.from(
      atob(await buildSvmPayment({ payer: await newSolanaWallet(), feePayer: FEE_PAYER, payTo: SOL_PAY_TO, amount: 10_000n })),
      (c) => c.charCodeAt(0),
    );
    // Random bytes, or the valid transaction with a byte changed outside the fee payer's (unsigned) slot.
    const transaction = fc.oneof(
      fc.uint8Array({ maxLength: 1300 }),
      fc.tuple(fc.integer({ min: 65, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([index, flip]) => {
        const mutated = Uint8Array.from(valid);
        mutated[index]! ^= flip;
        return mutated;
      }),
    );
    await fc.assert(
      fc.asyncProperty(transaction, async (bytes) => {
        const header = encodePayment({ x402Version: 2, accepted: offer, payload: { transaction: btoa(String.fromCharCode(...bytes)) } });
        const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": header } });
        await response.arrayBuffer();
        expect([400, 402]).toContain(response.status);
      }),
      { numRuns: 1000, seed: 98 },
    );
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);
  }, 120_000);
});
