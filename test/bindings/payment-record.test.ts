import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newTestId } from "../fixtures/builders.js";
import type { PaymentRecord } from "../../src/payment-record/payment-record.js";
import { claimPayment } from "../../src/payment-record/claim-payment.js";

/** A payer's lock group, and payment keys in it. */
const group = () => {
  const payer = `eip155:1:0xpayer${newTestId()}`;
  return { stub: env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(payer)), key: (nonce: string) => `${payer}:${nonce}` };
};

const ledgerEntry = (paymentKey: string) => ({
  paymentKey,
  ruleId: "r",
  method: "GET",
  resource: "https://g/x",
  scheme: "exact",
  network: "eip155:1",
  asset: "0xa",
  amount: "1",
  payTo: "0xb",
  payer: "0xc",
  facilitator: "http://f",
  facilitatorId: "f",
  status: "verified" as const,
  at: "2026-11-24T00:00:00.000Z",
});

describe("PaymentRecord lock", () => {
  it("first claim wins; others see it held until it is released", async () => {
    const { stub, key } = group();
    const k = key("1");
    const now = Date.now();
    expect(await stub.claim(k, "a", 60_000, now)).toEqual({ kind: "claimed" });
    expect(await stub.claim(k, "b", 60_000, now + 1)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release(k, "b"); // not the owner: no effect
    expect(await stub.claim(k, "c", 60_000, now + 2)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release(k, "a");
    expect(await stub.claim(k, "c", 60_000, now + 3)).toEqual({ kind: "claimed" });
  });

  it("keeps each payment of a group apart", async () => {
    const { stub, key } = group();
    const now = Date.now();
    expect(await stub.claim(key("1"), "a", 60_000, now)).toEqual({ kind: "claimed" });
    expect(await stub.claim(key("2"), "b", 60_000, now)).toEqual({ kind: "claimed" });
    await stub.complete(key("1"), "a", "settled", now + 60_000);
    await stub.release(key("2"), "a"); // a is not payment 2's owner
    expect(await stub.claim(key("2"), "c", 60_000, now + 1)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release(key("2"), "b");
    expect(await stub.claim(key("2"), "c", 60_000, now + 2)).toEqual({ kind: "claimed" });
    expect(await stub.claim(key("1"), "c", 60_000, now + 2)).toEqual({ kind: "held", state: "settled" });
  });

  it("lets an expired lease be taken over, but never a settled payment", async () => {
    const { stub, key } = group();
    const k = key("1");
    const now = Date.now();
    await stub.claim(k, "a", 100, now - 1000); // its lease ended a moment ago
    expect(await stub.claim(k, "b", 60_000, now)).toEqual({ kind: "claimed" });
    await stub.complete(k, "b", "settled", Date.now() + 60_000);
    expect(await stub.claim(k, "c", 100, now + 999_999)).toEqual({ kind: "held", state: "settled" });
    await stub.release(k, "b");
    expect(await stub.claim(k, "c", 100, now + 999_999)).toEqual({ kind: "held", state: "settled" });
  });

  it("keeps a completed payment until its forget time, then forgets it and only it", async () => {
    const { stub, key } = group();
    await stub.claim(key("late"), "a", 100, 1000);
    await stub.complete(key("late"), "a", "unknown", Date.now() + 60_000);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now() + 50_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // early run: nothing to forget yet
    expect(await stub.claim(key("late"), "b", 100, 2000)).toEqual({ kind: "held", state: "unknown" });

    await stub.claim(key("expired"), "a", 100, 1000);
    await stub.complete(key("expired"), "a", "settled", Date.now() - 1);
    // The earlier forget time moved the alarm forward: it may have run already, so run it if it has not.
    await runDurableObjectAlarm(stub);
    expect(await stub.claim(key("expired"), "b", 100, 2000)).toEqual({ kind: "claimed" });
    expect(await stub.claim(key("late"), "b", 100, 2000)).toEqual({ kind: "held", state: "unknown" });
  });

  it("deletes its storage once no lock and no ledger write is left", async () => {
    const { stub, key } = group();
    await stub.claim(key("1"), "a", 60_000, 1000);
    await stub.release(key("1"), "a");
    await runDurableObjectAlarm(stub);
    expect(
      await runInDurableObject(stub, (_i, state) =>
        state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'payment_locks'").toArray(),
      ),
    ).toEqual([]);
    expect(await stub.claim(key("1"), "b", 60_000, 1000)).toEqual({ kind: "claimed" });
  });
});

describe("PaymentRecord ledger outbox", () => {
  const d1Rows = async (k: string) => (await env.LEDGER.prepare("SELECT status FROM payments WHERE payment_key = ?").bind(k).all()).results;

  it("copies each recorded entry to D1 and then forgets the payment", async () => {
    const { stub, key } = group();
    const k = key("1");
    await stub.record(ledgerEntry(k));
    await stub.record({ ...ledgerEntry(k), status: "origin_failed", originStatus: 500 });
    await runDurableObjectAlarm(stub); // the alarm is due now; run it rather than wait for it (unless it runs already)

    await expect.poll(() => stub.pendingLedgerWrites()).toBe(0);
    const rows = async () =>
      (await env.LEDGER.prepare("SELECT status, origin_status FROM payments WHERE payment_key = ?").bind(k).all()).results;
    await expect.poll(rows).toEqual([{ status: "origin_failed", origin_status: 500 }]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
  });

  it("completes a lock and writes its ledger row to D1 in the same call, with no alarm run for it", async () => {
    const { stub, key } = group();
    const k = key("1");
    await stub.claim(k, "a", 60_000, Date.now());
    await stub.record(ledgerEntry(k));
    const leaseAlarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    await stub.complete(k, "a", "settled", Date.now() + 600_000, { ...ledgerEntry(k), status: "settled", transactionHash: "0xabc" });
    expect(await stub.pendingLedgerWrites()).toBe(0);
    const rows = (await env.LEDGER.prepare("SELECT status, transaction_hash FROM payments WHERE payment_key = ?").bind(k).all()).results;
    expect(rows).toEqual([{ status: "settled", transaction_hash: "0xabc" }]);
    // The alarm the lease set stays as it was: completing a payment neither moves it nor adds a run.
    expect(leaseAlarm).toBeGreaterThan(Date.now() + 50_000);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBe(leaseAlarm);
    expect(await stub.claim(k, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "settled" });
  });

  it("has an alarm set before it asks D1, so a write whose copy is cut off is found again", async () => {
    const { stub, key } = group();
    const k = key("1");
    const alarmsWhenD1Asked = await runInDurableObject(stub, async (instance, state): Promise<(number | null)[]> => {
      const seen: (number | null)[] = [];
      const real = env.LEDGER;
      // The real D1, observed: each statement run first notes the alarm the object has set at that moment.
      const observed = {
        prepare: (query: string) => {
          const statement = real.prepare(query);
          return {
            bind: (...values: unknown[]) => {
              const bound = statement.bind(...values);
              return { run: async () => (seen.push(await state.storage.getAlarm()), bound.run()) };
            },
          };
        },
      };
      Object.assign(instance, { env: { ...env, LEDGER: observed } });
      try {
        // SAFETY: the stub's object is a PaymentRecord; the test env types its namespace without the class.
        await (instance as unknown as PaymentRecord).record({ ...ledgerEntry(k), status: "origin_failed", originStatus: 502 });
      } finally {
        Object.assign(instance, { env });
      }
      return seen;
    });
    expect(alarmsWhenD1Asked).toHaveLength(1);
    expect(alarmsWhenD1Asked[0]).not.toBeNull();
    expect(await d1Rows(k)).toEqual([{ status: "origin_failed" }]);
  });

  it("writes the outcomes of concurrent payments to D1 one copy at a time, none lost", async () => {
    const { stub, key } = group();
    const keys = Array.from({ length: 20 }, (_, i) => key(`c${i}`));
    await Promise.all(keys.map((k) => stub.claim(k, "a", 60_000, Date.now())));
    await Promise.all(
      keys.map((k) =>
        stub.complete(k, "a", "settled", Date.now() + 600_000, { ...ledgerEntry(k), status: "settled", transactionHash: "0xabc" }),
      ),
    );
    expect(await stub.pendingLedgerWrites()).toBe(0);
    for (const k of keys) expect(await d1Rows(k)).toEqual([{ status: "settled" }]);
  });

  it("flushes the outbox of an object from before lock groups, and drops its keyless lock", async () => {
    const { stub, key } = group();
    const k = key("old");
    await runInDurableObject(stub, (_i, state) => {
      // Schema version 2: one lock row per object, and the same outbox tables.
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE _schema (version INTEGER NOT NULL)");
      sql.exec("INSERT INTO _schema (version) VALUES (2)");
      sql.exec(
        "CREATE TABLE payment_lock (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, state TEXT NOT NULL, lease_until_ms INTEGER NOT NULL, forget_at_ms INTEGER)",
      );
      sql.exec("INSERT INTO payment_lock VALUES (1, 'a', 'settled', 0, ?)", Date.now() + 60_000);
      sql.exec("CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)");
      sql.exec(
        "CREATE TABLE flush_state (id INTEGER PRIMARY KEY CHECK (id = 1), attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL)",
      );
      sql.exec("INSERT INTO flush_state VALUES (1, 0, 0)");
      sql.exec(
        "INSERT INTO outbox (entry) VALUES (?)",
        JSON.stringify({ table: "payments", entry: { ...ledgerEntry(k), status: "settled", transactionHash: "0xdef" } }),
      );
      // The old code had the flush alarm set.
      return state.storage.setAlarm(Date.now());
    });
    await runDurableObjectAlarm(stub); // unless it ran on its own already
    await expect.poll(() => stub.pendingLedgerWrites()).toBe(0);
    const rows = (await env.LEDGER.prepare("SELECT status FROM payments WHERE payment_key = ?").bind(k).all()).results;
    expect(rows).toEqual([{ status: "settled" }]);
    expect(await stub.claim(key("new"), "b", 60_000, 1000)).toEqual({ kind: "claimed" });
  });

  it("keeps a claimed payment's verified row with its lock: the outcome is its one D1 write", async () => {
    const { stub, key } = group();
    const k = key("1");
    await stub.claim(k, "a", 60_000, Date.now());
    await stub.record(ledgerEntry(k));
    expect(await stub.pendingLedgerWrites()).toBe(0);
    await stub.complete(k, "a", "settled", Date.now() + 60_000, { ...ledgerEntry(k), status: "settled", transactionHash: "0xabc" });
    expect(await stub.pendingLedgerWrites()).toBe(0);
    expect(await d1Rows(k)).toEqual([{ status: "settled" }]);
  });

  it("sends the verified row to D1 when the lease runs out with no outcome (the Worker died)", async () => {
    const { stub, key } = group();
    const k = key("1");
    await stub.claim(k, "a", 1, Date.now());
    await stub.record(ledgerEntry(k));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runDurableObjectAlarm(stub); // unless it ran on its own already
    await expect.poll(() => d1Rows(k)).toEqual([{ status: "verified" }]);
    expect(await stub.claim(k, "b", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });

  it("sends the verified row when the lock is let go before an outcome: released, taken over, or completed without its row", async () => {
    const { stub, key } = group();
    const now = Date.now();
    await stub.claim(key("released"), "a", 60_000, now);
    await stub.record(ledgerEntry(key("released")));
    await stub.release(key("released"), "a");
    await stub.claim(key("taken"), "a", 1, now - 1000);
    await stub.record(ledgerEntry(key("taken")));
    expect(await stub.claim(key("taken"), "b", 60_000, now)).toEqual({ kind: "claimed" });
    await stub.claim(key("before-origin"), "a", 60_000, now);
    await stub.record(ledgerEntry(key("before-origin")));
    await stub.complete(key("before-origin"), "a", "settled", now + 60_000);
    await runDurableObjectAlarm(stub);
    for (const name of ["released", "taken", "before-origin"]) await expect.poll(() => d1Rows(key(name))).toEqual([{ status: "verified" }]);
    // The outcome that follows replaces it, as before.
    await stub.record({ ...ledgerEntry(key("released")), status: "origin_failed", originStatus: 502 });
    await runDurableObjectAlarm(stub);
    await expect.poll(() => d1Rows(key("released"))).toEqual([{ status: "origin_failed" }]);
  });

  it("stores the verified row given with the claim: the lease's end sends it, a release before verify accepted drops it", async () => {
    const { stub, key } = group();
    const now = Date.now();
    await stub.claim(key("died"), "a", 1, now, ledgerEntry(key("died")));
    await stub.claim(key("refused"), "a", 60_000, now, ledgerEntry(key("refused")));
    await stub.release(key("refused"), "a", false);
    await stub.claim(key("origin-failed"), "a", 60_000, now, ledgerEntry(key("origin-failed")));
    await stub.release(key("origin-failed"), "a");
    await stub.claim(key("settled"), "a", 60_000, now, ledgerEntry(key("settled")));
    await stub.complete(key("settled"), "a", "settled", now + 60_000, {
      ...ledgerEntry(key("settled")),
      status: "settled",
      transactionHash: "0xabc",
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runDurableObjectAlarm(stub);
    await expect.poll(() => d1Rows(key("died"))).toEqual([{ status: "verified" }]);
    await expect.poll(() => d1Rows(key("origin-failed"))).toEqual([{ status: "verified" }]);
    await expect.poll(() => d1Rows(key("settled"))).toEqual([{ status: "settled" }]);
    expect(await d1Rows(key("refused"))).toEqual([]);
    // Released: the same authorization may be claimed again.
    expect(await stub.claim(key("refused"), "b", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });

  it("gives a version 3 object's locks the pending row column, keeping its locks", async () => {
    const { stub, key } = group();
    const k = key("v3");
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE _schema (version INTEGER NOT NULL)");
      sql.exec("INSERT INTO _schema (version) VALUES (3)");
      sql.exec(
        "CREATE TABLE payment_locks (payment_key TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL, lease_until_ms INTEGER NOT NULL, forget_at_ms INTEGER)",
      );
      sql.exec("INSERT INTO payment_locks VALUES (?, 'a', 'in_flight', ?, NULL)", k, Date.now() + 60_000);
    });
    expect(await stub.claim(k, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "in_flight" });
    await stub.record(ledgerEntry(k));
    expect(await stub.pendingLedgerWrites()).toBe(0);
    await stub.release(k, "a");
    // Its verified row went to the outbox with the release; the alarm (now, or already run) takes it to D1.
    await runDurableObjectAlarm(stub);
    await expect.poll(() => d1Rows(k)).toEqual([{ status: "verified" }]);
  });

  it("gives a version 6 object's locks the reconciler's search columns, keeping its locks and their watch", async () => {
    const { stub, key } = group();
    const k = key("v6");
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE _schema (version INTEGER NOT NULL)");
      sql.exec("INSERT INTO _schema (version) VALUES (6)");
      sql.exec(
        "CREATE TABLE payment_locks (payment_key TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL, lease_until_ms INTEGER NOT NULL, forget_at_ms INTEGER, pending_entry TEXT, exclusive INTEGER NOT NULL DEFAULT 0, watch TEXT, watch_entry TEXT, look_at_ms INTEGER, from_block TEXT, looks INTEGER NOT NULL DEFAULT 0, held_at_ms INTEGER)",
      );
      sql.exec(
        "INSERT INTO payment_locks (payment_key, owner, state, lease_until_ms, forget_at_ms, watch, looks) VALUES (?, 'a', 'unknown', 0, ?, '{}', 3)",
        k,
        Date.now() + 60_000,
      );
    });
    expect(await stub.claim(k, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "unknown" });
    const row = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec("SELECT watch, looks, spent_block, misses FROM payment_locks WHERE payment_key = ?", k).one(),
    );
    expect(row).toEqual({ watch: "{}", looks: 3, spent_block: null, misses: 0 });
  });

  // Security review F18: an authorization valid for centuries must not push the alarm past a date.
  it("a lock whose authorization never expires is still forgotten within 30 days", async () => {
    const lockGroup = `eip155:1:0xpayer${newTestId()}`;
    const now = Date.now();
    const claimed = await claimPayment({
      locks: env.PAYMENT_RECORDS,
      paymentKey: `${lockGroup}:1`,
      lockGroup,
      leaseMs: 60_000,
      expiresAtSeconds: 2 ** 60,
      nowMs: now,
    });
    if (claimed.kind !== "claimed") throw new Error("not claimed");
    await claimed.claim.complete("settled");
    const stub = env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(lockGroup));
    const forgetAt = await runInDurableObject(
      stub,
      (_object, state) => state.storage.sql.exec<{ at: number }>("SELECT forget_at_ms AS at FROM payment_locks").one().at,
    );
    expect(forgetAt).toBeLessThanOrEqual(now + 31 * 24 * 60 * 60 * 1000);
    expect(forgetAt).toBeGreaterThan(now + 29 * 24 * 60 * 60 * 1000);
  });

  it("a payment this isolate saw settled is refused again without asking its object; unknown and released ones still ask", async () => {
    let asked = 0;
    // The real namespace, observed: how often an object is asked at all.
    const locks = new Proxy(env.PAYMENT_RECORDS, {
      get: (target, property) =>
        property === "get"
          ? (id: DurableObjectId) => (asked++, target.get(id))
          : (Reflect.get(target, property, target) as () => unknown).bind(target),
    });
    const lockGroup = `eip155:1:0xpayer${newTestId()}`;
    const claim = (nonce: string) =>
      claimPayment({
        locks,
        paymentKey: `${lockGroup}:${nonce}`,
        lockGroup,
        leaseMs: 60_000,
        expiresAtSeconds: Math.floor(Date.now() / 1000) + 600,
        nowMs: Date.now(),
      });
    const settle = async (nonce: string, state: "settled" | "unknown") => {
      const claimed = await claim(nonce);
      if (claimed.kind !== "claimed") throw new Error("not claimed");
      await claimed.claim.complete(state);
    };
    await settle("a", "settled");
    await settle("b", "unknown");
    asked = 0;
    expect(await claim("a")).toEqual({ kind: "held", state: "settled" });
    expect(await claim("a")).toEqual({ kind: "held", state: "settled" });
    expect(asked).toBe(0);
    // "unknown" may yet turn out unpaid and be released: the object decides.
    expect(await claim("b")).toEqual({ kind: "held", state: "unknown" });
    expect(asked).toBe(1);
  });

  // Security review F1, the part left to a request that dies: a stream's lock whose lease ran out may have delivered
  // content, so it is never given back; its payer's one stream slot is.
  it("a stream's lock whose request died stays spent (unknown), and frees its payer's stream slot", async () => {
    const lockGroup = `eip155:1:0xpayer${newTestId()}`;
    const stub = env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(lockGroup));
    const now = Date.now();
    expect(await stub.claim(`${lockGroup}:stream`, "a", 1, now, undefined, true, now + 600_000)).toEqual({ kind: "claimed" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Before the alarm: a new claim of the same payment is refused, not a take-over.
    expect(await stub.claim(`${lockGroup}:stream`, "b", 60_000, Date.now(), undefined, true)).toEqual({ kind: "held", state: "unknown" });
    await runDurableObjectAlarm(stub);
    expect(await stub.claim(`${lockGroup}:stream`, "c", 60_000, Date.now(), undefined, true)).toEqual({ kind: "held", state: "unknown" });
    // The payer's next stream, another payment, may start.
    expect(await stub.claim(`${lockGroup}:next`, "d", 60_000, Date.now(), undefined, true)).toEqual({ kind: "claimed" });
    // A claim that is not a stream's is still taken over once its lease ran out (its request died before any content).
    expect(await stub.claim(`${lockGroup}:plain`, "e", 1, Date.now())).toEqual({ kind: "claimed" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await stub.claim(`${lockGroup}:plain`, "f", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });
});
