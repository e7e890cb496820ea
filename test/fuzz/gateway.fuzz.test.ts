// Fuzzes the whole Worker: random payment headers against a paid route never get a 200 or a 500,
// never reach the origin or the facilitator.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildHarness } from "../fixtures/builders.js";

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
const headerValue = fc.oneof(printable, fc.base64String({ maxLength: 300 }), fc.jsonValue().map((v) => btoa(JSON.stringify(v) ?? "null")));

describe("gateway under fuzz", () => {
  it("answers 400, 402 or 431 to any payment headers on a paid route", async () => {
    const harness = await buildHarness();
    await fc.assert(
      fc.asyncProperty(
        fc.record({ "PAYMENT-SIGNATURE": fc.option(headerValue), "X-PAYMENT": fc.option(headerValue), "SIGN-IN-WITH-X": fc.option(headerValue) }),
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
  });
});
