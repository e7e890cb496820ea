// The agent buyer on the local stack: three sellers of the same resource (two per call at different prices, one as
// a session), read from the gateway's /.well-known/x402; the agent pays through the official client (TestUSDC named
// as an asset it may pay with, since the client refuses tokens it does not know). Its spend log must match the
// payer's on-chain balance change exactly.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type Agent, AgentRefusal, createAgent } from "../../agent/agent.js";
import { parseUsd } from "../../agent/money.js";
import { PAYER, PAYER_PRIVATE_KEY, SELLER, SELLER_TWO } from "../../stack/accounts.js";
import { NETWORK } from "../../stack/chain.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";
import { tempDir } from "../fixtures/temp-dir.js";

const tideRule = (seller: string, price: string, payTo: string, extra: Record<string, unknown> = {}) => ({
  id: `tides-${seller}`,
  methods: ["GET"],
  path: `/api/sellers/${seller}/tides/:port`,
  price,
  accepts: [{ network: NETWORK }],
  payTo,
  description: `Tide times for a port (seller ${seller.toUpperCase()})`,
  discovery: { service: { name: `Tides ${seller.toUpperCase()}`, tags: ["tides"] } },
  ...extra,
});

let stack: StackFixture;
beforeAll(async () => {
  stack = await startStackFixture({
    extraRules: [
      tideRule("a", "$0.02", SELLER.address),
      tideRule("b", "$0.01", SELLER_TWO.address),
      tideRule("c", "$0.05", SELLER.address, {
        session: { ttlSeconds: 3600, maxRequests: 100, scope: "rule" },
        description: "Tide times for a port: one payment buys 100 requests",
      }),
    ],
  });
});
afterAll(async () => {
  await stack?.dispose();
});

function agent(budget: string, options: { perCall?: string; plannedCalls?: number } = {}): Agent {
  return createAgent({
    account: PAYER,
    gateways: [stack.info.gateway],
    assets: [{ network: stack.info.network, address: stack.info.token.address, decimals: stack.info.token.decimals }],
    budget: { totalMicros: parseUsd(budget), perCallMicros: parseUsd(options.perCall ?? budget) },
    preferences: { plannedCalls: options.plannedCalls ?? 1 },
  });
}

/** What the spend log says left the wallet (TestUSDC has 6 decimals: atomic units are micro-dollars). */
const paidIn = (buyer: Agent) =>
  buyer.spendLog.entries.filter((e) => e.event === "payment").reduce((sum, e) => sum + BigInt(e.amount!), 0n);

