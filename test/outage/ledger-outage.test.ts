// D1 is down (this project's database has no ledger table): payments still work, no ledger row is lost.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { splitSqlStatements } from "../../stack/sql-statements.js";
import { buildHarness, PAYER, payFor } from "../fixtures/builders.js";

describe("ledger during a D1 outage", () => {
  it("keeps the rows in the payment's outbox and writes them once D1 is back", async () => {
    const harness = await buildHarness();
    const { response, payload } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(200);

    const nonce = (payload.payload.authorization as { nonce: string }).nonce;
    const key = `${payload.accepted.network}:${PAYER.address.toLowerCase()}:${nonce}`;
    // The payer's lock group holds the payment's outbox.
    const record = env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(`${payload.accepted.network}:${PAYER.address.toLowerCase()}`));
    await runDurableObjectAlarm(record); // a flush attempt during the outage: fails, keeps the row
    // One write: the payment's `verified` row waited with its lock, and its outcome replaced it.
    expect(await record.pendingLedgerWrites()).toBe(1);
    await expect(env.LEDGER.prepare("SELECT COUNT(*) FROM payments").all()).rejects.toThrow(/no such table/);

    // D1 is back.
    await env.LEDGER.batch(splitSqlStatements(env.SCHEMA_SQL).map((s) => env.LEDGER.prepare(s)));
    await runDurableObjectAlarm(record);

    expect(await record.pendingLedgerWrites()).toBe(0);
    const rows = (await env.LEDGER.prepare("SELECT status, transaction_hash FROM payments WHERE payment_key = ?").bind(key).all()).results;
    expect(rows).toEqual([{ status: "settled", transaction_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) }]);
  });
});
