// The PaymentRecord's reconciler (issue #34) against a scripted chain (test/fixtures/fake-evm-chain.ts): a payment
// whose settle outcome is unknown, or whose request died holding its lock, is resolved from the chain by the object's
// alarm, its lock kept or released and its ledger row rewritten with how.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { LedgerEntry } from "../../src/ledger/ledger.js";
import type { ChainWatch } from "../../src/payment-record/chain-watch.js";
import { FAKE_EVM_NETWORK, type NonceFate } from "../fixtures/fake-evm-chain.js";

const ASSET = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

const randomHex = (bytes: number) =>
  `0x${[...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
const chain = (path: string) => `${env.TEST_ORIGIN_URL as string}/evm-chain${path}`;
const setFate = (nonce: string, fate: NonceFate) =>
  fetch(chain("/__fate"), { method: "POST", body: JSON.stringify({ nonce, fate }) }).then((r) => r.text());
const chainReads = async (nonce: string) => ((await (await fetch(chain(`/__reads?nonce=${nonce}`))).json()) as { reads: number }).reads;

/** One payment of a fresh payer: its lock's object, key, watch and ledger row. */
function payment(validForSeconds: number) {
  const payer = randomHex(20);
  const nonce = randomHex(32);
  const paymentKey = `${FAKE_EVM_NETWORK}:${payer}:${nonce}`;
  const watch: ChainWatch = {
    network: FAKE_EVM_NETWORK,
    asset: ASSET,
    payTo: PAY_TO,
    amount: "1000",
    payer,
    nonce,
    validBeforeSeconds: Math.floor(Date.now() / 1000) + validForSeconds,
  };
  const entry: LedgerEntry = {
    paymentKey,
    ruleId: "r",
    method: "GET",
    resource: "https://g/x",
    scheme: "exact",
    network: FAKE_EVM_NETWORK,
    asset: ASSET,
    amount: "1000",
    payTo: PAY_TO,
    payer,
    facilitator: "http://f",
    facilitatorId: "f",
    status: "verified",
    at: new Date().toISOString(),
  };
  const stub = env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(`${FAKE_EVM_NETWORK}:${payer}`));
  const transfer = { asset: ASSET, from: payer, to: PAY_TO, value: "1000" };
  return { payer, nonce, paymentKey, watch, entry, stub, transfer };
}

type Row = { status: string; resolution: string | null; transaction_hash: string | null; error_reason: string | null };
const ledgerRow = (paymentKey: string) =>
  env.LEDGER.prepare("SELECT status, resolution, transaction_hash, error_reason FROM payments WHERE payment_key = ?")
    .bind(paymentKey)
    .first<Row>();

/** Runs the object's alarm until its ledger row has a resolution (the alarm also fires by itself when due). */
async function resolved(p: ReturnType<typeof payment>, timeoutMs = 15_000): Promise<Row> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await runDurableObjectAlarm(p.stub);
    const row = await ledgerRow(p.paymentKey);
    if (row?.resolution) return row;
    if (Date.now() > until) throw new Error(`not resolved: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 400));
  }
}

/** Claimed, settle asked, outcome unknown: the lock completed "unknown" with its `settle_unknown` row. */
async function leftUnknown(p: ReturnType<typeof payment>): Promise<void> {
  expect(await p.stub.claim(p.paymentKey, "a", 60_000, Date.now(), p.entry, false, undefined, p.watch)).toEqual({ kind: "claimed" });
  await p.stub.complete(p.paymentKey, "a", "unknown", p.watch.validBeforeSeconds * 1000 + 600_000, {
    ...p.entry,
    status: "settle_unknown",
    errorReason: "facilitator_timeout",
  });
}

