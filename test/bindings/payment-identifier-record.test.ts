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

  // Issue #34: an answer whose settle's outcome is unknown waits for what the chain says.
  const answer = (body: string | null) => ({ status: 200, statusText: "OK", headers: [["content-type", "application/json"]] as [string, string][], body: body === null ? null : (new TextEncoder().encode(body).buffer as ArrayBuffer) });

  it("keeps an answer awaiting its payment's outcome: unserved until settled, then served with its PAYMENT-RESPONSE", async () => {
    const stub = record();
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
    await stub.keepAwaiting("fp-1", answer('{"city":"paris"}'), Date.now() + 86_400_000, Date.now() + 900_000);
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "in_flight" });
    expect(await stub.resolve("fp-other", "receipt")).toEqual({ kept: false });
    expect(await stub.resolve("fp-1", "receipt")).toEqual({ kept: true });
    const begun = await stub.begin("fp-1", 60_000, Date.now());
    expect(begun).toMatchObject({ kind: "stored", response: { status: 200, headers: [["content-type", "application/json"], ["payment-response", "receipt"]] } });
    expect(new TextDecoder().decode((begun as { response: { body: ArrayBuffer } }).response.body)).toBe('{"city":"paris"}');
  });

  it("forgets the id when the chain shows nothing moved, so a retry runs again", async () => {
    const stub = record();
    await stub.begin("fp-1", 60_000, Date.now());
    await stub.keepAwaiting("fp-1", answer("x"), Date.now() + 86_400_000, Date.now() + 900_000);
    expect(await stub.resolve("fp-1", null)).toEqual({ kept: false });
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
  });

  it("an answer too large to keep is not kept: the payer is owed a refund, and a retry gets the receipt alone", async () => {
    const stub = record();
    await stub.begin("fp-1", 60_000, Date.now());
    await stub.keepAwaiting("fp-1", answer(null), Date.now() + 86_400_000, Date.now() + 900_000);
    expect(await stub.resolve("fp-1", "receipt")).toEqual({ kept: false });
    expect(await stub.begin("fp-1", 60_000, Date.now())).toMatchObject({ kind: "stored", response: { body: null } });
  });

  it("an ordinary stored answer or a request in flight is not touched by a settled verdict", async () => {
    const stub = record();
    await stub.begin("fp-1", 60_000, Date.now());
    expect(await stub.resolve("fp-1", "receipt")).toEqual({ kept: false });
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "in_flight" });
  });

  it("an answer whose outcome never came is forgotten when the await ends; a settled one is kept to its forget time", async () => {
    const stub = record();
    const now = Date.now();
    await stub.begin("fp-1", 60_000, now);
    await stub.keepAwaiting("fp-1", answer("x"), now + 86_400_000, now + 900_000);
    expect(await runInDurableObject(stub, (_object, state) => state.storage.getAlarm())).toBe(now + 900_000);
    await stub.resolve("fp-1", "receipt");
    expect(await runInDurableObject(stub, (_object, state) => state.storage.getAlarm())).toBe(now + 86_400_000);

    const never = record();
    await never.begin("fp-1", 60_000, now);
    await never.keepAwaiting("fp-1", answer("x"), now + 86_400_000, now - 1);
    await runDurableObjectAlarm(never);
    expect(await never.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
  });
});
