// The agent buyer's pure parts: dollars, the budget's reserve/commit/release, matching a task to listings, and
// ranking offers by effective price per call.
import { describe, expect, it } from "vitest";
import { Budget, BudgetRefusal } from "../../agent/budget.js";
import type { Listing } from "../../agent/catalog.js";
import { effectiveAt, rankChoices, type KnownAsset } from "../../agent/choose-offer.js";
import { fillRoute, matchListings } from "../../agent/match-task.js";
import { AgentConfigError, atomicToUsd, formatUsd, parseUsd, usdToAtomic } from "../../agent/money.js";
import { SessionBook } from "../../agent/session-book.js";

const NETWORK = "eip155:84532";
const USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
const ASSETS: KnownAsset[] = [{ network: NETWORK, address: USDC, decimals: 6 }];

const listing = (path: string, amount: string, extra: Partial<Listing> = {}): Listing => ({
  source: "https://gw.example/.well-known/x402",
  resource: `https://gw.example${path}`,
  type: "http",
  methods: ["GET"],
  description: "Current weather for a city",
  priceKind: "fixed",
  accepts: [{ scheme: "exact", network: NETWORK, asset: USDC, amount, payTo: "0x0000000000000000000000000000000000000001" }],
  tags: ["weather"],
  ...extra,
});

describe("dollars", () => {
  it.each([
    ["0.50", 500_000n],
    ["$0.5", 500_000n],
    ["1", 1_000_000n],
    ["0.000001", 1n],
  ])("parses %s", (text, micros) => expect(parseUsd(text)).toBe(micros));

  it.each(["", "-1", "0.0000001", "1e3", "abc"])("refuses %j", (text) => expect(() => parseUsd(text)).toThrow(AgentConfigError));

  it("formats and converts token amounts, rounding a cost up", () => {
    expect(formatUsd(500_000n)).toBe("$0.50");
    expect(formatUsd(5_000n)).toBe("$0.005");
    expect(formatUsd(1_234_567n)).toBe("$1.234567");
    expect(atomicToUsd(10_000n, 6)).toBe(10_000n);
    expect(atomicToUsd(1n, 18)).toBe(1n);
    expect(atomicToUsd(1_000_000_000_000n, 18)).toBe(1n);
    expect(atomicToUsd(5n, 2)).toBe(50_000n);
    expect(usdToAtomic(50_000n, 2)).toBe(5n);
  });
});

describe("budget", () => {
  it("reserves before signing, commits what was charged, releases what was not", () => {
    const budget = new Budget(100n, 40n);
    const a = budget.reserve(40n);
    const b = budget.reserve(40n);
    expect(budget.remainingMicros).toBe(20n);
    expect(() => budget.reserve(30n)).toThrow(BudgetRefusal);
    a.commit(25n); // an upto payment settled for less than its maximum
    b.release();
    expect(budget.spentMicros).toBe(25n);
    expect(budget.remainingMicros).toBe(75n);
    // Closing twice changes nothing.
    a.commit(40n);
    b.commit(40n);
    expect(budget.spentMicros).toBe(25n);
  });

  it("a payment over the per-call cap is refused with the reason; a session counts as the calls it buys", () => {
    const budget = new Budget(1_000_000n, 10_000n);
    expect(() => budget.reserve(20_000n)).toThrow(
      expect.objectContaining({ reason: "over_per_call_cap", message: expect.stringContaining("per-call cap of $0.01") }),
    );
    expect(budget.reserve(50_000n, 20).micros).toBe(50_000n);
    expect(() => budget.reserve(2_000_000n, 1000)).toThrow(expect.objectContaining({ reason: "over_remaining_budget" }));
  });

  it("concurrent reservations never add up past the total", () => {
    const budget = new Budget(35n, 10n);
    const results = Array.from({ length: 10 }, () => {
      try {
        return budget.reserve(10n);
      } catch {
        return undefined;
      }
    });
    expect(results.filter(Boolean)).toHaveLength(3);
  });
});

describe("matching a task", () => {
  const listings = [
    listing("/api/weather/:city", "10000"),
    listing("/api/forecast/:city", "5000", { description: "Three-day forecast", tags: ["forecast"] }),
    listing("/api/mcp", "20000", { type: "mcp", toolName: "get_quote", description: "A stock quote", tags: [] }),
  ];

  it("fits listings by the words they say about themselves and fills the route from the rest", () => {
    expect(matchListings(listings, { text: "weather in Paris" }).map((m) => m.url)).toEqual(["https://gw.example/api/weather/paris"]);
    expect(matchListings(listings, { text: "forecasts for new york", params: { city: "New York" } }).map((m) => m.url)).toEqual([
      "https://gw.example/api/forecast/New%20York",
    ]);
    expect(matchListings(listings, { tool: "get_quote" }).map((m) => m.listing.toolName)).toEqual(["get_quote"]);
    expect(matchListings(listings, { text: "weather", tags: ["forecast"] })).toEqual([]);
    expect(matchListings(listings, { route: "/api/forecast/:city", params: { city: "oslo" } }).map((m) => m.url)).toEqual([
      "https://gw.example/api/forecast/oslo",
    ]);
  });

  it("leaves out a route whose parameters it cannot fill", () => {
    expect(matchListings(listings, { text: "weather" })).toEqual([]);
    expect(fillRoute("https://gw.example/a/:x/b/:y", { y: "2" }, ["1"])).toBe("https://gw.example/a/1/b/2");
  });
});

