// Rate limits before any facilitator call (issue #33 "Abuse cost"): the real local Rate Limiting binding of the
// rule's tier, as wrangler.toml declares it (strict: 20 per 10 s), counting per payer and per client address.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { buildHarness, buildRule, buildPaymentPayload, challengeFor, encodePayment, newTestId } from "../fixtures/builders.js";
import { clientKey } from "../../src/pipeline/rate-limit.js";

const STRICT_LIMIT = 20;
const STRICT_PERIOD_MS = 10_000;

/** The local limiter counts in fixed windows: start where the whole test fits in one (a bounded wait, not a sleep for luck). */
async function atWindowStart(): Promise<void> {
  const into = Date.now() % STRICT_PERIOD_MS;
  if (into > STRICT_PERIOD_MS - 4000) await new Promise((resolve) => setTimeout(resolve, STRICT_PERIOD_MS - into + 50));
}

const strictHarness = (mode: "ok" | "invalid" = "ok") => buildHarness({ rules: [buildRule({ rateLimit: "strict" })], facilitator: mode });

describe("rate limits before the facilitator", () => {
  it("a payer over its tier's limit gets 429 with Retry-After, and the facilitator is not asked", async () => {
    const harness = await strictHarness();
    const signer = privateKeyToAccount(generatePrivateKey());
    const offer = (await challengeFor(harness, "/weather/paris")).accepts[0]!;
    await atWindowStart();
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < STRICT_LIMIT + 3; i++) {
      const response = await harness.fetch("/weather/paris", {
        headers: { "PAYMENT-SIGNATURE": encodePayment(await buildPaymentPayload(offer, { signer })) },
      });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    expect(statuses).toEqual([...Array(STRICT_LIMIT).fill(200), 429, 429, 429]);
    expect(refused!.headers.get("Retry-After")).toBe("10");
    expect(await refused!.json()).toMatchObject({ error: "rate_limited" });
    expect((await harness.facilitatorCalls()).filter((call) => call.path === "/verify")).toHaveLength(STRICT_LIMIT);
    expect(await harness.originCalls()).toHaveLength(STRICT_LIMIT);
  });

  it("one client address sending payments in many payers' names is limited as one", async () => {
    const harness = await strictHarness("invalid");
    const offer = (await challengeFor(harness, "/weather/paris")).accepts[0]!;
    const client = `198.51.100.${Number.parseInt(newTestId().slice(0, 2), 16)}`;
    await atWindowStart();
    const statuses: number[] = [];
    for (let i = 0; i < STRICT_LIMIT + 2; i++) {
      const payload = await buildPaymentPayload(offer, { signer: privateKeyToAccount(generatePrivateKey()) });
      statuses.push(
        (await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload), "cf-connecting-ip": client } }))
          .status,
      );
    }
    expect(statuses).toEqual([...Array(STRICT_LIMIT).fill(402), 429, 429]);
    expect((await harness.facilitatorCalls()).filter((call) => call.path === "/verify")).toHaveLength(STRICT_LIMIT);
  });

  it("a rule whose tier has no binding fails closed (503), with no facilitator call", async () => {
    const harness = await buildHarness({ rules: [buildRule({ rateLimit: "strict" })], vars: { RATE_LIMIT_STRICT: "" } });
    const offer = (await challengeFor(harness, "/weather/paris")).accepts[0]!;
    const response = await harness.fetch("/weather/paris", {
      headers: { "PAYMENT-SIGNATURE": encodePayment(await buildPaymentPayload(offer)) },
    });
    expect(response.status).toBe(503);
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("off counts nothing", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ rateLimit: "off" })],
      vars: { RATE_LIMIT_STANDARD: "", RATE_LIMIT_STRICT: "" },
    });
    const offer = (await challengeFor(harness, "/weather/paris")).accepts[0]!;
    const response = await harness.fetch("/weather/paris", {
      headers: { "PAYMENT-SIGNATURE": encodePayment(await buildPaymentPayload(offer)) },
    });
    expect(response.status).toBe(200);
  });

  // The attacker review of this change: a signature not recovered to its payer must not spend that payer's allowance.
  it("payments naming a payer with someone else's signature count against their senders, not that payer", async () => {
    const harness = await strictHarness("invalid");
    const victim = privateKeyToAccount(generatePrivateKey());
    const offer = (await challengeFor(harness, "/weather/paris")).accepts[0]!;
    await atWindowStart();
    for (let i = 0; i < STRICT_LIMIT + 2; i++) {
      const forged = await buildPaymentPayload(offer, { signer: privateKeyToAccount(generatePrivateKey()), from: victim.address });
      // Each from an address of its own: only the (unproven) payer is shared.
      await harness.fetch("/weather/paris", {
        headers: { "PAYMENT-SIGNATURE": encodePayment(forged), "cf-connecting-ip": `203.0.113.${i}` },
      });
    }
    const own = await harness.fetch("/weather/paris", {
      headers: { "PAYMENT-SIGNATURE": encodePayment(await buildPaymentPayload(offer, { signer: victim })) },
    });
    // Refused by the facilitator (this one refuses every verify), not by the rate limit.
    expect(own.status).toBe(402);
  });
});

describe("clientKey", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"],
    ["2001:DB8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
  ])("%s → %s", (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});
