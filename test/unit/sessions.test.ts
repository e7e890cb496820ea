// Session building blocks: scope derivation, gateway nonces, base58 and Solana sign-in checks.
import { ed25519 } from "@noble/curves/ed25519";
import { base58 } from "@scure/base";
import { describe, expect, it } from "vitest";
import { SessionKeysSchema } from "../../src/sessions/session-keys.js";
import { sessionScopeFor, SessionTermsSchema } from "../../src/sessions/session-terms.js";
import { checkNonce, mintNonce } from "../../src/sessions/siwx-nonce.js";
import { decodeBase58 } from "../../src/encoding/base58.js";
import { isSmallOrderEd25519Key } from "../../src/encoding/ed25519.js";
import { verifySiwxSignature } from "../../src/siwx/check-siwx-proof.js";
import { buildSiwsMessage } from "../../src/siwx/siws-message.js";
import type { SiwxProof } from "../../src/siwx/siwx-proof.js";

const terms = (scope: unknown) => SessionTermsSchema.parse({ ttlSeconds: 60, maxRequests: 10, scope });
const request = (method: string, path: string, search = "") => ({
  ruleId: "weather",
  method,
  segments: path.split("/").filter(Boolean),
  search,
});

describe("sessionScopeFor", () => {
  it.each<[string, unknown, ReturnType<typeof request>, string | null]>([
    ["rule (the default)", undefined, request("GET", "/weather/paris"), "rule:weather"],
    ["resource", "resource", request("GET", "/weather/paris", "?units=c"), "resource:GET /weather/paris"],
    ["resource, HEAD shares GET's", "resource", request("HEAD", "/weather/paris"), "resource:GET /weather/paris"],
    ["resource, POST is its own", "resource", request("POST", "/weather/paris"), "resource:POST /weather/paris"],
    [
      "resource+query, sorted",
      "resource+query",
      request("GET", "/weather/paris", "?units=c&days=3"),
      "resource:GET /weather/paris?days=3&units=c",
    ],
    ["prefix, inside", { prefix: "/API/weather/" }, request("GET", "/api/weather/paris"), "prefix:/api/weather"],
    ["prefix, the prefix itself", { prefix: "/api/weather" }, request("GET", "/api/weather"), "prefix:/api/weather"],
    ["prefix, a sibling sharing letters", { prefix: "/api/weather" }, request("GET", "/api/weathervane"), null],
    ["prefix, outside", { prefix: "/api/weather" }, request("GET", "/api/news"), null],
  ])("%s", (_name, scope, req, expected) => {
    expect(sessionScopeFor(terms(scope), req)).toBe(expected);
  });

  it("refuses bad terms", () => {
    expect(SessionTermsSchema.safeParse({ ttlSeconds: 0, maxRequests: 1 }).success).toBe(false);
    expect(SessionTermsSchema.safeParse({ ttlSeconds: 10, maxRequests: 0 }).success).toBe(false);
    expect(SessionTermsSchema.safeParse({ ttlSeconds: 10, maxRequests: 1, scope: { prefix: "api" } }).success).toBe(false);
    expect(SessionTermsSchema.safeParse({ ttlSeconds: 10, maxRequests: 1, scope: "everything" }).success).toBe(false);
  });
});

describe("SESSION_KEYS", () => {
  it("parses kid:secret pairs, newest first", () => {
    const keys = SessionKeysSchema.parse("new:0123456789abcdef0123456789abcdef, old:fedcba9876543210fedcba9876543210");
    expect(keys.signing.kid).toBe("new");
    expect([...keys.byKid.keys()]).toEqual(["new", "old"]);
  });

  it.each([
    ["no kid", "0123456789abcdef0123456789abcdef"],
    ["short secret", "k1:short"],
    ["duplicate kid", "a:0123456789abcdef0123456789abcdef,a:0123456789abcdef0123456789abcdefX"],
  ])("refuses %s", (_name, value) => {
    expect(SessionKeysSchema.safeParse(value).success).toBe(false);
  });
});