describe("choosing an offer", () => {
  const match = (l: Listing) => ({ listing: l, url: l.resource.replace(":city", "paris"), score: 1 });
  const cheap = listing("/a/:city", "10000");
  const dear = listing("/b/:city", "20000");
  const pass = listing("/c/:city", "50000", { session: { ttlSeconds: 3600, maxRequests: 100 } });

  it("ranks by effective price per call: a session's price spread over the calls planned", () => {
    const prefs = { maxPerCallMicros: 1_000_000n };
    expect(rankChoices([dear, pass, cheap].map(match), ASSETS, prefs).map((c) => [c.listing.resource, c.effectiveMicros])).toEqual([
      [cheap.resource, 10_000n],
      [dear.resource, 20_000n],
      [pass.resource, 50_000n],
    ]);
    expect(rankChoices([dear, pass, cheap].map(match), ASSETS, { ...prefs, plannedCalls: 50 })[0]).toMatchObject({
      listing: pass,
      effectiveMicros: 1_000n,
      callsBought: 100,
    });
    // A session the wallet holds costs nothing more.
    expect(rankChoices([cheap, pass].map(match), ASSETS, prefs, (l) => l === pass)[0]).toMatchObject({
      listing: pass,
      effectiveMicros: 0n,
      sessionHeld: true,
    });
  });

  it("keeps out what it cannot pay: unknown assets, other networks, schemes it does not speak, quoted prices, over the cap", () => {
    const other = listing("/d/:city", "1", {
      accepts: [{ scheme: "exact", network: NETWORK, asset: "0x0000000000000000000000000000000000000bad", amount: "1" }],
    });
    const channel = listing("/e/:city", "1", { accepts: [{ scheme: "batch-settlement", network: NETWORK, asset: USDC, amount: "1" }] });
    const quoted = listing("/f/:city", "1", { priceKind: "quoted" });
    const base = listing("/g/:city", "1", { accepts: [{ scheme: "exact", network: "eip155:8453", asset: USDC, amount: "1" }] });
    expect(rankChoices([other, channel, quoted, base].map(match), ASSETS, { maxPerCallMicros: 1_000_000n })).toEqual([]);
    expect(rankChoices([cheap, dear].map(match), ASSETS, { maxPerCallMicros: 15_000n }).map((c) => c.listing)).toEqual([cheap]);
    // upto and dynamic prices count at their most.
    const upto = listing("/h/:city", "1", { accepts: [{ scheme: "upto", network: NETWORK, asset: USDC, amount: "30000" }] });
    const dynamic = listing("/i/:city", "1", {
      priceKind: "dynamic",
      accepts: [{ scheme: "exact", network: NETWORK, asset: USDC, amount: "1000", maxAmount: "40000" }],
    });
    expect(rankChoices([upto, dynamic].map(match), ASSETS, { maxPerCallMicros: 1_000_000n }).map((c) => c.payAtomic)).toEqual([
      30_000n,
      40_000n,
    ]);
  });

  it("re-prices a drifted 402 the way it ranked it", () => {
    const [choice] = rankChoices([pass].map(match), ASSETS, { maxPerCallMicros: 1_000_000n, plannedCalls: 10 });
    expect(effectiveAt(choice!, 100_000n, 10)).toBe(10_000n);
  });
});

describe("sessions held", () => {
  it("hands out a token while calls remain and the session lasts, and keeps the newest count", () => {
    let now = 1_000;
    const book = new SessionBook(() => now);
    const headers = (remaining: number, token = "t1", expires = 2000) =>
      new Headers({ "X402-SESSION": token, "X402-SESSION-REMAINING": String(remaining), "X402-SESSION-EXPIRES": String(expires) });
    expect(book.take("k")).toBeUndefined();
    book.update("k", headers(2));
    expect(book.take("k")).toBe("t1");
    expect(book.take("k")).toBe("t1");
    expect(book.take("k")).toBeUndefined();
    // Paid again within the same second: the payment's answer stands.
    book.update("k", headers(5, "t2", 2000), true);
    expect(book.take("k")).toBe("t2");
    // An answer that left before that take arrives late: it does not raise the count back (4 left, not 5).
    book.update("k", headers(5, "t3", 2000));
    for (let i = 0; i < 4; i++) expect(book.take("k")).toBe("t3");
    expect(book.take("k")).toBeUndefined();
    book.update("k", headers(9, "t4", 4000));
    expect(book.holds("k")).toBe(true);
    now = 4_000;
    expect(book.holds("k")).toBe(false);
  });
});
