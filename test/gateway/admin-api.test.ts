import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { KEPT_VERSIONS } from "../../src/admin/rules-versions.js";
import { recordOutcome, type LedgerEntry } from "../../src/ledger/ledger.js";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buildHarness, buildRule, newTestId, PAY_TO, PAYER, payFor, type GatewayHarness } from "../fixtures/builders.js";
import { buildSessionRule, freshWallet, signIn } from "../fixtures/sessions.js";

const ADMIN = "/.well-known/x402/admin";
const TOKEN = "admin-test-token-0123456789abcdef0123456789";
const auth = { Authorization: `Bearer ${TOKEN}` };

async function adminHarness(options: Parameters<typeof buildHarness>[0] = {}): Promise<GatewayHarness> {
  return buildHarness({ ...options, vars: { ADMIN_TOKEN: TOKEN, ...options.vars } });
}

async function call(harness: GatewayHarness, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await harness.fetch(`${ADMIN}${path}`, {
    method,
    headers: { ...auth, ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: JSON.parse(text) as Record<string, unknown> & Record<string, any>,
  };
}

const documentWith = (price: string) => JSON.stringify({ rules: [buildRule({ price })] });

describe("admin API: rules", () => {
  it("replace validates first, keeps the previous version, and the gateway prices with the new one", async () => {
    const harness = await adminHarness();
    const original = await call(harness, "GET", "/rules");
    expect(original.status).toBe(200);
    expect(original.headers.get("ETag")).toMatch(/^"[0-9a-f]{24}"$/);

    const refused = await call(harness, "PUT", "/rules", JSON.stringify({ rules: [buildRule({ price: "ten dollars" })] }));
    expect(refused.status).toBe(422);
    expect(refused.json).toEqual({ ok: false, problems: [expect.stringContaining("price")] });
    expect((await call(harness, "GET", "/rules")).text).toBe(original.text);

    const replaced = await call(harness, "PUT", "/rules", documentWith("$0.25"));
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ ok: true, rules: 1, previousKept: true });
    const challenge = await harness.fetch("/weather/paris");
    expect(challenge.status).toBe(402);
    expect(((await challenge.json()) as { accepts: { maxAmountRequired: string }[] }).accepts[0]!.maxAmountRequired).toBe("250000");

    const history = await call(harness, "GET", "/rules/history");
    expect(history.json.versions).toEqual([{ key: expect.stringMatching(/@history@\d{15}$/), replacedAt: expect.any(String) }]);
    expect(await env.PRICE_RULES.get(history.json.versions[0].key)).toBe(original.text);

    const rolledBack = await call(harness, "POST", "/rules/rollback");
    expect(rolledBack.status).toBe(200);
    expect((await call(harness, "GET", "/rules")).text).toBe(original.text);
    expect((await call(harness, "GET", "/rules/history")).json.versions).toEqual([]);
    expect((await call(harness, "POST", "/rules/rollback")).status).toBe(409);
  });

  it("rollback walks back one version at a time; at most KEPT_VERSIONS are kept", async () => {
    const harness = await adminHarness();
    for (let cents = 1; cents <= KEPT_VERSIONS + 3; cents++)
      expect((await call(harness, "PUT", "/rules", documentWith(`$0.${String(cents).padStart(2, "0")}`))).status).toBe(200);
    expect((await call(harness, "GET", "/rules/history")).json.versions).toHaveLength(KEPT_VERSIONS);
    await call(harness, "POST", "/rules/rollback");
    expect(JSON.parse((await call(harness, "GET", "/rules")).text).rules[0].price).toBe(`$0.${KEPT_VERSIONS + 2}`);
    await call(harness, "POST", "/rules/rollback");
    expect(JSON.parse((await call(harness, "GET", "/rules")).text).rules[0].price).toBe(`$0.${KEPT_VERSIONS + 1}`);
  });

  it("If-Match refuses a replace when the document changed since it was read", async () => {
    const harness = await adminHarness();
    const etag = (await call(harness, "GET", "/rules")).headers.get("ETag")!;
    expect((await call(harness, "PUT", "/rules", documentWith("$0.02"), { "If-Match": etag })).status).toBe(200);
    const stale = await call(harness, "PUT", "/rules", documentWith("$0.03"), { "If-Match": etag });
    expect(stale.status).toBe(412);
    expect(JSON.parse((await call(harness, "GET", "/rules")).text).rules[0].price).toBe("$0.02");
  });

  it("validate checks without storing; a body that is not JSON is listed as such", async () => {
    const harness = await adminHarness();
    expect((await call(harness, "POST", "/rules/validate", documentWith("$1"))).json).toEqual({
      ok: true,
      rules: 1,
      discoverable: 1,
      facilitators: 0,
    });
    expect((await call(harness, "POST", "/rules/validate", "{ nope")).json).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^not JSON/)],
    });
    expect((await call(harness, "GET", "/rules/history")).json.versions).toEqual([]);
  });

  it("GET /rules without a document: 404 no_rules", async () => {
    const harness = await adminHarness({ rules: null });
    expect((await call(harness, "GET", "/rules")).json.error).toBe("no_rules");
  });
});

