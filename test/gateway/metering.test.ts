// upto payments on metered rules, against the fake facilitator: what the gateway asks it to settle, per meter.
import { describe, expect, it } from "vitest";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import { FAKE_FACILITATOR_ADDRESS } from "../fixtures/fake-facilitator.js";
import { buildHarness, buildRule, buildUptoPayload, decodeHeader, encodePayment, type GatewayHarness } from "../fixtures/builders.js";

const upto = (path: string, meter: Record<string, unknown>) =>
  buildRule({
    id: `metered-${path.split("/")[1]}`,
    path,
    price: "$0.10",
    accepts: [{ network: "eip155:84532", scheme: "upto" }],
    meter: { unitPrice: "$0.000001", ...meter },
  });

async function payUpto(harness: GatewayHarness, path: string, overrides: Parameters<typeof buildUptoPayload>[1] = {}) {
  const challenge = decodeHeader<PaymentRequired>((await harness.fetch(path)).headers.get("PAYMENT-REQUIRED"));
  const payload = await buildUptoPayload(challenge.accepts[0]!, overrides);
  const response = await harness.fetch(path, { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
  return { response, challenge, payload };
}

/** Retries an assertion about work that runs after the answer left (a stream settled once the client went away). */
async function eventually(assertion: () => Promise<void>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

async function settledAmounts(harness: GatewayHarness): Promise<string[]> {
  const calls = await harness.facilitatorCalls();
  return calls
    .filter((call) => call.path === "/settle")
    .map((call) => (JSON.parse(call.body) as { paymentRequirements: { amount: string } }).paymentRequirements.amount);
}

describe("metered upto payments", () => {
  it("offers the maximum with the facilitator's settling address, and verifies at the maximum", async () => {
    const harness = await buildHarness({ rules: [upto("/big/:n", { from: "bytes" })] });
    const { response, challenge } = await payUpto(harness, "/big/5000");
    expect(challenge.accepts[0]).toMatchObject({
      scheme: "upto",
      amount: "100000",
      extra: { assetTransferMethod: "permit2", facilitatorAddress: FAKE_FACILITATOR_ADDRESS },
    });
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(5000);
    const verify = (await harness.facilitatorCalls()).find((call) => call.path === "/verify")!;
    expect((JSON.parse(verify.body) as { paymentRequirements: { amount: string } }).paymentRequirements.amount).toBe("100000");
    // 5000 bytes × $0.000001 = 5000 atomic.
    expect(await settledAmounts(harness)).toEqual(["5000"]);
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true, amount: "5000" });
    const [row] = await harness.ledgerRows();
    expect(row).toMatchObject({ scheme: "upto", status: "settled", amount: "5000", max_amount: "100000", metered_units: "5000" });
  });

  it("meters elapsed milliseconds until the origin's body ended", async () => {
    const harness = await buildHarness({ rules: [upto("/slow/:ms", { from: "elapsed-ms", unitPrice: "$0.00001" })] });
    const { response } = await payUpto(harness, "/slow/60");
    expect(response.status).toBe(200);
    const [amount] = await settledAmounts(harness);
    expect(Number(amount)).toBeGreaterThanOrEqual(600);
    expect(Number(amount)).toBeLessThan(100_000);
  });

  it("a missing usage header: the base is settled; with no base, nothing is asked of the facilitator", async () => {
    const withBase = await buildHarness({ rules: [upto("/status/:code", { from: { header: "X-Usage-Units" }, base: "$0.002" })] });
    expect((await payUpto(withBase, "/status/200")).response.status).toBe(200);
    expect(await settledAmounts(withBase)).toEqual(["2000"]);

    const noBase = await buildHarness({ rules: [upto("/status/:code", { from: { header: "X-Usage-Units" } })] });
    const { response } = await payUpto(noBase, "/status/200");
    expect(response.status).toBe(200);
    expect(await settledAmounts(noBase)).toEqual([]);
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      amount: "0",
      transaction: "",
    });
    expect((await noBase.ledgerRows())[0]).toMatchObject({ status: "settled", amount: "0", metered_units: null });
  });

  it("an origin failure settles nothing, metered or not", async () => {
    const harness = await buildHarness({ rules: [upto("/status/:code", { from: "bytes" })] });
    expect((await payUpto(harness, "/status/503")).response.status).toBe(503);
    expect(await settledAmounts(harness)).toEqual([]);
  });

  it("a body too large to meter is delivered whole and charged by the policy", async () => {
    const size = 10 * 1024 * 1024 + 70_000;
    const harness = await buildHarness({ rules: [upto("/big/:n", { from: "bytes", onInvalidUsage: "nothing" })] });
    const { response } = await payUpto(harness, `/big/${size}`);
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(size);
    expect(await settledAmounts(harness)).toEqual([]);
  });

  it("refuses locally, before any facilitator call, a permit for another facilitator or below the maximum", async () => {
    const harness = await buildHarness({ rules: [upto("/big/:n", { from: "bytes" })] });
    const reason = async (response: Response) => decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error;
    expect(await reason((await payUpto(harness, "/big/10", { facilitator: "0x00000000000000000000000000000000000bad01" })).response)).toBe(
      "upto_facilitator_mismatch",
    );
    expect(await reason((await payUpto(harness, "/big/10", { amount: "99999" })).response)).toBe("permit2_amount_mismatch");
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("a streamed answer passes through, then the receipt follows as a last event; an unreadable usage (not JSON) is charged by the policy", async () => {
    const harness = await buildHarness({ rules: [upto("/sse", { from: { sse: "usage.total_tokens" }, base: "$0.003" })] });
    const { response } = await payUpto(harness, "/sse");
    expect(response.status).toBe(200);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    const text = await response.text();
    expect(text.startsWith("data: event 1\n\ndata: event 2\n\ndata: event 3\n\n")).toBe(true);
    const receipt = /event: payment-response\ndata: (\S+)\n\n$/.exec(text)!;
    expect(decodeHeader<SettleResponse>(receipt[1]!)).toMatchObject({ success: true, amount: "3000" });
    expect(await settledAmounts(harness)).toEqual(["3000"]);
  });

  // Security review F1: a stream the client leaves after content went out is settled by `meter.onCancel`
  // (default the cap's price), and its payment stays spent: the same signature cannot buy a second stream.
  it("a client that leaves a metered stream after content went out pays the onCancel price, and its signature buys no second stream", async () => {
    const harness = await buildHarness({ rules: [upto("/sse", { from: { sse: "usage.total_tokens" }, base: "$0.003", cap: 50_000 })] });
    const { response, payload } = await payUpto(harness, "/sse");
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel("client went away");
    // $0.003 + 50,000 × $0.000001 = $0.053: the cap's price.
    await eventually(async () => expect(await settledAmounts(harness)).toEqual(["53000"]));
    expect((await harness.ledgerRows())[0]).toMatchObject({ status: "settled", amount: "53000", error_reason: "client_disconnected" });

    const again = await harness.fetch("/sse", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(again.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(again.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
  });

  // The attacker review of this change: leaving as soon as the headers came must not hand the authorization back.
  it("a client that leaves before any content is charged nothing, and its signature buys no second stream", async () => {
    const harness = await buildHarness({ rules: [upto("/sse", { from: { sse: "usage.total_tokens" }, base: "$0.003" })] });
    const { response, payload } = await payUpto(harness, "/sse");
    await response.body!.cancel("left at once");
    await eventually(async () =>
      expect((await harness.ledgerRows())[0]).toMatchObject({ status: "origin_failed", error_reason: "client_disconnected" }),
    );
    expect(await settledAmounts(harness)).toEqual([]);
    const again = await harness.fetch("/sse", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(decodeHeader<PaymentRequired>(again.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
  });

  // The attacker review's F1 follow-up: a 304 (If-None-Match) or 204 on an sse rule was a 500, and the cap settled.
  it("an sse-metered answer with no body (304, 204) is passed on and charged as 0 units: the base, or nothing", async () => {
    const harness = await buildHarness({ rules: [upto("/status/:code", { from: { sse: "usage.total_tokens" }, base: "$0.003" })] });
    const notModified = (await payUpto(harness, "/status/304")).response;
    expect(notModified.status).toBe(304);
    expect(decodeHeader<SettleResponse>(notModified.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true, amount: "3000" });
    expect(await settledAmounts(harness)).toEqual(["3000"]);
    expect((await harness.ledgerRows())[0]).toMatchObject({ status: "settled", amount: "3000", metered_units: "0" });

    const free = await buildHarness({ rules: [upto("/status/:code", { from: { sse: "usage.total_tokens" } })] });
    const noContent = (await payUpto(free, "/status/204")).response;
    expect(noContent.status).toBe(204);
    expect(await settledAmounts(free)).toEqual([]);
  });

  it("HEAD on an sse-metered rule is 0 units too: headers only, never the cap", async () => {
    const harness = await buildHarness({ rules: [upto("/sse", { from: { sse: "usage.total_tokens" }, base: "$0.003", cap: 50_000 })] });
    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/sse", { method: "HEAD" })).headers.get("PAYMENT-REQUIRED"));
    const payload = await buildUptoPayload(challenge.accepts[0]!);
    const response = await harness.fetch("/sse", { method: "HEAD", headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(response.status).toBe(200);
    expect(await settledAmounts(harness)).toEqual(["3000"]);
  });

  it("onCancel: base settles the base price", async () => {
    const harness = await buildHarness({
      rules: [upto("/sse", { from: { sse: "usage.total_tokens" }, base: "$0.003", onCancel: "base" })],
    });
    const { response } = await payUpto(harness, "/sse");
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel("client went away");
    await eventually(async () => expect(await settledAmounts(harness)).toEqual(["3000"]));
  });

  it("a stream still running at maxStreamSeconds is ended there and settled at the cap", async () => {
    const harness = await buildHarness({ rules: [upto("/sse-endless/:ms", { from: { sse: "usage.total_tokens" }, maxStreamSeconds: 1 })] });
    const { response } = await payUpto(harness, "/sse-endless/50");
    const text = await response.text();
    expect(text).toContain("data: tick 1\n\n");
    const receipt = /event: payment-response\ndata: (\S+)\n\n$/.exec(text)!;
    // No cap: the maximum ($0.10) is the cap's price.
    expect(decodeHeader<SettleResponse>(receipt[1]!)).toMatchObject({ success: true, amount: "100000" });
    expect((await harness.ledgerRows())[0]).toMatchObject({ status: "settled", amount: "100000", error_reason: "stream_time_limit" });
  });

  it("a permit that could expire before the stream's end and its settle is refused before the origin or the facilitator is asked", async () => {
    // Window: verify 1 s + origin 1 s + stream 30 s (default) + settle 1 s + 6 s = 39 s.
    const harness = await buildHarness({ rules: [upto("/sse", { from: { sse: "usage.total_tokens" } })] });
    const { response } = await payUpto(harness, "/sse", { deadline: BigInt(Math.floor(Date.now() / 1000) + 30) });
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe("permit2_deadline_expired");
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);
    const covered = (await payUpto(harness, "/sse", { deadline: BigInt(Math.floor(Date.now() / 1000) + 40) })).response;
    expect(covered.status).toBe(200);
    expect(await covered.text()).toContain("event: payment-response");
  });

  it("one payer has one metered stream in flight: a second waits its turn with a 402, and is served once the first ended", async () => {
    const harness = await buildHarness({ rules: [upto("/sse-endless/:ms", { from: { sse: "usage.total_tokens" }, maxStreamSeconds: 5 })] });
    const first = await payUpto(harness, "/sse-endless/50");
    const reader = first.response.body!.getReader();
    await reader.read();
    const second = await payUpto(harness, "/sse-endless/50");
    expect(second.response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(second.response.headers.get("PAYMENT-REQUIRED")).error).toBe("payer_stream_in_progress");
    expect(await harness.originCalls()).toHaveLength(1);

    await reader.cancel("done");
    await eventually(async () => expect(await settledAmounts(harness)).toHaveLength(1));
    const third = await payUpto(harness, "/sse-endless/50");
    expect(third.response.status).toBe(200);
    const thirdReader = third.response.body!.getReader();
    await thirdReader.read();
    await thirdReader.cancel("done");
    await eventually(async () => expect(await settledAmounts(harness)).toHaveLength(2));
  });

  it("a stream whose settle is refused at its end keeps its payment spent: the signature buys no second stream", async () => {
    const harness = await buildHarness({
      rules: [upto("/sse", { from: { sse: "usage.total_tokens" }, base: "$0.003" })],
      facilitator: "settle-fail",
    });
    const { response, payload } = await payUpto(harness, "/sse");
    expect(await response.text()).toContain("event: payment-error");
    const again = await harness.fetch("/sse", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(decodeHeader<PaymentRequired>(again.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
    expect((await harness.ledgerRows())[0]).toMatchObject({ status: "settle_failed" });
  });
});
