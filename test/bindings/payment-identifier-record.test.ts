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
  const answer = (body: string | null) => ({
    status: 200,
    statusText: "OK",
    headers: [["content-type", "application/json"]] as [string, string][],
    body: body === null ? null : (new TextEncoder().encode(body).buffer as ArrayBuffer),
  });
  const DAY_MS = 86_400_000;
  /** A record whose request's lease is over, its answer kept awaiting the verdict. */
  async function awaiting(body: string | null, awaitUntilMs = Date.now() + 900_000) {
    const stub = record();
    await stub.begin("fp-1", 1000, Date.now() - 5000);
    await stub.keepAwaiting("fp-1", answer(body), DAY_MS, awaitUntilMs);
    return stub;
  }

  it("keeps an answer awaiting its payment's outcome: unserved until settled, then served with its PAYMENT-RESPONSE", async () => {
    const stub = await awaiting('{"city":"paris"}');
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "in_flight" });
    expect(await stub.resolve("fp-other", "receipt", Date.now())).toEqual({ kind: "not_kept" });
    expect(await stub.resolve("fp-1", "receipt", Date.now())).toEqual({ kind: "kept" });
    // Asked again (a reply lost on the way): the same answer, not "not kept".
    expect(await stub.resolve("fp-1", "receipt", Date.now())).toEqual({ kind: "kept" });
    const begun = await stub.begin("fp-1", 60_000, Date.now());
    expect(begun).toMatchObject({
      kind: "stored",
      response: {
        status: 200,
        headers: [
          ["content-type", "application/json"],
          ["payment-response", "receipt"],
        ],
      },
    });
    expect(new TextDecoder().decode((begun as { response: { body: ArrayBuffer } }).response.body)).toBe('{"city":"paris"}');
  });

  it("an awaiting answer is stored as in flight, so an older version of this object refuses it and forgets it at the await's end", async () => {
    const stub = await awaiting("x");
    const row = await runInDurableObject(stub, (_object, state) =>
      state.storage.sql.exec<{ state: string }>("SELECT state FROM identified_payment").one(),
    );
    expect(row.state).toBe("in_flight");
  });

  it("forgets the id when the chain shows nothing moved, so a retry runs again", async () => {
    const stub = await awaiting("x");
    expect(await stub.resolve("fp-1", null, Date.now())).toEqual({ kind: "not_kept" });
    expect(await stub.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
  });

  it("an answer too large to keep is not kept: the payer is owed a refund, and a retry gets the receipt alone", async () => {
    const stub = await awaiting(null);
    expect(await stub.resolve("fp-1", "receipt", Date.now())).toEqual({ kind: "not_kept" });
    expect(await stub.begin("fp-1", 60_000, Date.now())).toMatchObject({ kind: "stored", response: { body: null } });
  });

  it("a verdict before the answer arrived: pending while its request's lease lasts, then nothing kept and nothing keepable", async () => {
    const live = record();
    await live.begin("fp-1", 60_000, Date.now());
    expect(await live.resolve("fp-1", "receipt", Date.now())).toEqual({ kind: "pending" });

    const over = record();
    await over.begin("fp-1", 1000, Date.now() - 5000);
    expect(await over.resolve("fp-1", "receipt", Date.now())).toEqual({ kind: "not_kept" });
    // The answer comes after all: there is nothing left to keep it in, so it is never served unresolved.
    await over.keepAwaiting("fp-1", answer("late"), DAY_MS, Date.now() + 900_000);
    expect(await over.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
  });

  it("a verdict for a record that is gone leaves no storage behind", async () => {
    const stub = record();
    expect(await stub.resolve("fp-1", null, Date.now())).toEqual({ kind: "not_kept" });
    expect(
      await runInDurableObject(
        stub,
        (_object, state) =>
          state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'identified_payment'").one().n,
      ),
    ).toBe(0);
  });

  it("an answer whose outcome never came is forgotten when the await ends; a settled one is kept for the TTL from then", async () => {
    const stub = await awaiting("x");
    const now = Date.now();
    await stub.resolve("fp-1", "receipt", now);
    expect(await runInDurableObject(stub, (_object, state) => state.storage.getAlarm())).toBe(now + DAY_MS);

    const never = await awaiting("x", Date.now() - 1);
    await runDurableObjectAlarm(never);
    expect(await never.begin("fp-1", 60_000, Date.now())).toEqual({ kind: "new" });
  });
});