describe("admin API: ledger, revenue, refunds, sessions", () => {
  it("lists ledger entries by rule, payer and status, and sums revenue per group and asset", async () => {
    const rule = `rule-${newTestId()}`;
    const harness = await adminHarness({ rules: [buildRule({ id: rule, path: "/weather/:city" })] });
    for (const city of ["paris", "rome"]) expect((await payFor(harness, `/weather/${city}`)).response.status).toBe(200);
    // Rows reach D1 through each payment's outbox, just after its answer.
    for (let i = 0; i < 50 && (await harness.ledgerRows()).filter((row) => row.status === "settled").length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    const entries = (await call(harness, "GET", `/ledger?rule=${rule}&status=settled&payer=${PAYER.address.toLowerCase()}`)).json
      .entries as Record<string, unknown>[];
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ rule_id: rule, status: "settled", amount: "10000", pay_to: PAY_TO });
    expect((await call(harness, "GET", `/ledger?rule=${rule}&status=owed_refund`)).json.entries).toEqual([]);
    expect((await call(harness, "GET", `/ledger?rule=${rule}&limit=1`)).json.entries).toHaveLength(1);

    const byRule = (await call(harness, "GET", "/revenue?by=rule")).json.revenue as Record<string, unknown>[];
    expect(byRule.filter((row) => row.group === rule)).toEqual([
      { group: rule, network: "eip155:84532", asset: expect.any(String), payments: 2, amount: "20000" },
    ]);
    const byDay = (await call(harness, "GET", `/revenue?by=day&since=${new Date().toISOString().slice(0, 10)}`)).json;
    expect(byDay.revenue[0].group).toBe(new Date().toISOString().slice(0, 10));
  });

  it("lists the rows the reconciler resolved from the chain, and how", async () => {
    const rule = `rule-${newTestId()}`;
    const row = (status: LedgerEntry["status"], extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
      paymentKey: `eip155:84532:${PAYER.address}:${newTestId()}`,
      ruleId: rule,
      method: "GET",
      resource: "https://g/x",
      scheme: "exact",
      network: "eip155:84532",
      asset: "0xa",
      amount: "10000",
      payTo: PAY_TO,
      payer: PAYER.address,
      facilitator: "http://f",
      facilitatorId: "f",
      status,
      at: new Date().toISOString(),
      ...extra,
    });
    const at = new Date().toISOString();
    await recordOutcome(env.LEDGER, row("settle_unknown"));
    await recordOutcome(env.LEDGER, row("settle_failed", { resolution: "chain_expired_unused", resolvedAt: at }));
    await recordOutcome(
      env.LEDGER,
      row("owed_refund", { resolution: "chain_transfer", resolvedAt: at, transactionHash: `0x${"ab".repeat(32)}` }),
    );
    const harness = await adminHarness();
    const list = async (query: string) =>
      ((await call(harness, "GET", `/ledger?rule=${rule}&${query}`)).json.entries as Record<string, unknown>[]).map((e) => [
        e.status,
        e.resolution,
      ]);
    expect((await list("resolution=any")).sort()).toEqual([
      ["owed_refund", "chain_transfer"],
      ["settle_failed", "chain_expired_unused"],
    ]);
    expect(await list("resolution=chain_transfer")).toEqual([["owed_refund", "chain_transfer"]]);
    expect(await list("status=settle_unknown")).toEqual([["settle_unknown", null]]);
    expect((await call(harness, "GET", "/ledger?resolution=guessed")).status).toBe(400);
  });

  it("refuses malformed filters with 400 and the reason", async () => {
    const harness = await adminHarness();
    expect((await call(harness, "GET", "/ledger?status=paid")).status).toBe(400);
    expect((await call(harness, "GET", "/ledger?since=yesterday")).json.message).toMatch(/ISO-8601/);
    expect((await call(harness, "GET", "/ledger?limit=100000")).status).toBe(400);
    expect((await call(harness, "GET", "/ledger?orderBy=payer")).status).toBe(400);
    expect((await call(harness, "GET", "/revenue?by=payer")).status).toBe(400);
  });

  it("lists owed refunds and marks one refunded: the same mark again is fine, another transaction is refused", async () => {
    const harness = await adminHarness();
    const key = `refund-${newTestId()}`;
    const now = new Date().toISOString();
    await env.LEDGER.prepare(
      `INSERT INTO payments (payment_key, rule_id, method, resource, scheme, network, asset, amount, pay_to, payer, facilitator, status, transaction_hash, created_at, updated_at)
       VALUES (?, 'weather', 'GET', 'https://gateway.example/weather/x', 'exact', 'eip155:84532', '0xasset', '5000', ?, ?, 'https://f.example', 'owed_refund', '0xsettled', ?, ?)`,
    )
      .bind(key, PAY_TO, PAYER.address, now, now)
      .run();
    expect(((await call(harness, "GET", "/refunds")).json.owed as { payment_key: string }[]).map((row) => row.payment_key)).toContain(key);
    const tx = `0x${"ab".repeat(32)}`;
    expect((await call(harness, "POST", `/refunds/${encodeURIComponent(key)}/mark`, { transaction: tx })).status).toBe(200);
    expect((await call(harness, "POST", `/refunds/${encodeURIComponent(key)}/mark`, { transaction: tx })).status).toBe(200);
    expect((await call(harness, "POST", `/refunds/${encodeURIComponent(key)}/mark`, { transaction: `0x${"cd".repeat(32)}` })).status).toBe(
      409,
    );
    expect(((await call(harness, "GET", "/refunds")).json.owed as { payment_key: string }[]).map((row) => row.payment_key)).not.toContain(
      key,
    );
    const row = await env.LEDGER.prepare("SELECT refund_transaction, refunded_at, status FROM payments WHERE payment_key = ?")
      .bind(key)
      .first();
    expect(row).toEqual({ refund_transaction: tx, refunded_at: expect.any(String), status: "owed_refund" });
    expect((await call(harness, "POST", "/refunds/nobody/mark", { transaction: tx })).status).toBe(404);
    expect((await call(harness, "POST", `/refunds/${encodeURIComponent(key)}/mark`, { transaction: "not-a-hash" })).status).toBe(400);
  });

  it("revokes a wallet's sessions: its session token stops working at once", async () => {
    const path = "/weather/paris";
    const harness = await adminHarness({ rules: [buildRule({ session: { ttlSeconds: 600, maxRequests: 10 } })] });
    const paid = await payFor(harness, path);
    const token = paid.response.headers.get("X402-SESSION")!;
    expect(token).toBeTruthy();
    expect((await harness.fetch(path, { headers: { "X402-SESSION": token } })).status).toBe(200);
    const revoked = await call(harness, "POST", "/sessions/revoke", { wallet: `eip155:84532:${PAYER.address}` });
    expect(revoked.json).toEqual({ wallet: `eip155:84532:${PAYER.address}`, revoked: 1 });
    expect((await harness.fetch(path, { headers: { "X402-SESSION": token } })).status).toBe(402);
    expect((await call(harness, "POST", "/sessions/revoke", { wallet: "0xabc" })).status).toBe(400);
  });

  it("grants a wallet a session it did not pay for: it signs in and is served, the same reference grants once", async () => {
    const rule = buildSessionRule({ ttlSeconds: 600, maxRequests: 5 });
    const harness = await adminHarness({ rules: [rule] });
    const wallet = freshWallet();
    const path = "/weather/paris";
    expect((await harness.fetch(path, { headers: { "SIGN-IN-WITH-X": await signIn(harness, path, wallet) } })).status).toBe(402);

    const body = {
      wallet: `eip155:84532:${wallet.address}`,
      scope: `rule:${rule.id}`,
      requests: 2,
      ttlSeconds: 300,
      reference: `trial-${newTestId()}`,
    };
    const granted = await call(harness, "POST", "/sessions/grant", body);
    expect(granted.status).toBe(200);
    expect(granted.json).toMatchObject({ wallet: body.wallet, scope: body.scope, reference: body.reference, remaining: 2 });
    expect(Date.parse(granted.json.expiresAt) - Date.now()).toBeGreaterThan(290_000);
    // A retried grant (same reference) adds nothing.
    expect((await call(harness, "POST", "/sessions/grant", body)).json.remaining).toBe(2);

    const served = await harness.fetch(path, { headers: { "SIGN-IN-WITH-X": await signIn(harness, path, wallet) } });
    expect(served.status).toBe(200);
    const token = served.headers.get("X402-SESSION")!;
    expect((await harness.fetch(path, { headers: { "X402-SESSION": token } })).status).toBe(200);
    // Two requests granted, two spent.
    expect((await harness.fetch(path, { headers: { "X402-SESSION": token } })).status).toBe(402);
    // Another reference adds to the running session.
    expect((await call(harness, "POST", "/sessions/grant", { ...body, reference: `${body.reference}-more` })).json.remaining).toBe(2);
    expect((await harness.fetch(path, { headers: { "X402-SESSION": token } })).status).toBe(200);
  });

  it("refuses a grant with a malformed wallet, scope, count, lifetime or reference (400), granting nothing", async () => {
    const harness = await adminHarness();
    const good = { wallet: `eip155:84532:${freshWallet().address}`, scope: "rule:weather", requests: 1, ttlSeconds: 60, reference: "r1" };
    for (const change of [
      { wallet: "0xabc" },
      { scope: "weather" },
      { requests: 0 },
      { requests: 1.5 },
      { ttlSeconds: -1 },
      { reference: "has space" },
      { reference: undefined },
      { extra: 1 },
    ]) {
      const refused = await call(harness, "POST", "/sessions/grant", { ...good, ...change });
      expect(refused.status, JSON.stringify(change)).toBe(400);
    }
    expect((await call(harness, "POST", "/sessions/grant", "not json")).status).toBe(400);
  });
});

describe("admin API: usage", () => {
  it("GET /usage counts the isolate's Durable Object calls and RPC methods: a paid call claims its lock, a forged one asks the chain", async () => {
    const harness = await adminHarness({
      vars: { RPC_URLS: JSON.stringify({ "eip155:84532": `${env.TEST_ORIGIN_URL}/t/${newTestId()}/rpc/eoa` }) },
    });
    const usage = async () => (await call(harness, "GET", "/usage")).json.isolate as { durableObjectCalls: number; rpcCalls: number };
    const start = await usage();
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    const paid = await usage();
    // The claim, at least; the lock's completion may still be on its way.
    expect(paid.durableObjectCalls).toBeGreaterThan(start.durableObjectCalls);
    // Signed in the payer's name by another key: an EOA (eth_getCode "0x"), so refused before any facilitator call.
    const { response } = await payFor(harness, "/weather/lyon", { signer: privateKeyToAccount(generatePrivateKey()), from: PAYER.address });
    expect(response.status).toBe(402);
    expect((await usage()).rpcCalls).toBeGreaterThan(paid.rpcCalls);
  });
});
