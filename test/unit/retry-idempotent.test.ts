import { describe, expect, it } from "vitest";
import { isRetryableDurableObjectError, retryIdempotent } from "../../src/sessions/retry-idempotent.js";

const transient = () => Object.assign(new Error("Durable Object reset"), { retryable: true });
const overloaded = () => Object.assign(new Error("Durable Object is overloaded"), { retryable: true, overloaded: true });

function failingTimes(failures: (() => Error)[], value = "granted") {
  let calls = 0;
  const call = async () => {
    const failure = failures[calls++];
    if (failure) throw failure();
    return value;
  };
  return { call, calls: () => calls };
}

describe("retryIdempotent", () => {
  const noSleep = { attempts: 3, baseDelayMs: 50, sleep: async () => {} };

  it("retries transient Durable Object errors until the call succeeds", async () => {
    const flaky = failingTimes([transient, transient]);
    await expect(retryIdempotent(flaky.call, noSleep)).resolves.toBe("granted");
    expect(flaky.calls()).toBe(3);
  });

  it("gives up after the last attempt with the last error", async () => {
    const broken = failingTimes([transient, transient, transient, transient]);
    await expect(retryIdempotent(broken.call, noSleep)).rejects.toThrow("Durable Object reset");
    expect(broken.calls()).toBe(3);
  });

  it("does not retry an overloaded object or an ordinary error", async () => {
    for (const failure of [overloaded, () => new Error("bad request")]) {
      const once = failingTimes([failure]);
      await expect(retryIdempotent(once.call, noSleep)).rejects.toThrow();
      expect(once.calls()).toBe(1);
    }
    expect([transient(), overloaded(), new Error("x"), null, "retryable"].map(isRetryableDurableObjectError)).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it("backs off with jitter, doubling per attempt", async () => {
    const delays: number[] = [];
    const flaky = failingTimes([transient, transient]);
    await retryIdempotent(flaky.call, { attempts: 3, baseDelayMs: 100, sleep: async (ms) => void delays.push(ms) });
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThan(100);
    expect(delays[1]).toBeLessThan(200);
  });
});
