import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { buildHarness, buildRule, type GatewayHarness } from "../fixtures/builders.js";

const ADMIN = "/.well-known/x402/admin";
const TOKEN = "admin-test-token-0123456789abcdef0123456789";
const ISSUER = "https://issuer.example";
const AUDIENCE = "x402-gateway-admin";

let privateKey: CryptoKey;
let publicJwk: JWK;
let otherKey: CryptoKey;
beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  privateKey = pair.privateKey as CryptoKey;
  publicJwk = await exportJWK(pair.publicKey);
  otherKey = (await generateKeyPair("ES256")).privateKey as CryptoKey;
});

let logSpy: MockInstance<typeof console.log>;
beforeEach(() => {
  logSpy = vi.spyOn(console, "log");
});
afterEach(() => logSpy.mockRestore());

const adminLines = () =>
  logSpy.mock.calls
    .map(([first]) => String(first))
    .filter((line) => line.startsWith('{"event":"admin_call"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

function jwt(
  options: { key?: CryptoKey; issuer?: string; audience?: string; expiresAt?: number | null; subject?: string } = {},
): Promise<string> {
  let builder = new SignJWT({})
    .setProtectedHeader({ alg: "ES256" })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject(options.subject ?? "ops@example.com")
    .setIssuedAt();
  if (options.expiresAt !== null) builder = builder.setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 300);
  return builder.sign(options.key ?? privateKey);
}

async function jwtHarness(): Promise<GatewayHarness> {
  return buildHarness({ vars: { ADMIN_JWT_KEY: JSON.stringify(publicJwk), ADMIN_JWT_ISSUER: ISSUER, ADMIN_JWT_AUDIENCE: AUDIENCE } });
}

const newDocument = JSON.stringify({ rules: [buildRule({ id: "replaced", price: "$0.50" })] });

/** A refused replace: 401 with the reason, and the stored document untouched. */
async function expectRefusedReplace(harness: GatewayHarness, authorization: string | undefined, reason: string | RegExp): Promise<void> {
  const before = await env.PRICE_RULES.get(harness.env.PRICE_RULES_KEY as string);
  const response = await harness.fetch(`${ADMIN}/rules`, {
    method: "PUT",
    body: newDocument,
    headers: authorization ? { Authorization: authorization } : {},
  });
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe("unauthorized");
  expect(body.message).toMatch(reason);
  expect(await env.PRICE_RULES.get(harness.env.PRICE_RULES_KEY as string)).toBe(before);
  expect((await env.PRICE_RULES.list({ prefix: `${harness.env.PRICE_RULES_KEY as string}@history@` })).keys).toEqual([]);
}

describe("admin API: off unless configured", () => {
  it("answers 404 admin_disabled and never forwards its paths to the origin", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch(`${ADMIN}/rules`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("admin_disabled");
    expect((await harness.fetch("/.well-known/X402/Admin/rules")).status).toBe(404);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("a short ADMIN_TOKEN, a JWT key without issuer/audience, or a prefix outside the reserved paths is invalid config (503)", async () => {
    for (const vars of [
      { ADMIN_TOKEN: "short" } as Record<string, string>,
      { ADMIN_JWT_KEY: JSON.stringify(publicJwk) },
      { ADMIN_JWT_KEY: "not a jwk", ADMIN_JWT_ISSUER: ISSUER, ADMIN_JWT_AUDIENCE: AUDIENCE },
      { ADMIN_PATH_PREFIX: "/admin" },
    ]) {
      const harness = await buildHarness({ vars });
      expect((await harness.fetch(`${ADMIN}/rules`)).status, JSON.stringify(vars)).toBe(503);
    }
  });
});

describe("admin API: bearer token", () => {
  it("refuses a missing or wrong token (nothing changes), accepts the right one, and logs every call", async () => {
    const harness = await buildHarness({ vars: { ADMIN_TOKEN: TOKEN } });
    await expectRefusedReplace(harness, undefined, /missing bearer credential/);
    await expectRefusedReplace(harness, `Bearer ${TOKEN}x`, /wrong credential/);
    await expectRefusedReplace(harness, `Bearer ${TOKEN.slice(0, -1)}`, /wrong credential/);
    await expectRefusedReplace(harness, `Basic ${btoa(`admin:${TOKEN}`)}`, /missing bearer credential/);
    const ok = await harness.fetch(`${ADMIN}/rules`, { method: "PUT", body: newDocument, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(adminLines()).toEqual([
      expect.objectContaining({
        method: "PUT",
        path: "/rules",
        action: "rules.replace",
        caller: null,
        result: "unauthorized",
        reason: expect.stringMatching(/missing/),
      }),
      expect.objectContaining({ result: "unauthorized", reason: "wrong credential" }),
      expect.objectContaining({ result: "unauthorized", reason: "wrong credential" }),
      expect.objectContaining({ result: "unauthorized" }),
      expect.objectContaining({ action: "rules.replace", caller: "admin-token", result: "ok", status: 200 }),
    ]);
    // The token itself is never logged.
    expect(JSON.stringify(logSpy.mock.calls)).not.toContain(TOKEN);
  });

  it("an unauthenticated caller cannot tell which paths exist", async () => {
    const harness = await buildHarness({ vars: { ADMIN_TOKEN: TOKEN } });
    expect((await harness.fetch(`${ADMIN}/no-such-thing`)).status).toBe(401);
    expect((await harness.fetch(`${ADMIN}/no-such-thing`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const wrongMethod = await harness.fetch(`${ADMIN}/rules/rollback`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("Allow")).toBe("POST");
  });
});

describe("admin API: JWT", () => {
  it("accepts a token from the configured key, issuer and audience; logs its subject", async () => {
    const harness = await jwtHarness();
    const response = await harness.fetch(`${ADMIN}/rules`, { headers: { Authorization: `Bearer ${await jwt()}` } });
    expect(response.status).toBe(200);
    expect(adminLines()).toEqual([expect.objectContaining({ action: "rules.read", caller: "ops@example.com", result: "ok" })]);
  });

  it("refuses expired, wrong-audience, wrong-issuer, wrong-key, exp-less and malformed tokens, each saying why", async () => {
    const harness = await jwtHarness();
    await expectRefusedReplace(harness, `Bearer ${await jwt({ expiresAt: Math.floor(Date.now() / 1000) - 120 })}`, "token expired");
    await expectRefusedReplace(harness, `Bearer ${await jwt({ audience: "someone-else" })}`, "wrong audience");
    await expectRefusedReplace(harness, `Bearer ${await jwt({ issuer: "https://evil.example" })}`, "wrong issuer");
    await expectRefusedReplace(harness, `Bearer ${await jwt({ key: otherKey })}`, /wrong key/);
    await expectRefusedReplace(harness, `Bearer ${await jwt({ expiresAt: null })}`, /no expiry/);
    // Security review F22: a token still valid for more than a day is refused; one for 23 hours is not.
    await expectRefusedReplace(
      harness,
      `Bearer ${await jwt({ expiresAt: Math.floor(Date.now() / 1000) + 25 * 3600 })}`,
      /more than 24 hours/,
    );
    expect(
      (
        await harness.fetch(`${ADMIN}/rules`, {
          headers: { Authorization: `Bearer ${await jwt({ expiresAt: Math.floor(Date.now() / 1000) + 23 * 3600 })}` },
        })
      ).status,
    ).toBe(200);
    await expectRefusedReplace(harness, "Bearer eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.bm90LWEtc2lnbmF0dXJl", /wrong key|malformed/);
    // Without ADMIN_TOKEN configured, a plain secret is not accepted either.
    await expectRefusedReplace(harness, `Bearer ${TOKEN}`, /JWTs only/);
  });

  it("with both configured, either works", async () => {
    const harness = await buildHarness({
      vars: { ADMIN_TOKEN: TOKEN, ADMIN_JWT_KEY: JSON.stringify(publicJwk), ADMIN_JWT_ISSUER: ISSUER, ADMIN_JWT_AUDIENCE: AUDIENCE },
    });
    expect((await harness.fetch(`${ADMIN}/rules`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await harness.fetch(`${ADMIN}/rules`, { headers: { Authorization: `Bearer ${await jwt()}` } })).status).toBe(200);
  });
});
