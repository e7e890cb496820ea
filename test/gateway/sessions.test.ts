// Sessions: pay once, then sign in (SIGN-IN-WITH-X) or send the session token, with no facilitator call.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { revokeSessions } from "../../src/sessions/revoke-sessions.js";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, BASE_SEPOLIA, decodeHeader, payFor, type GatewayHarness } from "../fixtures/builders.js";
import { buildSessionRule, freshSolanaWallet, freshWallet, signIn, signInSolana, siwxChallengeFor } from "../fixtures/sessions.js";

async function reasonOf(response: Response): Promise<string | undefined> {
  expect(response.status).toBe(402);
  return decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error;
}

/** Pays once for `path` as `wallet`; returns the session token the answer carries. */
async function openSession(harness: GatewayHarness, path: string, wallet = freshWallet()) {
  const { response } = await payFor(harness, path, { signer: wallet });
  expect(response.status).toBe(200);
  const token = response.headers.get("X402-SESSION");
  expect(token).toBeTruthy();
  return { wallet, token: token!, response };
}

describe("session challenge", () => {
  it("advertises sign-in-with-x with a fresh nonce per 402, bound to the request's host", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ statement: "Use your weather pass" })] });
    const first = await siwxChallengeFor(harness, "/weather/paris");
    const second = await siwxChallengeFor(harness, "/weather/paris");
    expect(first.info).toMatchObject({
      domain: "gateway.example",
      uri: "https://gateway.example/weather/paris",
      version: "1",
      statement: "Use your weather pass",
      resources: ["https://gateway.example/weather/paris"],
    });
    expect(first.info.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(second.info.nonce).not.toBe(first.info.nonce);
    const issued = Date.parse(first.info.issuedAt);
    expect(Math.abs(issued - Date.now())).toBeLessThan(5000);
    expect(Date.parse(first.info.expirationTime!) - issued).toBe(300_000);
    expect(first.supportedChains).toEqual([
      { chainId: BASE_SEPOLIA, type: "eip191" },
      { chainId: "eip155:*", type: "eip191" },
      { chainId: "solana:*", type: "ed25519" },
    ]);
  });

  it("is absent from rules without session terms, which ignore sign-in headers", async () => {
    const harness = await buildHarness({ rules: [buildRule()] });
    const response = await harness.fetch("/weather/paris", { headers: { "SIGN-IN-WITH-X": "garbage", "X402-SESSION": "garbage" } });
    expect(response.status).toBe(402);
    const challenge = decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED"));
    expect(challenge.extensions?.["sign-in-with-x"]).toBeUndefined();
    expect(await harness.originCalls()).toHaveLength(0);
  });

  it("fails closed (503) when a session rule is hit without SESSION_KEYS", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule()], vars: { SESSION_KEYS: "" } });
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "config_invalid" });
  });
});

