// Every way a sign-in proof or a session token can be wrong is refused with a 402 (400 when malformed),
// before the origin and with no facilitator call, even for a wallet whose session is open.
import { beforeAll, describe, expect, it } from "vitest";
import { SessionKeysSchema } from "../../src/sessions/session-keys.js";
import { issueSessionToken } from "../../src/sessions/session-token.js";
import { mintNonce } from "../../src/sessions/siwx-nonce.js";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, decodeHeader, payFor, TEST_SESSION_KEYS, type GatewayHarness } from "../fixtures/builders.js";
import { buildSessionRule, freshWallet, signIn, signProof, siwxChallengeFor } from "../fixtures/sessions.js";
import type { SiwxProof } from "../../src/siwx/siwx-proof.js";
import type { PrivateKeyAccount } from "viem/accounts";

const PATH = "/weather/paris";
const AUDIENCE = "https://gateway.example";
const keys = SessionKeysSchema.parse(TEST_SESSION_KEYS);

let harness: GatewayHarness;
let wallet: PrivateKeyAccount;
let scope: string;
let walletKey: string;
let originCallsAfterPayment: number;
let facilitatorCallsAfterPayment: number;

beforeAll(async () => {
  const rule = buildSessionRule({ maxRequests: 1000 });
  scope = `rule:${String(rule.id)}`;
  harness = await buildHarness({ rules: [rule] });
  wallet = freshWallet();
  walletKey = `eip155:${wallet.address.toLowerCase()}`;
  const { response } = await payFor(harness, PATH, { signer: wallet });
  expect(response.status).toBe(200);
  originCallsAfterPayment = (await harness.originCalls()).length;
  facilitatorCallsAfterPayment = (await harness.facilitatorCalls()).length;
});

async function expectRefused(response: Response, reason: string | RegExp) {
  expect(response.status).toBe(402);
  const challenge = decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED"));
  if (typeof reason === "string") expect(challenge.error).toBe(reason);
  else expect(challenge.error).toMatch(reason);
  // A refusal is a fresh challenge: the client may sign in again or pay.
  expect(challenge.extensions?.["sign-in-with-x"]).toBeDefined();
  expect(await harness.originCalls()).toHaveLength(originCallsAfterPayment);
  expect(await harness.facilitatorCalls()).toHaveLength(facilitatorCallsAfterPayment);
}

const withProof = (header: string) => harness.fetch(PATH, { headers: { "SIGN-IN-WITH-X": header } });
const withToken = (token: string) => harness.fetch(PATH, { headers: { "X402-SESSION": token } });
const minutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();

describe("SIGN-IN-WITH-X proofs that are refused", () => {
  it.each<[string, Partial<SiwxProof>, string]>([
    ["another domain", { domain: "evil.example" }, "invalid_siwx_domain_mismatch"],
    ["a uri on another origin", { uri: "https://evil.example/weather/paris" }, "invalid_siwx_uri_mismatch"],
    ["an issuedAt older than the challenge lifetime", { issuedAt: minutes(-10) }, "invalid_siwx_issued_at_too_old"],
    ["an issuedAt in the future", { issuedAt: minutes(5) }, "invalid_siwx_issued_at_in_future"],
    ["an expirationTime passed", { expirationTime: minutes(-1) }, "invalid_siwx_expired"],
    ["a notBefore still ahead", { notBefore: minutes(2) }, "invalid_siwx_not_yet_valid"],
    ["a nonce the gateway never issued", { nonce: "0123456789abcdef0123456789abcdef" }, "invalid_siwx_nonce"],
    ["a nonce issued too long ago", { nonce: mintNonce(keys, Math.floor(Date.now() / 1000) - 3600) }, "invalid_siwx_nonce"],
    [
      "a nonce of another gateway's key",
      { nonce: mintNonce(SessionKeysSchema.parse("other:another-gateway-secret-0123456789abcdef"), Math.floor(Date.now() / 1000)) },
      "invalid_siwx_nonce",
    ],
    ["an unsupported chain", { chainId: "cosmos:cosmoshub-4" }, "invalid_siwx_unsupported_chain"],
  ])("%s", async (_name, change, reason) => {
    await expectRefused(await withProof(await signIn(harness, PATH, wallet, change)), reason);
  });

  it("a signature by another key than the address claims", async () => {
    const { info, supportedChains } = await siwxChallengeFor(harness, PATH);
    const proof = { ...info, chainId: supportedChains[0]!.chainId, type: "eip191", address: wallet.address, signature: "0x" } as SiwxProof;
    await expectRefused(await withProof(await signProof(proof, freshWallet())), "invalid_siwx_signature");
  });

  it("a smart-wallet signature whose chain RPC is down: 502, never served", async () => {
    const { env } = await import("cloudflare:workers");
    const rpcDown = await buildHarness({
      rules: [buildSessionRule()],
      vars: { RPC_URLS: JSON.stringify({ "eip155:84532": env.TEST_DEAD_URL }) },
    });
    const { info, supportedChains } = await siwxChallengeFor(rpcDown, PATH);
    const proof = { ...info, chainId: supportedChains[0]!.chainId, type: "eip191", address: wallet.address, signature: "0x" } as SiwxProof;
    const response = await rpcDown.fetch(PATH, { headers: { "SIGN-IN-WITH-X": await signProof(proof, freshWallet()) } });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "siwx_verifier_unavailable" });
    expect(await rpcDown.originCalls()).toHaveLength(0);
  });

  it("a proof used a second time (its nonce is spent)", async () => {
    const header = await signIn(harness, PATH, wallet);
    expect((await withProof(header)).status).toBe(200);
    originCallsAfterPayment += 1;
    await expectRefused(await withProof(header), "invalid_siwx_nonce");
  });

  it("a proof sent 10 times at once is served once", async () => {
    const header = await signIn(harness, PATH, wallet);
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => withProof(header)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 402)).toHaveLength(9);
    originCallsAfterPayment += 1;
    expect(await harness.originCalls()).toHaveLength(originCallsAfterPayment);
  });

  it.each([
    ["not base64", "%%%"],
    ["base64 of non-JSON", btoa("hello")],
    [
      "JSON missing the signature",
      btoa(
        JSON.stringify({
          domain: "gateway.example",
          address: "0x1",
          uri: "https://gateway.example/",
          version: "1",
          chainId: "eip155:1",
          type: "eip191",
          nonce: "abcdefgh",
          issuedAt: "now",
        }),
      ),
    ],
    [
      "a version other than 1",
      btoa(
        JSON.stringify({
          domain: "d",
          address: "a",
          uri: "u",
          version: "2",
          chainId: "eip155:1",
          type: "eip191",
          nonce: "abcdefgh",
          issuedAt: "i",
          signature: "s",
        }),
      ),
    ],
  ])("a malformed header (%s) is a 400", async (_name, header) => {
    const response = await withProof(header);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_siwx_payload" });
    expect(await harness.originCalls()).toHaveLength(originCallsAfterPayment);
  });
});