describe.concurrent("reconciler: a settle whose outcome was unknown", { timeout: 30_000 }, () => {
  it("landed on chain: the lock stays spent, the payer is owed a refund for the answer withheld, with the transaction", async () => {
    const p = payment(60);
    const transaction = randomHex(32);
    await setFate(p.nonce, { kind: "used", transaction, transfer: p.transfer });
    await leftUnknown(p);
    expect(await ledgerRow(p.paymentKey)).toMatchObject({ status: "settle_unknown" });
    expect(await resolved(p)).toEqual({
      status: "owed_refund",
      resolution: "chain_transfer",
      transaction_hash: transaction,
      error_reason: "facilitator_timeout",
    });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "settled" });
    // A completion retried after this (its first attempt's reply lost) says no more: the lock stays settled.
    await p.stub.complete(p.paymentKey, "a", "unknown", p.watch.validBeforeSeconds * 1000 + 600_000, {
      ...p.entry,
      status: "settle_unknown",
    });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "settled" });
  });

  it("landed, with the withheld answer kept for a payment-identifier retry: settled, and the retry is served it", async () => {
    const p = payment(60);
    const transaction = randomHex(32);
    await setFate(p.nonce, { kind: "used", transaction, transfer: p.transfer });
    const ref = { id: `pay_${randomHex(12).slice(2)}`, fingerprint: "fp" };
    const record = env.PAYMENT_IDENTIFIERS.get(env.PAYMENT_IDENTIFIERS.idFromName(ref.id));
    await record.begin(ref.fingerprint, 1000, Date.now() - 5000);
    await record.keepAwaiting(
      ref.fingerprint,
      { status: 200, statusText: "OK", headers: [], body: new TextEncoder().encode("the answer").buffer as ArrayBuffer },
      60_000,
      Date.now() + 60_000,
    );
    p.watch.identifier = ref;
    await leftUnknown(p);
    expect(await record.begin(ref.fingerprint, 60_000, Date.now())).toEqual({ kind: "in_flight" });
    expect(await resolved(p)).toMatchObject({ status: "settled", resolution: "chain_transfer", transaction_hash: transaction });
    const served = await record.begin(ref.fingerprint, 60_000, Date.now());
    expect(served).toMatchObject({ kind: "stored", response: { status: 200 } });
    const header = (served as { response: { headers: string[][] } }).response.headers.find(([name]) => name === "payment-response")![1]!;
    expect(JSON.parse(atob(header))).toEqual({ success: true, transaction, network: FAKE_EVM_NETWORK, payer: p.payer });
  });

  it("unused through its validBefore: nothing can move, the lock is released and the row says why", async () => {
    const p = payment(1);
    await leftUnknown(p);
    expect(await resolved(p)).toMatchObject({ status: "settle_failed", resolution: "chain_expired_unused", transaction_hash: null });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });

  it("cancelled by the payer: not settled, released", async () => {
    const p = payment(60);
    await setFate(p.nonce, { kind: "canceled", authorizer: p.payer });
    await leftUnknown(p);
    expect(await resolved(p)).toMatchObject({ status: "settle_failed", resolution: "chain_canceled" });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });

  it("spent by a transaction that paid someone else: not settled for this payee", async () => {
    const p = payment(60);
    await setFate(p.nonce, { kind: "used", transaction: randomHex(32), transfer: { ...p.transfer, to: randomHex(20) } });
    await leftUnknown(p);
    expect(await resolved(p)).toMatchObject({ status: "settle_failed", resolution: "chain_used_elsewhere" });
  });

  it("unused and still valid: held unknown, looked at again until it expires", async () => {
    const p = payment(8);
    await leftUnknown(p);
    const started = Date.now();
    const row = await resolved(p, 20_000);
    // Not before the authorization ended: until then the first settle could still land.
    expect(Date.now()).toBeGreaterThanOrEqual(p.watch.validBeforeSeconds * 1000);
    expect(row).toMatchObject({ status: "settle_failed", resolution: "chain_expired_unused" });
    expect(await chainReads(p.nonce)).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it.each(["log", "receipt"] as const)("spent, but the node's %s lags: no verdict, held until it is found", async (lag) => {
    const p = payment(60);
    const transaction = randomHex(32);
    await setFate(p.nonce, { kind: "used", transaction, transfer: p.transfer, lag });
    await leftUnknown(p);
    const until = Date.now() + 12_000;
    while ((await chainReads(p.nonce)) < 2 && Date.now() < until) {
      await runDurableObjectAlarm(p.stub);
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(await chainReads(p.nonce)).toBeGreaterThanOrEqual(2);
    expect(await ledgerRow(p.paymentKey)).toMatchObject({ status: "settle_unknown", resolution: null });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "unknown" });
  });

  it("an RPC that fails leaves it unknown and held, and is asked again", async () => {
    const p = payment(60);
    await setFate(p.nonce, { kind: "down" });
    await leftUnknown(p);
    const until = Date.now() + 12_000;
    while ((await chainReads(p.nonce)) === 0 && Date.now() < until) {
      await runDurableObjectAlarm(p.stub);
      await new Promise((r) => setTimeout(r, 400));
    }
    expect(await chainReads(p.nonce)).toBeGreaterThanOrEqual(1);
    expect(await ledgerRow(p.paymentKey)).toMatchObject({ status: "settle_unknown", resolution: null });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "unknown" });
    // The chain comes back with the transfer: resolved on a later look.
    const transaction = randomHex(32);
    await setFate(p.nonce, { kind: "used", transaction, transfer: p.transfer });
    expect(await resolved(p, 45_000)).toMatchObject({ status: "owed_refund", resolution: "chain_transfer", transaction_hash: transaction });
  }, 60_000);
});