describe("pay once, then use the session", () => {
  it("grants the payer a session: sign-ins are served with no facilitator call until the quota is spent", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ maxRequests: 3 })] });
    const { wallet, response } = await openSession(harness, "/weather/paris");
    expect(response.headers.get("X402-SESSION-REMAINING")).toBe("2");
    const facilitatorCallsAfterPayment = (await harness.facilitatorCalls()).length;

    for (const remaining of ["1", "0"]) {
      const served = await harness.fetch("/weather/paris", {
        headers: { "SIGN-IN-WITH-X": await signIn(harness, "/weather/paris", wallet) },
      });
      expect(served.status).toBe(200);
      expect(served.headers.get("X402-SESSION-REMAINING")).toBe(remaining);
      expect(served.headers.get("PAYMENT-RESPONSE")).toBeNull();
    }
    const exhausted = await harness.fetch("/weather/paris", {
      headers: { "SIGN-IN-WITH-X": await signIn(harness, "/weather/paris", wallet) },
    });
    expect(await reasonOf(exhausted)).toBe("session_exhausted");

    expect(await harness.facilitatorCalls()).toHaveLength(facilitatorCallsAfterPayment);
    const origin = await harness.originCalls();
    expect(origin).toHaveLength(3);
    expect(origin.every((call) => !("sign-in-with-x" in call.headers) && !("x402-session" in call.headers))).toBe(true);
  });

  it("serves session tokens with no facilitator call, and a token of one wallet never serves another's scope", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ maxRequests: 4 })] });
    const { token } = await openSession(harness, "/weather/paris");
    const calls = (await harness.facilitatorCalls()).length;
    const served = await harness.fetch("/weather/paris", { headers: { "X402-SESSION": token } });
    expect(served.status).toBe(200);
    expect(served.headers.get("X402-SESSION-REMAINING")).toBe("2");
    expect(await harness.facilitatorCalls()).toHaveLength(calls);
  });

  it("lets exactly K of N concurrent requests through a quota of K", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ maxRequests: 5 })] });
    const { token } = await openSession(harness, "/weather/paris");
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => harness.fetch("/weather/paris", { headers: { "X402-SESSION": token } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 402)).toHaveLength(8);
    expect(await harness.originCalls()).toHaveLength(5);
  });

  it("ends the session at its TTL with a normal 402 challenge", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ ttlSeconds: 1, maxRequests: 100 })] });
    const { token, wallet } = await openSession(harness, "/weather/paris");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const expiredToken = await harness.fetch("/weather/paris", { headers: { "X402-SESSION": token } });
    expect(await reasonOf(expiredToken)).toMatch(/^session_(token_)?expired$/);
    const signedIn = await harness.fetch("/weather/paris", {
      headers: { "SIGN-IN-WITH-X": await signIn(harness, "/weather/paris", wallet) },
    });
    // The object's cleanup alarm may already have dropped the ended session.
    expect(await reasonOf(signedIn)).toMatch(/^session_(expired|not_found)$/);
    expect(decodeHeader<PaymentRequired>(signedIn.headers.get("PAYMENT-REQUIRED")).accepts).toHaveLength(1);
  });

  it("refuses a wallet that never paid, and a sign-in on a route whose session it did not buy", async () => {
    const paid = buildSessionRule({}, { path: "/weather/:city" });
    const other = buildSessionRule({}, { path: "/forecast/:city" });
    const harness = await buildHarness({ rules: [paid, other] });
    const stranger = await harness.fetch("/weather/paris", {
      headers: { "SIGN-IN-WITH-X": await signIn(harness, "/weather/paris", freshWallet()) },
    });
    expect(await reasonOf(stranger)).toBe("session_not_found");
    const { wallet, token } = await openSession(harness, "/weather/paris");
    const elsewhere = await harness.fetch("/forecast/paris", {
      headers: { "SIGN-IN-WITH-X": await signIn(harness, "/forecast/paris", wallet) },
    });
    expect(await reasonOf(elsewhere)).toBe("session_not_found");
    const tokenElsewhere = await harness.fetch("/forecast/paris", { headers: { "X402-SESSION": token } });
    expect(await reasonOf(tokenElsewhere)).toBe("session_token_wrong_scope");
  });

  it("gives a request back to the quota when the origin fails", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ maxRequests: 3 }, { path: "/status/:code" })] });
    const { token } = await openSession(harness, "/status/200");
    const failed = await harness.fetch("/status/503", { headers: { "X402-SESSION": token } });
    expect(failed.status).toBe(503);
    const ok = await harness.fetch("/status/200", { headers: { "X402-SESSION": token } });
    expect(ok.headers.get("X402-SESSION-REMAINING")).toBe("1");
  });

  it("stops serving a revoked wallet at once, tokens included", async () => {
    const rule = buildSessionRule({ maxRequests: 10 });
    const harness = await buildHarness({ rules: [rule] });
    const { wallet, token } = await openSession(harness, "/weather/paris");
    expect((await harness.fetch("/weather/paris", { headers: { "X402-SESSION": token } })).status).toBe(200);
    expect(await revokeSessions(env.WALLET_SESSIONS, { network: BASE_SEPOLIA, address: wallet.address })).toBe(1);
    expect(await reasonOf(await harness.fetch("/weather/paris", { headers: { "X402-SESSION": token } }))).toBe("session_not_found");
    const signedIn = await harness.fetch("/weather/paris", {
      headers: { "SIGN-IN-WITH-X": await signIn(harness, "/weather/paris", wallet) },
    });
    expect(await reasonOf(signedIn)).toBe("session_not_found");
  });
});

