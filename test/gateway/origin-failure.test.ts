import { describe, expect, it } from "vitest";
import { buildHarness, buildRule, payFor } from "../fixtures/builders.js";

describe("origin failures on a paid route", () => {
  it.each([404, 500, 503])("origin %i: its answer is returned, nothing is settled", async (status) => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/status/:code" })] });
    const { response } = await payFor(harness, `/status/${status}`);

    expect(response.status).toBe(status);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "origin_failed", origin_status: status }]);
  });

  it("origin unreachable: 502, nothing settled, ledger origin_failed", async () => {
    const harness = await buildHarness({ origin: "dead" });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "origin_unreachable" });
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "origin_failed", error_reason: "origin_unreachable" }]);
  });

  it("origin too slow: 504, nothing settled", async () => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/slow/:ms" })] });
    const { response } = await payFor(harness, "/slow/3000");

    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: "origin_timeout" });
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "origin_failed", error_reason: "origin_timeout" }]);
    // ~1 s normally (the origin timeout); more room than the default 5 s for a loaded 2-core CI machine.
  }, 20_000);

  it("a body that breaks off before its declared length: 502, nothing settled, ledger origin_failed", async () => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/truncated" })] });
    const { response } = await payFor(harness, "/truncated");

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "origin_unreachable" });
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "origin_failed", error_reason: "origin_unreachable" }]);
  });

  it("a declared body slower than the origin timeout: 504, nothing settled", async () => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/slow-body/:ms" })] });
    const { response } = await payFor(harness, "/slow-body/3000");

    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: "origin_timeout" });
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify"]);
  }, 20_000);

  it("free route to an unreachable origin: 502 with a clear error", async () => {
    const harness = await buildHarness({ origin: "dead" });
    const response = await harness.fetch("/free");
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ error: "origin_unreachable", message: "The origin server could not be reached." });
  });
});
