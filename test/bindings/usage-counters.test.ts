import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countingEnv, usage } from "../../src/observability/usage-counters.js";

describe("usage counters", () => {
  it("counts each call to a Durable Object stub, and the stub still works", async () => {
    const counted = countingEnv(env as never) as unknown as typeof env;
    const before = usage.durableObjectCalls;
    const stub = counted.FACILITATOR_STATE.get(counted.FACILITATOR_STATE.idFromName("usage-test"));
    await stub.read([]);
    expect(usage.durableObjectCalls - before).toBe(1);
  });
});