describe("Solana wallets", () => {
  it("sign in with Ed25519 over the SIWS text once their wallet holds a session", async () => {
    const rule = buildSessionRule({ maxRequests: 3 });
    const harness = await buildHarness({ rules: [rule] });
    const solana = await freshSolanaWallet();
    const unpaid = await harness.fetch("/weather/paris", {
      headers: { "SIGN-IN-WITH-X": await signInSolana(harness, "/weather/paris", solana) },
    });
    expect(await reasonOf(unpaid)).toBe("session_not_found");
    // Solana payments arrive with the SVM scheme (#5); the grant they make is the same call.
    const stub = env.WALLET_SESSIONS.get(env.WALLET_SESSIONS.idFromName(`solana:${solana.address}`));
    await stub.grant({ scope: `rule:${String(rule.id)}`, paymentKey: `test:${solana.address}`, ttlMs: 60_000, requests: 2 }, Date.now());
    const served = await harness.fetch("/weather/paris", {
      headers: { "SIGN-IN-WITH-X": await signInSolana(harness, "/weather/paris", solana) },
    });
    expect(served.status).toBe(200);
    expect(served.headers.get("X402-SESSION-REMAINING")).toBe("1");
    const impostor = await freshSolanaWallet();
    const forged = await signInSolana(harness, "/weather/paris", { address: solana.address, sign: impostor.sign });
    expect(await reasonOf(await harness.fetch("/weather/paris", { headers: { "SIGN-IN-WITH-X": forged } }))).toBe("invalid_siwx_signature");
  });
});

describe("session scopes", () => {
  it("prefix: one payment covers every path under the prefix, nothing outside it", async () => {
    const rule = buildSessionRule({ scope: { prefix: "/API/Weather" } }, { path: "/api/**" });
    const harness = await buildHarness({ rules: [rule] });
    const { token } = await openSession(harness, "/api/weather/paris");
    expect((await harness.fetch("/api/weather/london/today", { headers: { "X402-SESSION": token } })).status).toBe(200);
    expect(await reasonOf(await harness.fetch("/api/news/today", { headers: { "X402-SESSION": token } }))).toBe(
      "PAYMENT-SIGNATURE header is required",
    );
  });

  it("resource: a session for one resource does not open another", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ scope: "resource" })] });
    const { token } = await openSession(harness, "/weather/paris");
    expect((await harness.fetch("/Weather//paris", { headers: { "X402-SESSION": token } })).status).toBe(200);
    expect(await reasonOf(await harness.fetch("/weather/london", { headers: { "X402-SESSION": token } }))).toBe(
      "session_token_wrong_scope",
    );
  });

  it("resource+query: the query is part of the resource, in any parameter order", async () => {
    const harness = await buildHarness({ rules: [buildSessionRule({ scope: "resource+query" })] });
    const { token } = await openSession(harness, "/weather/paris?units=c&days=3");
    expect((await harness.fetch("/weather/paris?days=3&units=c", { headers: { "X402-SESSION": token } })).status).toBe(200);
    expect(await reasonOf(await harness.fetch("/weather/paris?days=30&units=c", { headers: { "X402-SESSION": token } }))).toBe(
      "session_token_wrong_scope",
    );
  });
});
