import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { checkSiwxFields, verifySiwxSignature } from "../../src/siwx/check-siwx-proof.js";
import { buildSiweMessage } from "../../src/siwx/siwe-message.js";
import { decodeSiwxHeader, type SiwxProof } from "../../src/siwx/siwx-proof.js";
import { encodeBase64Json } from "../../src/x402/headers.js";

const NO_RPC = { rpcUrls: undefined, rpcTimeoutMs: 1000, contractChains: [] };

const wallet = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const NOW = Date.parse("2026-11-24T12:00:00.000Z");

async function signedProof(overrides: Partial<SiwxProof> = {}): Promise<SiwxProof> {
  const unsigned = {
    domain: "api.example.com",
    address: wallet.address,
    statement: "Sign in to reuse your payment",
    uri: "https://api.example.com/weather/paris",
    version: "1" as const,
    chainId: "eip155:8453",
    type: "eip191" as const,
    nonce: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
    issuedAt: "2026-11-24T11:59:30.000Z",
    expirationTime: "2026-11-24T12:04:30.000Z",
    resources: ["https://api.example.com/weather/paris"],
    signature: "0x",
    ...overrides,
  };
  const signature = await wallet.signMessage({ message: buildSiweMessage(unsigned, unsigned.chainId.split(":")[1]!) });
  return { ...unsigned, signature, ...(overrides.signature ? { signature: overrides.signature } : {}) };
}

const fieldOptions = {
  host: "api.example.com",
  resourceOrigin: "https://api.example.com",
  nowMs: NOW,
  maxAgeSeconds: 300,
  clockSkewSeconds: 30,
};

describe("buildSiweMessage", () => {
  it("lays out EIP-4361 with and without a statement", async () => {
    const proof = await signedProof();
    expect(buildSiweMessage(proof, "8453")).toBe(
      [
        "api.example.com wants you to sign in with your Ethereum account:",
        wallet.address,
        "",
        "Sign in to reuse your payment",
        "",
        "URI: https://api.example.com/weather/paris",
        "Version: 1",
        "Chain ID: 8453",
        "Nonce: a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "Issued At: 2026-11-24T11:59:30.000Z",
        "Expiration Time: 2026-11-24T12:04:30.000Z",
        "Resources:",
        "- https://api.example.com/weather/paris",
      ].join("\n"),
    );
    expect(buildSiweMessage({ ...proof, statement: undefined, resources: undefined, expirationTime: undefined }, "8453")).toMatch(
      new RegExp(`^api.example.com wants you to sign in with your Ethereum account:\\n${wallet.address}\\n\\n\\nURI: `),
    );
  });
});

describe("SIGN-IN-WITH-X proofs", () => {
  it("round-trips through the header and verifies an EOA signature", async () => {
    const proof = await signedProof();
    const decoded = decodeSiwxHeader(encodeBase64Json(proof));
    expect(decoded).toEqual({ ok: true, value: proof });
    expect(checkSiwxFields(proof, fieldOptions)).toEqual({ ok: true });
    expect(await verifySiwxSignature(proof, NO_RPC)).toEqual({ ok: true });
  });

  it.each<[string, Partial<SiwxProof>, string]>([
    ["another domain", { domain: "evil.example.com" }, "invalid_siwx_domain_mismatch"],
    ["a uri on another origin", { uri: "https://evil.example.com/weather/paris" }, "invalid_siwx_uri_mismatch"],
    ["a uri that is not a URL", { uri: "not a url" }, "invalid_siwx_uri_mismatch"],
    ["an unparsable issuedAt", { issuedAt: "yesterday" }, "invalid_siwx_issued_at"],
    ["an issuedAt in the future", { issuedAt: "2026-11-24T12:01:00.000Z" }, "invalid_siwx_issued_at_in_future"],
    ["an old issuedAt", { issuedAt: "2026-11-24T11:50:00.000Z" }, "invalid_siwx_issued_at_too_old"],
    ["an expired proof", { expirationTime: "2026-11-24T11:59:59.000Z" }, "invalid_siwx_expired"],
    ["a proof not yet valid", { notBefore: "2026-11-24T12:00:30.000Z" }, "invalid_siwx_not_yet_valid"],
  ])("refuses %s", async (_name, overrides, reason) => {
    expect(checkSiwxFields(await signedProof(overrides), fieldOptions)).toEqual({ ok: false, reason });
  });

  it("refuses a signature over other fields, by another wallet, or malformed", async () => {
    const proof = await signedProof();
    expect(await verifySiwxSignature({ ...proof, nonce: "ffffffffffffffffffffffffffffffff" }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_signature",
    });
    const other = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
    expect(await verifySiwxSignature({ ...proof, address: other.address }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_signature",
    });
    expect(await verifySiwxSignature({ ...proof, signature: "0x1234" }, NO_RPC)).toEqual({ ok: false, reason: "invalid_siwx_signature" });
    expect(await verifySiwxSignature({ ...proof, chainId: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp" }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_unsupported_chain",
    });
  });

  it.each([
    ["not base64", "%%%"],
    ["a wrong version", encodeBase64Json({ version: "2" })],
    ["a nonce with symbols", encodeBase64Json({ nonce: "$$$$$$$$$$" })],
    ["too large", "A".repeat(9000)],
  ])("refuses a header that is %s", (_name, header) => {
    expect(decodeSiwxHeader(header).ok).toBe(false);
  });
});
