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
  const primaryVerifies = async () =>
    (await harness.facilitatorCalls({ facilitator: "primary" })).filter((c) => c.path === "/verify").length;
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
    const [record] = Object.values(
      (await state.read([`primary ${harness.facilitatorUrl("primary", "http500")}`])) as Record<string, { health: { state: string } }>,
    );
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

  // Security review F12: anyone's traffic can spend a facilitator's quota; its 429s must not close it for everyone.
  it("rate limits (429) fail the request over but never open the circuit: the next payer is still offered the facilitator", async () => {
    const harness = await buildHarness({
      facilitators: [{ id: "only", mode: "rate-limited", priority: 1 }],
      document: { circuit: { failureThreshold: 2, openSeconds: 30 } },
    });
    for (let i = 0; i < 3; i++) expect((await payFor(harness, "/weather/paris")).response.status).toBe(502);
    const unpaid = await harness.fetch("/weather/paris");
    expect(unpaid.status).toBe(402);
    expect((await harness.facilitatorCalls({ facilitator: "only" })).filter((c) => c.path === "/verify")).toHaveLength(3);
    await harness.setFacilitatorMode("only", "ok");
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
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

describe("facilitator health reports", () => {
  it("sends a healthy facilitator's successes to the shared object in batches, at most every 10 s per isolate", async () => {
    const clock = { nowMs: Date.now() };
    const app = buildApp({ schemes: buildDefaultSchemeRegistry(), fetch: (input, init) => fetch(input, init), nowMs: () => clock.nowMs });
    const harness = await buildHarness({ app, facilitators: [{ id: "only", mode: "ok", priority: 1 }] });
    const state = env.FACILITATOR_STATE.get(env.FACILITATOR_STATE.idFromName(harness.env.PRICE_RULES_KEY as string));
    const key = `only ${harness.facilitatorUrl("only", "ok")}`;
    const health = async () =>
      ((await state.read([key])) as Record<string, { health: { calls: number; latencyMs: number | null; state: string } }>)[key]!.health;

    for (let i = 0; i < 3; i++) expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    expect((await health()).calls).toBe(0); // verify and settle of each: counted in the isolate, not yet sent

    clock.nowMs += 10_000;
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    const sent = await health();
    // The report leaves once this request's verify is counted; its settle may ride with the next one.
    expect(sent.state).toBe("closed");
    expect(sent.calls).toBeGreaterThanOrEqual(7);
    expect(sent.calls).toBeLessThanOrEqual(8);
    expect(sent.latencyMs).not.toBeNull();
  });

  it("reports a failure at once, with the successes seen before it, which never close an open circuit", async () => {
    const { harness } = await clockedPair({ failureThreshold: 1, openSeconds: 30 });
    const state = env.FACILITATOR_STATE.get(env.FACILITATOR_STATE.idFromName(harness.env.PRICE_RULES_KEY as string));
    const backup = `backup ${harness.facilitatorUrl("backup", "ok")}`;
    const primary = `primary ${harness.facilitatorUrl("primary", "http500")}`;
    // The primary's first failure opens it and is reported at once; the backup's successes ride along later.
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    const records = (await state.read([primary, backup])) as Record<string, { health: { state: string; calls: number } }>;
    expect(records[primary]!.health).toMatchObject({ state: "open", calls: 1 });
    // Late successes count calls without moving a circuit another isolate opened.
    const after = (await state.report([], { failureThreshold: 1, openSeconds: 30 }, [
      { key: primary, ok: true, latencyMs: 5, atMs: 0 },
    ])) as Record<string, { state: string; calls: number }>;
    expect(after[primary]).toMatchObject({ state: "open", calls: 2 });
  });
});
