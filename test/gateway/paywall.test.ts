// The browser paywall: a person's browser gets an HTML 402 (same PAYMENT-REQUIRED header), every other client the
// JSON one; the page is self-contained and its CSP allows exactly its own script and style.
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { SOLANA_DEVNET } from "../fixtures/fake-facilitator.js";
import {
  BASE_SEPOLIA,
  buildHarness,
  buildPaymentPayload,
  buildRule,
  decodeHeader,
  encodePayment,
  TEST_SESSION_KEYS,
} from "../fixtures/builders.js";

const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
const browser = (init: RequestInit = {}) => ({ ...init, headers: { Accept: BROWSER, ...(init.headers as Record<string, string>) } });

async function sha256Base64(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

describe("the paywall page", () => {
  it("is the 402 a browser gets: the same PAYMENT-REQUIRED header, the price and a pay button, the origin never called", async () => {
    const harness = await buildHarness({ rules: [buildRule({ discovery: { service: { name: "Weather API" } } })] });
    const page = await harness.fetch("/weather/paris", browser());
    const json = await harness.fetch("/weather/paris");
    expect(page.status).toBe(402);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("vary")).toBe("Accept");
    expect(decodeHeader<PaymentRequired>(page.headers.get("PAYMENT-REQUIRED"))).toEqual(
      decodeHeader<PaymentRequired>(json.headers.get("PAYMENT-REQUIRED")),
    );
    const html = await page.text();
    expect(html).toContain("<title>Payment required · Weather API</title>");
    expect(html).toContain('<span class="price">0.01 USDC</span>');
    expect(html).toContain('<button type="button" data-offer="0" disabled>Pay 0.01 USDC</button>');
    expect(html).toContain("Base Sepolia");
    expect(html).toContain("GET https://gateway.example/weather/paris");
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("loads nothing from anywhere: no remote URL in the page, and a CSP naming exactly its inline script and style", async () => {
    const harness = await buildHarness();
    const page = await harness.fetch("/weather/paris", browser());
    const html = await page.text();
    expect(html).not.toMatch(/\b(src|href)=/);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain(`script-src 'sha256-${await sha256Base64(scripts[0]!)}'`);
    expect(csp).toContain(`style-src 'sha256-${await sha256Base64(styles[0]!)}'`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("embeds the offers the header carries, without the bazaar schemas, and escapes what the rule says", async () => {
    const harness = await buildHarness({ rules: [buildRule({ description: "</script><script>alert(1)</script> & <b>" })] });
    const html = await (await harness.fetch("/weather/paris", browser())).text();
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;");
    const data = JSON.parse(/<script type="application\/json" id="x402-data">([\s\S]*?)<\/script>/.exec(html)![1]!) as {
      paymentRequired: PaymentRequired;
    };
    expect(data.paymentRequired.accepts[0]).toMatchObject({ scheme: "exact", network: BASE_SEPOLIA, amount: "10000" });
    expect(data.paymentRequired.resource.description).toBe("</script><script>alert(1)</script> & <b>");
    expect(Object.keys(data.paymentRequired.extensions ?? {})).toEqual(["payment-identifier"]);
  });

  it("lists offers it cannot pay itself with a pointer to an x402 client: Solana, Permit2", async () => {
    const harness = await buildHarness({
      rules: [
        buildRule({
          accepts: [
            { network: BASE_SEPOLIA },
            {
              network: BASE_SEPOLIA,
              asset: "0x4200000000000000000000000000000000000006",
              amount: "5",
              extra: { assetTransferMethod: "permit2" },
            },
            { network: SOLANA_DEVNET, payTo: "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM" },
          ],
        }),
      ],
    });
    const html = await (await harness.fetch("/weather/paris", browser())).text();
    expect(html.match(/<button /g)).toHaveLength(1);
    expect(html).toContain("Pay this option with an x402 client (a Permit2 token).");
    expect(html).toContain("Pay this option with an x402 client: this page pays EVM networks only.");
    expect(html).toContain("Solana Devnet");
    expect(html).toContain("5 0x4200…0006 (atomic units)");
  });

  it("states the session terms of a session rule", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ session: { ttlSeconds: 3600, maxRequests: 100 } })],
      vars: { SESSION_KEYS: TEST_SESSION_KEYS },
    });
    const html = await (await harness.fetch("/weather/paris", browser())).text();
    expect(html).toContain("One payment opens a session: up to 100 requests within 1 hour");
  });

  it("has headers and no body for HEAD", async () => {
    const harness = await buildHarness();
    const head = await harness.fetch("/weather/paris", browser({ method: "HEAD" }));
    expect(head.status).toBe(402);
    expect(head.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await head.text()).toBe("");
  });
});

describe("who gets the JSON 402", () => {
  it.each([
    ["curl", "*/*"],
    ["an agent", "application/json"],
    ["no Accept", undefined],
  ])("%s", async (_name, accept) => {
    const harness = await buildHarness();
    const response = await harness.fetch("/weather/paris", accept ? { headers: { Accept: accept } } : {});
    expect(response.status).toBe(402);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("vary")).toBe("Accept");
  });

  it("a rule with paywall: false, a POST, and a browser that sends a payment", async () => {
    const harness = await buildHarness({
      rules: [
        buildRule(),
        buildRule({ id: "plain", path: "/plain", paywall: false }),
        buildRule({ id: "post", methods: ["POST"], path: "/post" }),
      ],
    });
    const plain = await harness.fetch("/plain", browser());
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(plain.headers.get("vary")).toBeNull();
    expect((await harness.fetch("/post", browser({ method: "POST" }))).headers.get("content-type")).toBe("application/json");

    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED"));
    const forged = await buildPaymentPayload(challenge.accepts[0]!, { value: "1" });
    const refused = await harness.fetch("/weather/paris", browser({ headers: { "PAYMENT-SIGNATURE": encodePayment(forged) } }));
    expect(refused.status).toBe(402);
    expect(refused.headers.get("content-type")).toBe("application/json");
    const paid = await harness.fetch(
      "/weather/paris",
      browser({ headers: { "PAYMENT-SIGNATURE": encodePayment(await buildPaymentPayload(challenge.accepts[0]!)) } }),
    );
    expect(paid.status).toBe(200);
    expect(paid.headers.get("PAYMENT-RESPONSE")).toBeTruthy();
  });

  it("refuses paywall: with a non-boolean as a configuration error", async () => {
    const harness = await buildHarness({ rules: [buildRule({ paywall: "yes" })] });
    expect((await harness.fetch("/weather/paris", browser())).status).toBe(503);
  });
});
