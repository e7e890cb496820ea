// The replay lock and verify of one payment: a payment the isolate meets for the first time has its verify (and
// its early origin call) sent alongside its claim; one met before is claimed first, so a held lock costs no
// facilitator or origin call; a copy whose claim is out in this isolate waits for it. The claim and
// verify here are stand-ins recording the order they are asked in (the lock's storage is tested in
// test/bindings/payment-record.test.ts, and 100 concurrent copies through the Worker in test/gateway/replay.test.ts).
import { describe, expect, it } from "vitest";
import type { Attempted } from "../../src/facilitator/facilitator-pool.js";
import type { ViewEntry } from "../../src/facilitator/facilitator-view.js";
import type { ClaimOutcome } from "../../src/payment-record/claim-payment.js";
import { claimAndVerify, firstMeeting } from "../../src/payment-modes/pay-per-call/claim-and-verify.js";
import type { VerifyResponse } from "../../src/x402/schemas.js";

let keys = 0;
const freshKey = () => `eip155:1:0xpayer:claim-and-verify-${keys++}`;
const waitUntil = { waitUntil: (promise: Promise<unknown>) => void promise.catch(() => {}) };
const verifiedBy = (response: VerifyResponse) => ({ entry: {} as ViewEntry, response }) as Attempted<VerifyResponse>;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A claim and a verify that answer when the test says, noting what was asked and released. */
function scripted() {
  const asked: string[] = [];
  const claim = deferred<ClaimOutcome>();
  const verify = deferred<Attempted<VerifyResponse>>();
  const claimed: ClaimOutcome = {
    kind: "claimed",
    claim: { release: async () => void asked.push("release"), complete: async () => {}, record: async () => {} },
  };
  return {
    asked,
    claim,
    verify,
    claimed,
    options: (paymentKey: string) => ({
      paymentKey,
      claim: () => (asked.push("claim"), claim.promise),
      verify: () => (asked.push("verify"), verify.promise),
      ctx: waitUntil,
      nowMs: () => Date.now(),
    }),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("claimAndVerify", () => {
  it("sends a first-met payment's verify while its claim is still out, and settles for both", async () => {
    const s = scripted();
    const outcome = claimAndVerify(s.options(freshKey()));
    await tick();
    expect(s.asked).toEqual(["verify", "claim"]);
    s.verify.resolve(verifiedBy({ isValid: true, payer: "0xc" }));
    s.claim.resolve(s.claimed);
    await expect(outcome).resolves.toMatchObject({ kind: "accepted", verified: { response: { isValid: true } } });
    expect(s.asked).toEqual(["verify", "claim"]);
  });

  it("claims a payment met before first, and asks the facilitator nothing when its lock is held", async () => {
    const key = freshKey();
    firstMeeting(key);
    const s = scripted();
    const outcome = claimAndVerify(s.options(key));
    await tick();
    expect(s.asked).toEqual(["claim"]);
    s.claim.resolve({ kind: "held", state: "settled" });
    await expect(outcome).resolves.toEqual({ kind: "held" });
    expect(s.asked).toEqual(["claim"]);
  });

  it("asks the origin alongside the claim for a payment met for the first time, and only after the claim for one met before", async () => {
    const fresh = scripted();
    const asking = claimAndVerify({ ...fresh.options(freshKey()), verify: undefined, askOriginEarly: () => fresh.asked.push("origin") });
    await tick();
    expect(fresh.asked).toEqual(["origin", "claim"]);
    fresh.claim.resolve(fresh.claimed);
    await asking;
    expect(fresh.asked).toEqual(["origin", "claim"]);

    const key = freshKey();
    firstMeeting(key);
    const again = scripted();
    const held = claimAndVerify({ ...again.options(key), verify: undefined, askOriginEarly: () => again.asked.push("origin") });
    await tick();
    expect(again.asked).toEqual(["claim"]);
    again.claim.resolve({ kind: "held", state: "in_flight" });
    await expect(held).resolves.toEqual({ kind: "held" });
    expect(again.asked).toEqual(["claim"]);
  });

  it("holds a copy whose payment's claim is out in this isolate once that claim is taken: it claims, verifies and asks the origin nothing", async () => {
    const key = freshKey();
    const leader = scripted();
    const first = claimAndVerify({ ...leader.options(key), askOriginEarly: () => leader.asked.push("origin") });
    const copy = scripted();
    const second = claimAndVerify({ ...copy.options(key), askOriginEarly: () => copy.asked.push("origin") });
    await tick();
    expect(leader.asked).toEqual(["verify", "origin", "claim"]);
    leader.claim.resolve(leader.claimed);
    await expect(second).resolves.toEqual({ kind: "held" });
    expect(copy.asked).toEqual([]);
    leader.verify.resolve(verifiedBy({ isValid: true }));
    await expect(first).resolves.toMatchObject({ kind: "accepted" });
  });

  it("lets a copy claim for itself when the claim it waited on failed", async () => {
    const key = freshKey();
    const leader = scripted();
    const first = claimAndVerify({ ...leader.options(key), verify: undefined });
    const copy = scripted();
    const second = claimAndVerify({ ...copy.options(key), verify: undefined });
    leader.claim.reject(new Error("replay lock unavailable"));
    await expect(first).rejects.toThrow("replay lock unavailable");
    await tick();
    expect(copy.asked).toEqual(["claim"]);
    copy.claim.resolve(copy.claimed);
    await expect(second).resolves.toMatchObject({ kind: "accepted" });
  });

  it("verifies a payment met before once its claim is taken", async () => {
    const key = freshKey();
    firstMeeting(key);
    const s = scripted();
    const outcome = claimAndVerify(s.options(key));
    s.claim.resolve(s.claimed);
    await tick();
    expect(s.asked).toEqual(["claim", "verify"]);
    s.verify.resolve(verifiedBy({ isValid: true }));
    await expect(outcome).resolves.toMatchObject({ kind: "accepted" });
  });

  it("without a verify to ask, accepts once the claim is taken and asks nothing more", async () => {
    const s = scripted();
    const outcome = claimAndVerify({ ...s.options(freshKey()), verify: undefined });
    s.claim.resolve(s.claimed);
    await expect(outcome).resolves.toMatchObject({ kind: "accepted", verified: undefined, verifyMs: 0 });
    expect(s.asked).toEqual(["claim"]);
  });

  it("without a verify to ask, a held lock is still held", async () => {
    const s = scripted();
    const outcome = claimAndVerify({ ...s.options(freshKey()), verify: undefined });
    s.claim.resolve({ kind: "held", state: "in_flight" });
    await expect(outcome).resolves.toEqual({ kind: "held" });
  });

  it("answers held when the lock is held, whatever the early verify said, and releases nothing", async () => {
    const s = scripted();
    const outcome = claimAndVerify(s.options(freshKey()));
    s.verify.reject(new Error("facilitator down"));
    s.claim.resolve({ kind: "held", state: "in_flight" });
    await expect(outcome).resolves.toEqual({ kind: "held" });
    expect(s.asked).not.toContain("release");
  });

  it("throws the claim's failure, not the early verify's, and has nothing to release", async () => {
    const s = scripted();
    const outcome = claimAndVerify(s.options(freshKey()));
    s.verify.resolve(verifiedBy({ isValid: true }));
    s.claim.reject(new Error("replay lock unavailable"));
    await expect(outcome).rejects.toThrow("replay lock unavailable");
    expect(s.asked).not.toContain("release");
  });

  it("releases the lock when verify fails, and throws its error", async () => {
    const s = scripted();
    const outcome = claimAndVerify(s.options(freshKey()));
    s.claim.resolve(s.claimed);
    s.verify.reject(new Error("facilitator down"));
    await expect(outcome).rejects.toThrow("facilitator down");
    await tick();
    expect(s.asked).toContain("release");
  });

  it("releases the lock when the facilitator refuses the payment", async () => {
    const s = scripted();
    const outcome = claimAndVerify(s.options(freshKey()));
    s.claim.resolve(s.claimed);
    s.verify.resolve(verifiedBy({ isValid: false, invalidReason: "insufficient_funds" }));
    await expect(outcome).resolves.toMatchObject({ kind: "refused", verified: { response: { invalidReason: "insufficient_funds" } } });
    await tick();
    expect(s.asked).toContain("release");
  });
});

describe("firstMeeting", () => {
  it("is true once per key, and forgets the oldest keys past 10,000", () => {
    const first = freshKey();
    expect(firstMeeting(first)).toBe(true);
    expect(firstMeeting(first)).toBe(false);
    for (let i = 0; i < 10_000; i++) firstMeeting(freshKey());
    expect(firstMeeting(first)).toBe(true);
  });
});
