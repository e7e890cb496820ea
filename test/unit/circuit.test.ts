import { describe, expect, it } from "vitest";
import { applyOutcome, availabilityOf, canProbe, countSuccess, HEALTHY, type FacilitatorHealth } from "../../src/facilitator/circuit.js";

const policy = { failureThreshold: 3, openSeconds: 30 };
const fail = (health: FacilitatorHealth, atMs: number) => applyOutcome(health, { ok: false, latencyMs: 5, atMs, error: "boom" }, policy);
const succeed = (health: FacilitatorHealth, atMs: number, latencyMs = 10) => applyOutcome(health, { ok: true, latencyMs, atMs }, policy);

describe("facilitator circuit", () => {
  it("stays closed below the threshold, and a success resets the count", () => {
    const twice = fail(fail(HEALTHY, 0), 1);
    expect(twice).toMatchObject({ state: "closed", consecutiveFailures: 2 });
    expect(fail(succeed(twice, 2), 3)).toMatchObject({ state: "closed", consecutiveFailures: 1 });
  });

  it("opens at the threshold, goes half-open after the open period, and allows one probe at a time", () => {
    const open = fail(fail(fail(HEALTHY, 0), 1), 1000);
    expect(open).toMatchObject({ state: "open", openedAtMs: 1000 });
    expect(availabilityOf(open, policy, 30_999)).toBe("open");
    expect(availabilityOf(open, policy, 31_000)).toBe("half-open");
    expect(canProbe(open, policy, 31_000)).toBe(true);
    expect(canProbe({ ...open, probeAtMs: 31_000 }, policy, 40_000)).toBe(false);
    // A probe that never reported back frees the slot after another open period.
    expect(canProbe({ ...open, probeAtMs: 31_000 }, policy, 61_000)).toBe(true);
  });

  it("a failed probe opens it again from that moment; a good one closes it", () => {
    const open = fail(fail(fail(HEALTHY, 0), 0), 0);
    expect(fail(open, 31_000)).toMatchObject({ state: "open", openedAtMs: 31_000, probeAtMs: null });
    expect(succeed({ ...open, probeAtMs: 31_000 }, 31_050)).toMatchObject({
      state: "closed",
      consecutiveFailures: 0,
      openedAtMs: null,
      probeAtMs: null,
    });
  });

  it("keeps a moving average of successful calls' latency", () => {
    expect(succeed(succeed(HEALTHY, 0, 100), 1, 200).latencyMs).toBe(120);
  });
});

describe("countSuccess: a late success counts without moving the circuit", () => {
  it("adds a call and a latency sample, and leaves failures and an open circuit as they are", () => {
    const open = fail(fail(fail(HEALTHY, 0), 1), 2);
    expect(open.state).toBe("open");
    const counted = countSuccess(open, { latencyMs: 40 });
    expect(counted).toEqual({ ...open, calls: open.calls + 1, latencyMs: 40 });
    expect(countSuccess(counted, { latencyMs: 90 }).latencyMs).toBe(50);
  });
});