describe.concurrent("reconciler: a request that died holding its lock", { timeout: 30_000 }, () => {
  it("its settle had landed: the lock is not let go, the row becomes settled with the transaction", async () => {
    const p = payment(60);
    const transaction = randomHex(32);
    await setFate(p.nonce, { kind: "used", transaction, transfer: p.transfer });
    await p.stub.claim(p.paymentKey, "a", 1, Date.now() - 10, p.entry, false, undefined, p.watch);
    expect(await resolved(p)).toEqual({
      status: "settled",
      resolution: "chain_transfer",
      transaction_hash: transaction,
      error_reason: null,
    });
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "settled" });
  });

  it("unused and still valid: held unknown, never taken over, until the chain says nothing moved", async () => {
    const p = payment(3);
    await p.stub.claim(p.paymentKey, "a", 1, Date.now() - 10, p.entry, false, undefined, p.watch);
    await runDurableObjectAlarm(p.stub);
    // Before: the lease's end let it go, and a second request could take the payment while the first settle landed.
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "unknown" });
    await vi.waitFor(async () => expect(await ledgerRow(p.paymentKey)).toMatchObject({ status: "verified" }));
    expect(await resolved(p)).toMatchObject({ status: "settle_failed", resolution: "chain_expired_unused" });
    expect(await p.stub.claim(p.paymentKey, "c", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });

  it("a new request finding the dead claim first does not take it over: it is held for the chain at once", async () => {
    const p = payment(60);
    const transaction = randomHex(32);
    await setFate(p.nonce, { kind: "used", transaction, transfer: p.transfer });
    await p.stub.claim(p.paymentKey, "a", 1, Date.now() - 10, p.entry, false, undefined, p.watch);
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "unknown" });
    expect(await resolved(p)).toMatchObject({ status: "settled", transaction_hash: transaction });
  });

  it("a slow request's completion after its claim was held wins, and leaves no look behind", async () => {
    const p = payment(60);
    await p.stub.claim(p.paymentKey, "a", 1, Date.now() - 10, p.entry, false, undefined, p.watch);
    await runDurableObjectAlarm(p.stub);
    await p.stub.complete(p.paymentKey, "a", "settled", Date.now() + 600_000, { ...p.entry, status: "settled", transactionHash: "0xabc" });
    const lock = await runInDurableObject(p.stub, (_instance, state) =>
      state.storage.sql.exec<{ state: string; look_at_ms: number | null }>("SELECT state, look_at_ms FROM payment_locks").toArray(),
    );
    expect(lock).toEqual([{ state: "settled", look_at_ms: null }]);
    // No look left due now (which would run the alarm again and again): the next is the outbox's minute-ahead cover.
    expect(await runInDurableObject(p.stub, (_instance, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now() + 30_000);
    await vi.waitFor(async () => expect(await ledgerRow(p.paymentKey)).toMatchObject({ status: "settled", resolution: null }));
  });

  it("a dead request's payment still unspent after its watch (10 min, valid longer) is let go, its row left verified", async () => {
    const p = payment(3600);
    await p.stub.claim(p.paymentKey, "a", 1, Date.now() - 10, p.entry, false, undefined, p.watch);
    // The lease ended before the claim: its alarm is due at once (it may run by itself before this one).
    await runDurableObjectAlarm(p.stub);
    await vi.waitFor(async () => expect(await chainReads(p.nonce)).toBe(1));
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "held", state: "unknown" });
    // Ten minutes on: the second look is due.
    await runInDurableObject(p.stub, (_instance, state) =>
      state.storage.sql.exec("UPDATE payment_locks SET held_at_ms = ?, look_at_ms = 0", Date.now() - 601_000),
    );
    await runDurableObjectAlarm(p.stub);
    await vi.waitFor(async () => expect(await chainReads(p.nonce)).toBe(2));
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "claimed" });
    expect(await ledgerRow(p.paymentKey)).toMatchObject({ status: "verified", resolution: null });
  });

  it("without an RPC for its network, a dead claim is let go at its lease's end as before", async () => {
    const p = payment(60);
    const watch = { ...p.watch, network: "eip155:84532" };
    await p.stub.claim(p.paymentKey, "a", 1, Date.now() - 10, p.entry, false, undefined, watch);
    await runDurableObjectAlarm(p.stub);
    expect(await p.stub.claim(p.paymentKey, "b", 60_000, Date.now())).toEqual({ kind: "claimed" });
  });
});
