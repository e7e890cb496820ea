import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { toDataPoint } from "../../src/observability/analytics.js";
import type { RequestLogLine } from "../../src/observability/request-log.js";
import { BASE_SEPOLIA, BASE_SEPOLIA_USDC, buildHarness, buildRule, encodePayment, PAY_TO, PAYER, payFor } from "../fixtures/builders.js";

let logSpy: MockInstance<typeof console.log>;
beforeEach(() => {
  logSpy = vi.spyOn(console, "log");
});
afterEach(() => logSpy.mockRestore());

function requestLines(): RequestLogLine[] {
  return logSpy.mock.calls
    .map(([first]) =>
      typeof first === "string" && first.startsWith('{"event":"request"') ? (JSON.parse(first) as RequestLogLine) : undefined,
    )
    .filter((line): line is RequestLogLine => line !== undefined);
}

describe("one JSON log line per request", () => {
  it("a free request: outcome free, no rule, the status and total time", async () => {
    const harness = await buildHarness();
    expect((await harness.fetch("/free/item?token=secret-in-query")).status).toBe(200);
    expect(requestLines()).toEqual([
      { event: "request", method: "GET", path: "/free/item", rule: null, outcome: "free", status: 200, ms: { total: expect.any(Number) } },
    ]);
    // The query string can carry credentials: it is never logged.
    expect(JSON.stringify(logSpy.mock.calls)).not.toContain("secret-in-query");
  });

  it("an unpaid request: the rule, payment_required and the 402's reason", async () => {
    const harness = await buildHarness();
    expect((await harness.fetch("/weather/paris")).status).toBe(402);
    expect(requestLines()).toEqual([
      expect.objectContaining({
        rule: "weather",
        outcome: "payment_required",
        status: 402,
        reason: "PAYMENT-SIGNATURE header is required",
      }),
    ]);
  });

  it("a paid request: payer, network, amount, facilitator, transaction and each stage's time, and no signature", async () => {
    const harness = await buildHarness();
    const { response, payload } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(200);
    const lines = requestLines();
    // The first line is the 402 payFor asked for.
    expect(lines.map((line) => line.outcome)).toEqual(["payment_required", "settled"]);
    const paid = lines[1]!;
    expect(paid).toEqual({
      event: "request",
      method: "GET",
      path: "/weather/paris",
      rule: "weather",
      outcome: "settled",
      status: 200,
      ms: { total: expect.any(Number), verify: expect.any(Number), origin: expect.any(Number), settle: expect.any(Number) },
      payer: PAYER.address,
      network: BASE_SEPOLIA,
      scheme: "exact",
      asset: BASE_SEPOLIA_USDC,
      amount: "10000",
      payTo: PAY_TO,
      facilitator: "default",
      transaction: expect.stringMatching(/^0x/),
    });
    const everything = JSON.stringify(logSpy.mock.calls);
    expect(everything).not.toContain((payload.payload as { signature: string }).signature.slice(2, 40));
    expect(everything).not.toContain(encodePayment(payload).slice(0, 40));
  });

  it("a refused settlement and an origin failure are their ledger outcomes", async () => {
    const refused = await buildHarness({ facilitator: "settle-fail" });
    expect((await payFor(refused, "/weather/paris")).response.status).toBe(402);
    const failing = await buildHarness({ rules: [buildRule({ path: "/status/:code" })] });
    expect((await payFor(failing, "/status/500")).response.status).toBe(500);
    const outcomes = requestLines().filter(
      (line) => line.outcome !== "payment_required" || line.reason !== "PAYMENT-SIGNATURE header is required",
    );
    expect(outcomes).toEqual([
      expect.objectContaining({
        outcome: "settle_failed",
        status: 402,
        reason: expect.any(String),
        ms: expect.objectContaining({ settle: expect.any(Number) }),
      }),
      expect.objectContaining({ outcome: "origin_failed", status: 500, ms: expect.objectContaining({ origin: expect.any(Number) }) }),
    ]);
  });

  it("a malformed payment header: the error's kind and 400", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": "%%%not-base64" } });
    expect(response.status).toBe(400);
    expect(requestLines()).toEqual([expect.objectContaining({ rule: "weather", outcome: "payment_malformed", status: 400 })]);
  });

  it("invalid config: the line says config_invalid (503)", async () => {
    const harness = await buildHarness({ rules: "{ not json" });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
    expect(requestLines()).toEqual([expect.objectContaining({ outcome: "config_invalid", status: 503 })]);
  });

  it("REQUEST_LOG=off writes no line", async () => {
    const harness = await buildHarness({ vars: { REQUEST_LOG: "off" } });
    expect((await harness.fetch("/weather/paris")).status).toBe(402);
    expect(requestLines()).toEqual([]);
  });

  it("REQUEST_LOG with another value is invalid config, and says so", async () => {
    const harness = await buildHarness({ vars: { REQUEST_LOG: "loud" } });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
  });
});

describe("Analytics Engine data point", () => {
  it("lays the line out in the documented columns", () => {
    const line: RequestLogLine = {
      event: "request",
      method: "GET",
      path: "/weather/paris",
      rule: "weather",
      outcome: "settled",
      status: 200,
      ms: { total: 40, verify: 10, origin: 5, settle: 20 },
      payer: PAYER.address,
      network: BASE_SEPOLIA,
      scheme: "exact",
      asset: BASE_SEPOLIA_USDC,
      amount: "10000",
      payTo: PAY_TO,
      facilitator: "default",
      transaction: "0xabc",
    };
    expect(toDataPoint(line)).toEqual({
      indexes: ["weather"],
      blobs: ["weather", "settled", "GET", BASE_SEPOLIA, "exact", "default", PAY_TO, ""],
      doubles: [200, 40, 10, 5, 20, 10000],
    });
    expect(
      toDataPoint({ ...line, rule: null, outcome: "free", ms: { total: 3 }, network: undefined, amount: undefined } as RequestLogLine),
    ).toEqual({
      indexes: [""],
      blobs: ["", "free", "GET", "", "exact", "default", PAY_TO, ""],
      doubles: [200, 3, 0, 0, 0, 0],
    });
  });
});
