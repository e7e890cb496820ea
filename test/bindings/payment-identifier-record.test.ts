// Security review F18: an identifier's `in_flight` row never outlives its lease for good.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newTestId } from "../fixtures/builders.js";

const record = () => env.PAYMENT_IDENTIFIERS.get(env.PAYMENT_IDENTIFIERS.idFromName(`id-${newTestId()}`));

describe("PaymentIdentifierRecord", () => {
  it("a request that never finished is forgotten by the alarm at its lease's end", async () => {
    const stub = record();
    const now = Date.now();
    expect(await stub.begin("fp-1", 60_000, now)).toEqual({ kind: "new" });
    expect(await runInDurableObject(stub, (_object, state) => state.storage.getAlarm())).toBe(now + 60_000);

    // A lease already over: its alarm is due at once, and the id is free again.
    const expired = record();
    expect(await expired.begin("fp-1", 1000, now - 5000)).toEqual({ kind: "new" });
    await runDurableObjectAlarm(expired);
    expect(await expired.begin("fp-2", 60_000, Date.now())).toEqual({ kind: "new" });
  });

  it("an alarm that finds the request still running waits for its lease", async () => {
    const stub = record();
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.begin("fp-2", 60_000, Date.now())).toEqual({ kind: "conflict" });
  });
});
