// Requests no rule prices pass straight through the reverse proxy.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildHarness, buildRule, newTestId } from "../fixtures/builders.js";

describe("reverse proxy", () => {
  it("forwards path and query, sets X-Forwarded-* itself, strips hop-by-hop and payment headers", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch("/free/item?q=1&r=two", {
      headers: {
        "cf-connecting-ip": "203.0.113.7",
        "x-forwarded-for": "10.0.0.1",
        "x-forwarded-host": "evil.example",
        forwarded: "for=10.0.0.1",
        connection: "keep-alive, x-secret-hop",
        "x-secret-hop": "1",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic abc",
        te: "trailers",
        "PAYMENT-SIGNATURE": "abc",
        "X-PAYMENT": "abc",
        "SIGN-IN-WITH-X": "abc",
        authorization: "Bearer user-token",
      },
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, method: "GET", path: "/free/item", search: "?q=1&r=two" });
    const [call] = await harness.originCalls();
    expect(call!.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-host": "gateway.example",
      "x-forwarded-proto": "https",
      authorization: "Bearer user-token",
    });
    for (const name of [
      "forwarded",
      "x-secret-hop",
      "keep-alive",
      "proxy-authorization",
      "te",
      "payment-signature",
      "x-payment",
      "sign-in-with-x",
    ]) {
      expect(call!.headers[name], name).toBeUndefined();
    }
    expect(response.headers.get("x-origin")).toBe("fake");
    expect(response.headers.get("set-cookie")).toBe("session=abc");
    expect(response.headers.get("keep-alive")).toBeNull();
    expect(response.headers.get("x-private-hop")).toBeNull();
  });

  it("streams a large request body to the origin and back", async () => {
    const harness = await buildHarness();
    const body = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251);
    const response = await harness.fetch("/echo-body", { method: "POST", body, headers: { "content-type": "application/octet-stream" } });

    expect(response.status).toBe(200);
    const echoed = await response.arrayBuffer();
    expect(echoed.byteLength).toBe(body.byteLength);
    expect(await sha256(echoed)).toBe(await sha256(body));
  });

  it("streams a large response body", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch("/big/20000000");
    let total = 0;
    for await (const chunk of response.body!) total += chunk.length;
    expect(total).toBe(20_000_000);
  });

  it("rewrites an absolute Location on the origin back to the gateway", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch("/redirect");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://gateway.example/moved?x=1");
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("sends a rule's traffic to the rule's own origin", async () => {
    const otherId = newTestId();
    const harness = await buildHarness({ rules: [buildRule({ path: "/status/:code", origin: `${env.TEST_ORIGIN_URL}/t/${otherId}` })] });
    await harness.fetch("/status/200");
    const calls = (await (await fetch(`${env.TEST_ORIGIN_URL}/__calls/${otherId}`)).json()) as unknown[];
    expect(calls).toEqual([]); // unpaid: challenged, origin untouched
    expect((await harness.fetch("/free")).status).toBe(200);
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("passes the request to its own URL when ORIGIN_URL is unset (Worker on a route)", async () => {
    const harness = await buildHarness({ vars: { ORIGIN_URL: "" } });
    const response = await harness.fetch(`${env.TEST_ORIGIN_URL}/t/${harness.id}/direct?x=1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ path: "/direct", search: "?x=1" });
  });
});

async function sha256(data: ArrayBuffer | Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
