// WalletSession Durable Object: grants, atomic consumption, nonce use, restore, revocation and cleanup.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newTestId } from "../fixtures/builders.js";

const wallet = () => env.WALLET_SESSIONS.get(env.WALLET_SESSIONS.idFromName(`eip155:0x${newTestId()}`));
const HOUR = 3_600_000;

describe("WalletSession", () => {
  it("adds a second payment to a running session and ignores a repeated grant for the same payment", async () => {
    const stub = wallet();
    const now = Date.now();
    expect(await stub.grant({ scope: "rule:a", paymentKey: "p1", ttlMs: HOUR, requests: 4 }, now)).toEqual({
      scope: "rule:a",
      expiresAtMs: now + HOUR,
      remaining: 4,
    });
    expect(await stub.grant({ scope: "rule:a", paymentKey: "p1", ttlMs: HOUR, requests: 4 }, now + 10)).toEqual({
      scope: "rule:a",
      expiresAtMs: now + HOUR,
      remaining: 4,
    });
    expect(await stub.grant({ scope: "rule:a", paymentKey: "p2", ttlMs: 2 * HOUR, requests: 3 }, now + 20)).toEqual({
      scope: "rule:a",
      expiresAtMs: now + 20 + 2 * HOUR,
      remaining: 7,
    });
    expect(await stub.grant({ scope: "rule:b", paymentKey: "p3", ttlMs: HOUR, requests: 1 }, now)).toMatchObject({
      scope: "rule:b",
      remaining: 1,
    });
    expect((await stub.list()).map((e) => [e.scope, e.remaining])).toEqual([
      ["rule:a", 7],
      ["rule:b", 1],
    ]);
  });

  it("replaces an exhausted session instead of extending it", async () => {
    const stub = wallet();
    const now = Date.now();
    await stub.grant({ scope: "s", paymentKey: "p1", ttlMs: 2 * HOUR, requests: 1 }, now);
    expect(await stub.consume({ scope: "s" }, now)).toMatchObject({ kind: "granted" });
    expect(await stub.consume({ scope: "s" }, now)).toEqual({ kind: "session_exhausted" });
    expect(await stub.grant({ scope: "s", paymentKey: "p2", ttlMs: HOUR, requests: 2 }, now + 5)).toEqual({
      scope: "s",
      expiresAtMs: now + 5 + HOUR,
      remaining: 2,
    });
  });

  it("spends a nonce with the request, once", async () => {
    const stub = wallet();
    const now = Date.now();
    await stub.grant({ scope: "s", paymentKey: "p", ttlMs: HOUR, requests: 5 }, now);
    const nonce = { value: "n1", expiresAtMs: now + 300_000 };
    expect(await stub.consume({ scope: "s", nonce }, now)).toEqual({
      kind: "granted",
      entitlement: { scope: "s", expiresAtMs: now + HOUR, remaining: 4 },
    });
    expect(await stub.consume({ scope: "s", nonce }, now)).toEqual({ kind: "nonce_reused" });
    // A nonce is spent even when no session covers the request.
    const other = { value: "n2", expiresAtMs: now + 300_000 };
    expect(await stub.consume({ scope: "elsewhere", nonce: other }, now)).toEqual({ kind: "session_not_found" });
    expect(await stub.consume({ scope: "s", nonce: other }, now)).toEqual({ kind: "nonce_reused" });
  });

  it("refuses after expiry, restores a request only while the session runs, and revokes per scope or all", async () => {
    const stub = wallet();
    const now = Date.now();
    await stub.grant({ scope: "a", paymentKey: "p1", ttlMs: HOUR, requests: 1 }, now);
    await stub.grant({ scope: "b", paymentKey: "p2", ttlMs: HOUR, requests: 1 }, now);
    await stub.grant({ scope: "c", paymentKey: "p3", ttlMs: HOUR, requests: 1 }, now);
    expect(await stub.consume({ scope: "a" }, now + HOUR)).toEqual({ kind: "session_expired" });
    await stub.consume({ scope: "b" }, now);
    await stub.restore("b", now);
    expect(await stub.consume({ scope: "b" }, now)).toMatchObject({ kind: "granted", entitlement: { remaining: 0 } });
    await stub.restore("b", now + HOUR);
    expect(await stub.consume({ scope: "b" }, now)).toEqual({ kind: "session_exhausted" });
    expect(await stub.revoke("c")).toBe(1);
    expect(await stub.consume({ scope: "c" }, now)).toEqual({ kind: "session_not_found" });
    expect(await stub.revoke()).toBe(2);
    expect(await stub.list()).toEqual([]);
  });

  it("cleans up ended sessions and spent nonces, and empties itself when nothing is left", async () => {
    const stub = wallet();
    const now = Date.now();
    await stub.grant({ scope: "short", paymentKey: "p1", ttlMs: 50, requests: 3 }, now);
    await stub.consume({ scope: "short", nonce: { value: "n", expiresAtMs: now + 50 } }, now);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await runDurableObjectAlarm(stub);
    expect(await stub.list()).toEqual([]);
    // The grant record stays a day (a late duplicate grant must still be recognised), then goes too.
    const tables = await runInDurableObject(stub, (_instance, state) => ({
      nonces: state.storage.sql.exec("SELECT COUNT(*) AS n FROM used_nonce").one().n,
      grants: state.storage.sql.exec("SELECT COUNT(*) AS n FROM applied_grant").one().n,
    }));
    expect(tables).toEqual({ nonces: 0, grants: 1 });
    expect(await stub.grant({ scope: "short", paymentKey: "p1", ttlMs: 50, requests: 3 }, Date.now())).toMatchObject({ remaining: 0 });
  });
});