describe("gateway nonces", () => {
  const keys = SessionKeysSchema.parse("k1:0123456789abcdef0123456789abcdef");
  const options = (nowSeconds: number) => ({ nowSeconds, lifetimeSeconds: 300, clockSkewSeconds: 60 });
  const now = 1_800_000_000;

  it("are 32 hex, unique, and recognised while fresh", () => {
    const nonces = new Set(Array.from({ length: 1000 }, () => mintNonce(keys, now)));
    expect(nonces.size).toBe(1000);
    const nonce = [...nonces][0]!;
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(checkNonce(nonce, keys, options(now + 299))).toEqual({ ok: true, expiresAtSeconds: now + 300 });
    expect(checkNonce(nonce, keys, options(now + 301))).toEqual({ ok: false });
    expect(checkNonce(nonce, keys, options(now - 61))).toEqual({ ok: false });
  });

  it("are refused when any bit changes, or under another key", () => {
    const nonce = mintNonce(keys, now);
    for (let i = 0; i < 32; i++) {
      const flipped = nonce.slice(0, i) + (parseInt(nonce[i]!, 16) ^ 1).toString(16) + nonce.slice(i + 1);
      expect(checkNonce(flipped, keys, options(now))).toEqual({ ok: false });
    }
    expect(checkNonce(nonce, SessionKeysSchema.parse("k1:another-secret-0123456789abcdef0123"), options(now))).toEqual({ ok: false });
  });

  it("stay valid after a key rotation while the old key is listed", () => {
    const nonce = mintNonce(keys, now);
    const rotated = SessionKeysSchema.parse("k2:a-newer-secret-0123456789abcdef0123,k1:0123456789abcdef0123456789abcdef");
    expect(checkNonce(nonce, rotated, options(now)).ok).toBe(true);
  });
});

describe("base58", () => {
  it("decodes what a reference encoder encodes, leading zeros included", () => {
    for (const length of [1, 2, 31, 32, 64]) {
      for (let round = 0; round < 20; round++) {
        const bytes = crypto.getRandomValues(new Uint8Array(length));
        if (round % 4 === 0) bytes.fill(0, 0, Math.min(3, length));
        expect(decodeBase58(base58.encode(bytes))).toEqual(bytes);
      }
    }
  });

  it("refuses characters outside the alphabet", () => {
    for (const text of ["", "0abc", "Oabc", "Iabc", "labc", "ab c"]) expect(decodeBase58(text)).toBeNull();
  });
});

describe("Solana sign-in (SIWS, Ed25519)", () => {
  const proofFor = (address: string): SiwxProof => ({
    domain: "gateway.example",
    address,
    statement: "Sign in",
    uri: "https://gateway.example/weather/paris",
    version: "1",
    chainId: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
    type: "ed25519",
    nonce: "0123456789abcdef0123456789abcdef",
    issuedAt: new Date().toISOString(),
    resources: ["https://gateway.example/weather/paris"],
    signature: "",
  });
  const NO_RPC = { rpcUrls: undefined, rpcTimeoutMs: 1000, contractChains: [] };

  it("accepts the wallet's signature over the SIWS text and refuses any change", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
    const proof = proofFor(base58.encode(publicKey));
    const message = new TextEncoder().encode(buildSiwsMessage(proof, "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"));
    const signature = base58.encode(new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, message)));
    expect(await verifySiwxSignature({ ...proof, signature }, NO_RPC)).toEqual({ ok: true });
    expect(await verifySiwxSignature({ ...proof, signature, nonce: "ffffffffffffffffffffffffffffffff" }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_signature",
    });
    expect(await verifySiwxSignature({ ...proof, signature: "abc" }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_malformed_signature",
    });
    expect(await verifySiwxSignature({ ...proof, signature, type: "eip191" }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_unsupported_chain",
    });
  });

  it("knows every small-order key encoding (checked against a reference curve implementation)", () => {
    const listed = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for (const hex of listed) {
      const bytes = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
      expect(ed25519.ExtendedPoint.fromHex(bytes).isSmallOrder()).toBe(true);
      expect(isSmallOrderEd25519Key(bytes)).toBe(true);
      const negated = Uint8Array.from(bytes);
      negated[31]! |= 0x80;
      expect(isSmallOrderEd25519Key(negated)).toBe(true);
    }
    // All eight torsion points are covered: 8·P = 0 for exactly these.
    const torsion = new Set<string>();
    let point = ed25519.ExtendedPoint.fromHex(listed[2]!);
    for (let i = 0; i < 8; i++, point = point.add(ed25519.ExtendedPoint.fromHex(listed[2]!))) {
      const bytes = point.toRawBytes();
      expect(isSmallOrderEd25519Key(bytes)).toBe(true);
      torsion.add(base58.encode(bytes));
    }
    expect(torsion.size).toBe(8);
    for (let i = 0; i < 100; i++) {
      expect(isSmallOrderEd25519Key(ed25519.getPublicKey(ed25519.utils.randomPrivateKey()))).toBe(false);
    }
  });

  it("refuses a small-order public key even with a signature that 'verifies'", async () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(
      await verifySiwxSignature({ ...proofFor(base58.encode(identity)), signature: base58.encode(new Uint8Array(64)) }, NO_RPC),
    ).toEqual({ ok: false, reason: "invalid_siwx_signature" });
  });
});
