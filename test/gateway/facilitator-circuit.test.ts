// The circuit breaker across requests: kept in the FacilitatorState Durable Object, driven by an injected clock.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";
import { buildHarness, payFor } from "../fixtures/builders.js";

/** A preferred facilitator answering 500 and a working backup, with the gateway's clock in the test's hands. */
async function clockedPair(circuit: { failureThreshold: number; openSeconds: number }) {
  const clock = { nowMs: Date.now() };
  const app = buildApp({ schemes: buildDefaultSchemeRegistry(), fetch: (input, init) => fetch(input, init), nowMs: () => clock.nowMs });
  const harness = await buildHarness({
    app,
    facilitators: [
      { id: "primary", mode: "http500", priority: 1 },
      { id: "backup", mode: "ok", priority: 2 },
    ],
    document: { circuit },
  });
  const primaryVerifies = async () => (await harness.facilitatorCalls({ facilitator: "primary" })).filter((c) => c.path === "/verify").length;
  return { clock, harness, primaryVerifies };
}

describe("facilitator circuit breaker", () => {
  it("opens after repeated failures, sends nothing to the dead facilitator, probes it later and closes again", async () => {
    const { clock, harness, primaryVerifies } = await clockedPair({ failureThreshold: 2, openSeconds: 30 });

    for (let i = 0; i < 2; i++) expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    expect(await primaryVerifies()).toBe(2);

    // Open: paid through the backup without trying the primary.
    for (let i = 0; i < 3; i++) expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    expect(await primaryVerifies()).toBe(2);
    const state = env.FACILITATOR_STATE.get(env.FACILITATOR_STATE.idFromName(harness.env.PRICE_RULES_KEY as string));
    const [record] = Object.values((await state.read([`primary ${harness.facilitatorUrl("primary", "http500")}`])) as Record<string, { health: { state: string } }>);
    expect(record!.health.state).toBe("open");

    // Half-open after the open period: one probe; the facilitator is back, so the circuit closes.
    clock.nowMs += 31_000;
    await harness.setFacilitatorMode("primary", "ok");
    const probed = await payFor(harness, "/weather/paris");
    expect(probed.response.status).toBe(200);
    expect(await primaryVerifies()).toBe(3);
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    expect(await primaryVerifies()).toBe(4);
    expect((await harness.facilitatorCalls({ facilitator: "primary" })).filter((c) => c.path === "/settle")).toHaveLength(2);
  });

  it("a failed probe opens the circuit again for another period", async () => {
    const { clock, harness, primaryVerifies } = await clockedPair({ failureThreshold: 1, openSeconds: 30 });
    await payFor(harness, "/weather/paris");
    clock.nowMs += 31_000;
    await payFor(harness, "/weather/paris"); // the probe, failing
    await payFor(harness, "/weather/paris");
    clock.nowMs += 10_000;
    await payFor(harness, "/weather/paris");
    expect(await primaryVerifies()).toBe(2);
  });
});
