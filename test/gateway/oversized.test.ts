import { describe, expect, it } from "vitest";
import { buildHarness, buildRule, payFor } from "../fixtures/builders.js";

const rules = [buildRule({ id: "upload", methods: ["POST"], path: "/echo-body" })];

describe("oversized requests to priced routes", () => {
  it("refuses a declared body over the limit with 413 before any payment work", async () => {
    const harness = await buildHarness({ rules, vars: { MAX_PAID_BODY_BYTES: "1000" } });
    const response = await harness.fetch("/echo-body", { method: "POST", body: "x".repeat(1001), headers: { "content-length": "1001" } });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: "body_too_large" });
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("accepts a body at the limit", async () => {
    const harness = await buildHarness({ rules, vars: { MAX_PAID_BODY_BYTES: "1000" } });
    const { response } = await payFor(harness, "/echo-body", {}, { method: "POST", body: "x".repeat(1000) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("x".repeat(1000));
  });

  it("sizes a body of unknown length before any payment work and refuses it past the limit", async () => {
    const harness = await buildHarness({ rules, vars: { MAX_PAID_BODY_BYTES: "1000" } });
    const chunks = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(500).fill(0x61));
          controller.close();
        },
      });
    const { response } = await payFor(harness, "/echo-body", {}, { method: "POST", body: chunks(), duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(await harness.facilitatorCalls()).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("forwards a body of unknown length under the limit intact", async () => {
    const harness = await buildHarness({ rules, vars: { MAX_PAID_BODY_BYTES: "1000" } });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(`chunk-${i};`));
        controller.close();
      },
    });
    const { response } = await payFor(harness, "/echo-body", {}, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("chunk-0;chunk-1;chunk-2;chunk-3;");
  });

  it("leaves free routes unlimited", async () => {
    const harness = await buildHarness({ rules: [], vars: { MAX_PAID_BODY_BYTES: "10" } });
    const response = await harness.fetch("/echo-body", { method: "POST", body: "x".repeat(5000) });
    expect(response.status).toBe(200);
  });
});
