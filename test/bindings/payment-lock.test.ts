import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newTestId } from "../fixtures/builders.js";

const lock = () => env.PAYMENT_LOCKS.get(env.PAYMENT_LOCKS.idFromName(`eip155:1:0xpayer:${newTestId()}`));

describe("PaymentLock", () => {
  it("first claim wins; others see it held until it is released", async () => {
    const stub = lock();
    expect(await stub.claim("a", 60_000, 1000)).toEqual({ kind: "claimed" });
    expect(await stub.claim("b", 60_000, 1001)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release("b"); // not the owner: no effect
    expect(await stub.claim("c", 60_000, 1002)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release("a");
    expect(await stub.claim("c", 60_000, 1003)).toEqual({ kind: "claimed" });
  });

  it("lets an expired lease be taken over, but never a settled payment", async () => {
    const stub = lock();
    await stub.claim("a", 100, 1000);
    expect(await stub.claim("b", 100, 1200)).toEqual({ kind: "claimed" });
    await stub.complete("b", "settled", Date.now() + 60_000);
    expect(await stub.claim("c", 100, 999_999)).toEqual({ kind: "held", state: "settled" });
    await stub.release("b");
    expect(await stub.claim("c", 100, 999_999)).toEqual({ kind: "held", state: "settled" });
  });

  it("forgets a completed payment at its alarm", async () => {
    const stub = lock();
    await stub.claim("a", 100, 1000);
    await stub.complete("a", "unknown", Date.now() + 60_000);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.claim("b", 100, 2000)).toEqual({ kind: "claimed" });
  });
});
