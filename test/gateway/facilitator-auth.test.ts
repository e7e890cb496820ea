// Facilitator authentication: static bearer and CDP API-key JWTs (Ed25519 and EC P-256), checked by a fake
// facilitator that verifies signature, expiry, uri binding and nonce reuse (stack/cdp-jwt-check.ts).
import { env } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { buildCdpJwt, importCdpKey } from "../../src/facilitator/cdp-jwt.js";
import { buildHarness, payFor } from "../fixtures/builders.js";

const ED25519 = { kind: "cdp-jwt", keyIdSecret: "TEST_CDP_ED25519_KEY_ID", keySecret: "TEST_CDP_ED25519_SECRET" };
const EC = { kind: "cdp-jwt", keyIdSecret: "TEST_CDP_EC_KEY_ID", keySecret: "TEST_CDP_EC_SECRET" };

describe("CDP API-key JWT", () => {
  it.each([
    ["Ed25519", ED25519, "EdDSA", env.TEST_CDP_ED25519_KEY_ID],
    ["EC P-256 (SEC1 PEM)", EC, "ES256", env.TEST_CDP_EC_KEY_ID],
  ])("%s: a fresh JWT bound to each call is accepted by a facilitator that checks it", async (_name, auth, alg, keyId) => {
    const harness = await buildHarness({ facilitators: [{ id: "cdp", mode: "cdp", auth }] });
    const { response } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(200);

    const calls = await harness.facilitatorCalls({ facilitator: "cdp", supported: true });
    expect(calls.map((c) => c.path)).toEqual(["/supported", "/verify", "/settle"]);
    const tokens = calls.map((c) => String(c.headers.authorization).replace(/^Bearer /, ""));
    expect(new Set(tokens).size).toBe(3);
    const url = new URL(harness.facilitatorUrl("cdp", "cdp"));
    for (const [i, token] of tokens.entries()) {
      const method = i === 0 ? "GET" : "POST";
      expect(decodeProtectedHeader(token)).toMatchObject({ alg, kid: keyId, typ: "JWT", nonce: expect.stringMatching(/^[0-9a-f]{32}$/) });
      const claims = decodeJwt(token);
      expect(claims).toMatchObject({ iss: "cdp", sub: keyId, uris: [`${method} ${url.host}${url.pathname}${calls[i]!.path}`] });
      expect(claims.exp! - claims.nbf!).toBe(120);
    }
  });

  it("a JWT signed with the wrong key is refused, and the route fails closed", async () => {
    const harness = await buildHarness({
      facilitators: [{ id: "cdp", mode: "cdp", auth: { ...ED25519, keySecret: "TEST_CDP_EC_SECRET" } }],
    });
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "no_settleable_offer" });
  });

  it("a secret that is not set is a configuration fault: nothing is sent to that facilitator", async () => {
    const harness = await buildHarness({ facilitators: [{ id: "cdp", mode: "cdp", auth: { ...ED25519, keySecret: "NOT_SET_ANYWHERE" } }] });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
    expect(await harness.facilitatorCalls({ facilitator: "cdp", supported: true })).toEqual([]);
  });

  it("sends a bearer token read from the secret its auth names", async () => {
    const harness = await buildHarness({
      facilitators: [{ id: "static", mode: "ok", auth: { kind: "bearer", tokenSecret: "STATIC_FACILITATOR_TOKEN" } }],
      vars: { STATIC_FACILITATOR_TOKEN: "tok-123" },
    });
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    const calls = await harness.facilitatorCalls({ facilitator: "static", supported: true });
    expect(calls.map((c) => c.headers.authorization)).toEqual(["Bearer tok-123", "Bearer tok-123", "Bearer tok-123"]);
  });
});

describe("the checking facilitator refuses JWTs that get a claim wrong", () => {
  const url = () => `${env.TEST_FACILITATOR_URL}/t/jwt-check-${crypto.randomUUID()}/cdp/supported`;
  const jwtFor = async (
    target: string,
    overrides: { method?: string; nowSeconds?: number; keyId?: string; expiresInSeconds?: number } = {},
  ) => {
    const key = await importCdpKey(env.TEST_CDP_ED25519_SECRET);
    return buildCdpJwt(key, {
      keyId: overrides.keyId ?? env.TEST_CDP_ED25519_KEY_ID,
      method: overrides.method ?? "GET",
      url: target,
      nowSeconds: overrides.nowSeconds ?? Math.floor(Date.now() / 1000),
      expiresInSeconds: overrides.expiresInSeconds ?? 120,
    });
  };
  const ask = async (target: string, token: string | undefined) => {
    const response = await fetch(target, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    return { status: response.status, body: (await response.json()) as { reason?: string } };
  };

  it("accepts a correct one once", async () => {
    const target = url();
    expect((await ask(target, await jwtFor(target))).status).toBe(200);
  });

  it.each<[string, (target: string) => Promise<string | undefined>, RegExp]>([
    ["no token", async () => undefined, /no bearer JWT/],
    ["bound to another path", async (target) => jwtFor(target.replace("/supported", "/settle")), /do not name this call/],
    ["bound to another method", async (target) => jwtFor(target, { method: "POST" }), /do not name this call/],
    ["expired", async (target) => jwtFor(target, { nowSeconds: Math.floor(Date.now() / 1000) - 600 }), /"exp" claim/],
    ["not yet valid", async (target) => jwtFor(target, { nowSeconds: Math.floor(Date.now() / 1000) + 600 }), /"nbf" claim/],
    ["living too long", async (target) => jwtFor(target, { expiresInSeconds: 600 }), /lifetime/],
    ["naming an unknown key", async (target) => jwtFor(target, { keyId: "organizations/x/apiKeys/unknown" }), /unknown kid/],
  ])("refuses one with %s", async (_name, make, reason) => {
    const target = url();
    const { status, body } = await ask(target, await make(target));
    expect(status).toBe(401);
    expect(body.reason).toMatch(reason);
  });

  it("refuses a replayed JWT (same nonce)", async () => {
    const target = url();
    const token = await jwtFor(target);
    expect((await ask(target, token)).status).toBe(200);
    const replay = await ask(target, token);
    expect(replay.status).toBe(401);
    expect(replay.body.reason).toMatch(/nonce already used/);
  });
});