describe("the agent buyer", () => {
  it("one call: pays the cheapest seller, and its spend log matches the chain", async () => {
    const buyer = agent("0.50");
    const plan = await buyer.plan({ text: "tide times for brest" });
    expect(plan.map((c) => [new URL(c.url).pathname, c.effectiveMicros])).toEqual([
      ["/api/sellers/b/tides/brest", 10_000n],
      ["/api/sellers/a/tides/brest", 20_000n],
      ["/api/sellers/c/tides/brest", 50_000n],
    ]);
    const before = { payer: await stack.balance(PAYER.address), seller: await stack.balance(SELLER_TWO.address) };
    const result = await buyer.call({ text: "tide times for brest" });
    expect(result.response.status).toBe(200);
    expect(await result.response.json()).toMatchObject({ seller: "b", port: "brest" });
    expect(result).toMatchObject({ via: "payment", charged: { atomic: 10_000n, transaction: expect.stringMatching(/^0x/) } });
    expect(await stack.balance(PAYER.address)).toBe(before.payer - paidIn(buyer));
    expect(await stack.balance(SELLER_TWO.address)).toBe(before.seller + 10_000n);
    expect(buyer.spendLog.entries).toMatchObject([
      { event: "payment", amount: "10000", tx: result.charged!.transaction, offer: { scheme: "exact", payTo: SELLER_TWO.address } },
    ]);
  });

  // Before any session is bought: a session the wallet holds would serve these calls for nothing, budget or not.
  it("the budget runs out: refused before signing, and concurrent calls never overspend", async () => {
    const buyer = agent("0.035", { perCall: "0.02" });
    const before = await stack.balance(PAYER.address);
    const settlesBefore = (await stack.facilitatorStats()).settle;
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => buyer.call({ text: "tides brest" })));
    const paid = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(paid).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(AgentRefusal);
      expect((r.reason as AgentRefusal).reason).toBe("over_remaining_budget");
      // The refusal names the cheapest offer, the one the agent would have paid.
      expect((r.reason as AgentRefusal).message).toMatch(
        /sellers\/b\/tides\/brest: \$0\.01 is over the remaining budget of \$0\.005 \(spent \$0\.0[0-3] of \$0\.035\)/,
      );
    }
    // Nothing was signed for the refused calls: the facilitator settled the three payments only (a payer in good
    // standing is not verified, so settles are what count payments).
    expect((await stack.facilitatorStats()).settle - settlesBefore).toBe(3);
    expect(paidIn(buyer)).toBe(30_000n);
    expect(await stack.balance(PAYER.address)).toBe(before - 30_000n);
    expect(buyer.budget.remainingMicros).toBe(5_000n);
    expect(buyer.spendLog.entries.filter((e) => e.event === "refused")).toHaveLength(7);
  });

  it("50 calls, 10 at a time: one payment opens the session that serves the other 49", async () => {
    const buyer = agent("0.50", { plannedCalls: 50 });
    // Spread over 50 calls, the session (5 cents for 100 calls) costs 0.1 cent a call: cheaper than either seller.
    expect(new URL((await buyer.plan({ text: "tides brest" }))[0]!.url).pathname).toBe("/api/sellers/c/tides/brest");
    const before = await stack.balance(PAYER.address);
    const results = [];
    for (let wave = 0; wave < 5; wave++)
      results.push(...(await Promise.all(Array.from({ length: 10 }, () => buyer.call({ text: "tides brest" })))));
    expect(results.every((r) => r.response.status === 200)).toBe(true);
    expect(results.filter((r) => r.via === "payment")).toHaveLength(1);
    expect(results.filter((r) => r.via === "session")).toHaveLength(49);
    expect(buyer.spendLog.entries.filter((e) => e.event === "session_use")).toHaveLength(49);
    expect(paidIn(buyer)).toBe(50_000n);
    expect(await stack.balance(PAYER.address)).toBe(before - paidIn(buyer));
    expect(buyer.budget.spentMicros).toBe(50_000n);
  });

  it("a new agent with the same wallet signs in to the session it paid for, and pays nothing", async () => {
    const buyer = agent("0.50", { plannedCalls: 50 });
    const before = await stack.balance(PAYER.address);
    const first = await buyer.call({ text: "tides brest" });
    expect(first).toMatchObject({ via: "sign-in" });
    expect(first.response.status).toBe(200);
    expect((await buyer.call({ text: "tides brest" })).via).toBe("session");
    expect(await stack.balance(PAYER.address)).toBe(before);
    expect(buyer.spendLog.entries.map((e) => e.event)).toEqual(["session_use", "session_use"]);
  });

  it("finds what to buy in the facilitator's catalog too (the official bazaar client), and pays the cheapest there", async () => {
    const buyer = createAgent({
      account: PAYER,
      facilitators: [stack.info.facilitator],
      assets: [{ network: stack.info.network, address: stack.info.token.address, decimals: stack.info.token.decimals }],
      budget: { totalMicros: parseUsd("0.10"), perCallMicros: parseUsd("0.10") },
    });
    // The catalog knows what was paid for: sellers B and C (A was never paid), without C's session terms.
    const plan = await buyer.plan({ text: "tides brest" });
    expect(plan.map((c) => new URL(c.url).pathname)).toEqual(["/api/sellers/b/tides/brest", "/api/sellers/c/tides/brest"]);
    expect(plan[0]!.listing.source).toBe(`${stack.info.facilitator}/discovery/resources`);
    const before = await stack.balance(PAYER.address);
    expect(await buyer.call({ text: "tides brest" })).toMatchObject({ via: "payment", charged: { atomic: 10_000n } });
    expect(await stack.balance(PAYER.address)).toBe(before - paidIn(buyer));
  });

  it("upto: the signed maximum holds the budget until the settlement says what was metered", async () => {
    // The demo's metered route: at most $0.10, $0.001 per token the origin reports.
    const buyer = agent("0.15");
    const task = { route: "/api/metered/header", query: { tokens: "3" } };
    const before = await stack.balance(PAYER.address);
    // Two at once: each reserves the $0.10 maximum, so only one fits in $0.15.
    const [first, second] = await Promise.allSettled([buyer.call(task), buyer.call(task)]);
    const outcomes = [first, second];
    const done = outcomes.filter((o): o is PromiseFulfilledResult<Awaited<ReturnType<Agent["call"]>>> => o.status === "fulfilled");
    expect(done).toHaveLength(1);
    expect(done[0]!.value).toMatchObject({
      via: "payment",
      charged: { atomic: 3_000n },
      choice: { offer: { scheme: "upto", amount: "100000" } },
    });
    expect(outcomes.find((o) => o.status === "rejected")).toMatchObject({ reason: { reason: "over_remaining_budget" } });
    // Settled for 3 tokens: the rest of the maximum is back, so the next call fits again.
    expect(buyer.budget.spentMicros).toBe(3_000n);
    expect((await buyer.call(task)).charged?.atomic).toBe(3_000n);
    expect(await stack.balance(PAYER.address)).toBe(before - paidIn(buyer));
    expect(paidIn(buyer)).toBe(6_000n);
  });

  it("price drift: a 402 asking more than listed is re-decided within the caps", async () => {
    const buyer = agent("0.50");
    await buyer.discover();
    const setPrice = async (price: string) => {
      const admin = { authorization: `Bearer ${stack.info.admin.token}` };
      const document = (await (await fetch(`${stack.info.gateway}${stack.info.admin.prefix}/rules`, { headers: admin })).json()) as {
        rules: { id: string; price: unknown }[];
      };
      document.rules.find((r) => r.id === "tides-b")!.price = price;
      const put = await fetch(`${stack.info.gateway}${stack.info.admin.prefix}/rules`, {
        method: "PUT",
        headers: admin,
        body: JSON.stringify(document),
      });
      expect(put.status).toBe(200);
      const asked = async () =>
        JSON.parse(
          Buffer.from((await fetch(`${stack.info.gateway}/api/sellers/b/tides/x`)).headers.get("PAYMENT-REQUIRED")!, "base64").toString(),
        ).accepts[0].amount as string;
      await eventually(asked, (amount) => amount === String(parseUsd(price)), 15_000);
    };
    const before = await stack.balance(PAYER.address);

    // Dearer, but still the cheapest: paid, and the drift logged.
    await setPrice("$0.015");
    const dearer = await buyer.call({ text: "tides brest" });
    expect(dearer).toMatchObject({ via: "payment", charged: { atomic: 15_000n } });
    expect(new URL(dearer.choice.url).pathname).toBe("/api/sellers/b/tides/brest");

    // Now dearer than seller A: the agent pays A instead of paying blindly.
    await setPrice("$0.03");
    const switched = await buyer.call({ text: "tides brest" });
    expect(switched).toMatchObject({ via: "payment", charged: { atomic: 20_000n } });
    expect(new URL(switched.choice.url).pathname).toBe("/api/sellers/a/tides/brest");

    expect(buyer.spendLog.entries.map((e) => [e.event, e.listedAmount ?? e.amount, e.askedAmount])).toEqual([
      ["price_drift", "10000", "15000"],
      ["payment", "15000", undefined],
      ["price_drift", "10000", "30000"],
      ["payment", "20000", undefined],
    ]);
    expect(await stack.balance(PAYER.address)).toBe(before - paidIn(buyer));
  });

  it("the CLI: plans, pays the cheapest, prints the answer and what it spent; refuses when nothing fits (exit 1)", async () => {
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [
            "--import",
            "tsx",
            "scripts/agent.ts",
            ...args,
            "--gateway",
            stack.info.gateway,
            "--asset",
            `${stack.info.network}:${stack.info.token.address}:6`,
            "--log",
            logFile,
          ],
          { env: { ...process.env, X402_AGENT_PRIVATE_KEY: PAYER_PRIVATE_KEY } },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    const logFile = join(tempDir("agent-", onTestFinished), "spend.jsonl");
    const before = await stack.balance(PAYER.address);
    const paid = await run("tides in", "brest", "--budget", "0.05");
    expect(paid.code).toBe(0);
    // After the price edits above, seller A ($0.02) is the cheapest per call.
    expect(paid.stdout).toMatch(/→ \$0\.02\/call {2}exact .*\/api\/sellers\/a\/tides\/brest/);
    expect(paid.stdout).toMatch(/call 1: 200 via payment \(\$0\.02 tx 0x[0-9a-f]{64}\)/);
    expect(paid.stdout).toContain('"port":"brest"');
    const logged = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { event: string; amount?: string });
    expect(await stack.balance(PAYER.address)).toBe(
      before - logged.filter((e) => e.event === "payment").reduce((sum, e) => sum + BigInt(e.amount!), 0n),
    );

    // Nothing on that network: refused, with the reason, and nothing paid.
    const refused = await run("tides brest", "--budget", "0.05", "--network", "eip155:8453");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/call 1: refused: no listed offer fits "tides brest"/);
    expect((await run("tides brest")).code).toBe(2);
  });
});
