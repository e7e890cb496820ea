// The operator's CLI against the running local stack's admin API: rules push/pull/diff/history/rollback,
// ledger, revenue, sessions revoke and grant, refunds, and --remote with the right and a wrong credential.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { NETWORK } from "../../stack/chain.js";
import { createSessionFetch, readSettlement } from "../../stack/pay.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";
import { tempDir } from "../fixtures/temp-dir.js";

const dir = tempDir("admin-cli-");
const stackFile = join(dir, "stack.json");
let stack: StackFixture;

beforeAll(async () => {
  stack = await startStackFixture({
    writeStackFile: stackFile,
    extraRules: [
      {
        id: "prepaid-missing",
        path: "/api/prepaid-missing",
        price: "$0.01",
        accepts: [{ network: NETWORK }],
        payTo: SELLER.address,
        settlement: "before-origin",
      },
    ],
  });
});
afterAll(async () => {
  await stack?.dispose();
});

/** The CLI as an operator runs it (asynchronously, so the stack's servers keep answering). */
function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/cli.ts", ...args],
      { encoding: "utf8", env: { ...process.env, STACK_FILE: stackFile, ...env } },
      (error, stdout, stderr) => {
        resolve({ status: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function priceOf(path: string): Promise<string> {
  const response = await fetch(`${stack.info.gateway}${path}`);
  expect(response.status).toBe(402);
  const challenge = JSON.parse(Buffer.from(response.headers.get("PAYMENT-REQUIRED")!, "base64").toString("utf8")) as {
    accepts: { amount: string }[];
  };
  return challenge.accepts[0]!.amount;
}

/** Until the isolate's rules cache (PRICE_RULES_CACHE_TTL_SECONDS, 5 s) takes the new document. */
async function priceBecomes(path: string, amount: string): Promise<void> {
  const seen = await eventually(
    () => priceOf(path),
    (value) => value === amount,
    12_000,
  );
  expect(seen).toBe(amount);
}

describe("npm run cli -- rules (local stack)", () => {
  it("pull, diff, push, history and rollback: the gateway follows, and a broken file never reaches KV", async () => {
    const pulled = join(dir, "live.json");
    expect((await cli(["rules", "pull", "--out", pulled])).status).toBe(0);
    const live = JSON.parse(readFileSync(pulled, "utf8")) as { rules: { id: string; price?: unknown }[] };
    const weather = live.rules.find((rule) => rule.id === "weather")!;
    expect(weather.price).toBe("$0.01");

    weather.price = "$0.03";
    const edited = join(dir, "edited.json");
    writeFileSync(edited, JSON.stringify(live, null, 2));
    const diff = await cli(["rules", "diff", edited]);
    expect(diff.status).toBe(0);
    expect(diff.stdout).toContain(`-       "price": "$0.01",`);
    expect(diff.stdout).toContain(`+       "price": "$0.03",`);

    const pushed = await cli(["rules", "push", edited]);
    expect(pushed.stdout).toMatch(/^pushed .*edited\.json: \d+ rules; the previous document is kept/);
    await priceBecomes("/api/weather/paris", "30000");
    expect((await cli(["rules", "diff", edited])).stdout).toMatch(/^no difference/);

    const broken = join(dir, "broken.json");
    writeFileSync(
      broken,
      JSON.stringify({ ...live, rules: [...live.rules, { id: "typo", path: "/api/typo", prise: "$1", accepts: [{ network: NETWORK }] }] }),
    );
    const refused = await cli(["rules", "push", broken]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/problem.*the gateway would refuse this document/);
    expect(refused.stderr).toContain("prise");

    const history = await cli(["rules", "history"]);
    expect(history.stdout.split("\n").filter((line) => line.includes("@history@"))).toHaveLength(1);
    const rolledBack = await cli(["rules", "rollback"]);
    expect(rolledBack.stdout).toMatch(/^restored the version replaced at /);
    await priceBecomes("/api/weather/paris", "10000");
    expect((await cli(["rules", "rollback"])).status).toBe(1);
  }, 60_000);
});

describe("npm run cli -- ledger, revenue, sessions, refunds (local stack)", () => {
  it("shows a paid request in the ledger and in revenue", async () => {
    const response = await stack.payingFetch()(`${stack.info.gateway}/api/weather/lisbon`);
    expect(response.status).toBe(200);
    const tx = readSettlement(response)!.transaction;
    await eventually(
      () => stack.ledgerRows("transaction_hash = ?", tx),
      (rows) => rows.length === 1,
    );
    const ledger = await cli(["ledger", "--rule", "weather", "--status", "settled", "--json"]);
    expect((JSON.parse(ledger.stdout) as { entries: { transaction_hash: string }[] }).entries.map((e) => e.transaction_hash)).toContain(tx);
    const table = await cli(["ledger", "--payer", PAYER.address, "--limit", "5"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^created_at\s+rule_id\s+status\s+amount/);
    expect(table.stdout).toContain(tx);
    const revenue = await cli(["revenue", "--by", "rule", "--json"]);
    const weather = (JSON.parse(revenue.stdout) as { revenue: { group: string; amount: string; payments: number }[] }).revenue.find(
      (row) => row.group === "weather",
    )!;
    expect(BigInt(weather.amount)).toBeGreaterThanOrEqual(10_000n);
    expect((await cli(["revenue", "--by", "payer"])).status).toBe(1);
  });

  it("revokes a wallet's session: its token stops working at once", async () => {
    const url = `${stack.info.gateway}/api/forecast/oslo`;
    const paid = await createSessionFetch(PAYER, { network: stack.info.network, address: stack.info.token.address })(url);
    expect(paid.status).toBe(200);
    const token = paid.headers.get("X402-SESSION")!;
    expect((await fetch(url, { headers: { "X402-SESSION": token } })).status).toBe(200);
    const revoked = await cli(["sessions", "revoke", `${stack.info.network}:${PAYER.address}`]);
    expect(revoked.stdout).toMatch(/^revoked 1 session of /);
    expect((await fetch(url, { headers: { "X402-SESSION": token } })).status).toBe(402);
    // The operator gives the session back: the same token works again, for the requests granted.
    const granted = await cli([
      "sessions",
      "grant",
      `${stack.info.network}:${PAYER.address}`,
      "--scope",
      "rule:forecast-pass",
      "--requests",
      "1",
      "--ttl",
      "600",
      "--ref",
      "support-42",
    ]);
    expect(granted.stdout).toMatch(/ has 1 requests in rule:forecast-pass until \d{4}-/);
    expect((await fetch(url, { headers: { "X402-SESSION": token } })).status).toBe(200);
    expect((await fetch(url, { headers: { "X402-SESSION": token } })).status).toBe(402);
    expect(
      (await cli(["sessions", "grant", `${stack.info.network}:${PAYER.address}`, "--scope", "rule:forecast-pass", "--ref", "x"])).status,
    ).toBe(1);
  });

  it("lists an owed refund and marks it refunded", async () => {
    // before-origin: settled first, then the origin (no such path: 404) failed: the payer is owed a refund.
    const response = await stack.payingFetch()(`${stack.info.gateway}/api/prepaid-missing`);
    expect(response.status).toBe(404);
    const rows = await eventually(
      () => stack.ledgerRows("rule_id = 'prepaid-missing'"),
      (r) => r.some((row) => row.status === "owed_refund"),
    );
    const key = rows.find((row) => row.status === "owed_refund")!.payment_key as string;
    const listed = await cli(["refunds", "--json"]);
    expect((JSON.parse(listed.stdout) as { owed: { payment_key: string }[] }).owed.map((row) => row.payment_key)).toContain(key);
    const refundTx = `0x${"12".repeat(32)}`;
    expect((await cli(["refunds", "mark", key, "--tx", refundTx])).stdout).toBe(`marked ${key} refunded by ${refundTx}\n`);
    expect((await cli(["refunds"])).stdout).not.toContain(key);
    const again = await cli(["refunds", "mark", key, "--tx", `0x${"34".repeat(32)}`]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/409.*already marked/);
  });
});

describe("npm run cli -- --remote", () => {
  it("works with the gateway's token and is refused, changing nothing, with a wrong one", async () => {
    const { token } = (JSON.parse(readFileSync(stackFile, "utf8")) as { admin: { token: string } }).admin;
    const remote = { X402_ADMIN_URL: stack.info.gateway };
    const before = await cli(["rules", "pull", "--remote"], { ...remote, X402_ADMIN_TOKEN: token });
    expect(before.status).toBe(0);
    const file = join(dir, "remote.json");
    writeFileSync(file, before.stdout);
    const wrong = await cli(["rules", "push", file, "--remote"], { ...remote, X402_ADMIN_TOKEN: `${token}-wrong` });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^refused by .*: wrong credential/);
    expect((await cli(["rules", "history", "--remote", "--json"], { ...remote, X402_ADMIN_TOKEN: token })).stdout).not.toContain(
      "remote.json",
    );
    expect((await cli(["rules", "pull", "--remote"], remote)).stderr).toMatch(/needs X402_ADMIN_TOKEN/);
    expect((await cli(["rules", "pull", "--remote"], { X402_ADMIN_URL: "" })).status).toBe(2);
  });
});