describe("session tokens that are refused", () => {
  const mint = (options: { audience?: string; scope?: string; wallet?: string; expiresIn?: number; keys?: string; iat?: number }) => {
    const now = Math.floor(Date.now() / 1000);
    return issueSessionToken({
      keys: SessionKeysSchema.parse(options.keys ?? TEST_SESSION_KEYS),
      wallet: options.wallet ?? walletKey,
      scope: options.scope ?? scope,
      audience: options.audience ?? AUDIENCE,
      nowSeconds: options.iat ?? now,
      expiresAtSeconds: now + (options.expiresIn ?? 300),
    });
  };

  it("a well-made token is served (the control case)", async () => {
    expect((await withToken(await mint({}))).status).toBe(200);
    originCallsAfterPayment += 1;
  });

  it("forged: claims changed under the original signature", async () => {
    const [header, , signature] = (await mint({})).split(".");
    const claims = btoa(JSON.stringify({ sub: walletKey, scope, aud: AUDIENCE, iss: "x402-gateway", iat: 1, exp: 9_999_999_999 }))
      .replace(/=+$/, "")
      .replaceAll("+", "-")
      .replaceAll("/", "_");
    await expectRefused(await withToken(`${header}.${claims}.${signature}`), "invalid_session_token");
  });

  it("expired", async () => {
    await expectRefused(await withToken(await mint({ expiresIn: -10, iat: Math.floor(Date.now() / 1000) - 400 })), "session_token_expired");
  });

  it("for another audience", async () => {
    await expectRefused(await withToken(await mint({ audience: "https://other-gateway.example" })), "session_token_wrong_audience");
  });

  it("for another scope", async () => {
    await expectRefused(await withToken(await mint({ scope: "rule:someone-elses-rule" })), "session_token_wrong_scope");
  });

  it("alg: none", async () => {
    const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: "none", typ: "JWT", kid: "k1" })}.${encode({ sub: walletKey, scope, aud: AUDIENCE, iss: "x402-gateway", iat: now, exp: now + 300 })}.`;
    await expectRefused(await withToken(unsigned), "invalid_session_token");
  });

  it("signed with the wrong key under our key id, or under an unknown key id", async () => {
    await expectRefused(await withToken(await mint({ keys: "k1:an-attackers-guess-at-the-secret-0123456789" })), "invalid_session_token");
    await expectRefused(await withToken(await mint({ keys: "k9:an-attackers-guess-at-the-secret-0123456789" })), "invalid_session_token");
  });

  it("garbage", async () => {
    await expectRefused(await withToken("not-a-jwt"), "invalid_session_token");
    await expectRefused(await withToken("x".repeat(5000)), "invalid_session_token");
  });
});

describe("session key rotation", () => {
  it("keeps old-key tokens valid while the old key is listed, and signs new ones with the newest key", async () => {
    const rule = buildSessionRule({ maxRequests: 10 });
    const newKey = "k2:the-rotated-in-session-secret-0123456789";
    const rotated = await buildHarness({ rules: [rule], vars: { SESSION_KEYS: `${newKey},${TEST_SESSION_KEYS}` } });
    const before = await buildHarness({ rules: [rule] });
    const { response } = await payFor(before, PATH, { signer: freshWallet() });
    const oldToken = response.headers.get("X402-SESSION")!;
    expect(JSON.parse(atob(oldToken.split(".")[0]!))).toMatchObject({ alg: "HS256", kid: "k1" });

    const served = await rotated.fetch(PATH, { headers: { "X402-SESSION": oldToken } });
    expect(served.status).toBe(200);
    const { response: paidAfterRotation } = await payFor(rotated, PATH, { signer: freshWallet() });
    expect(JSON.parse(atob(paidAfterRotation.headers.get("X402-SESSION")!.split(".")[0]!))).toMatchObject({ kid: "k2" });

    const retired = await buildHarness({ rules: [rule], vars: { SESSION_KEYS: newKey } });
    const refused = await retired.fetch(PATH, { headers: { "X402-SESSION": oldToken } });
    expect(decodeHeader<PaymentRequired>(refused.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_session_token");
  });
});
