// The official SIWX client (@x402/extensions) signs proofs our verifier accepts, over the same EIP-4361 text.
import { createSIWxMessage, createSIWxPayload, encodeBase58, encodeSIWxHeader, SOLANA_MAINNET } from "@x402/extensions/sign-in-with-x";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { checkSiwxFields, verifySiwxSignature } from "../../src/siwx/check-siwx-proof.js";
import { buildSiweMessage } from "../../src/siwx/siwe-message.js";
import { buildSiwsMessage } from "../../src/siwx/siws-message.js";
import { decodeSiwxHeader } from "../../src/siwx/siwx-proof.js";

const NO_RPC = { rpcUrls: undefined, rpcTimeoutMs: 1000, contractChains: [] };

/** The `info` a gateway's 402 would hold for https://api.example.com/weather/paris, issued `now`. */
function challengeInfo(now: Date) {
  return {
    domain: "api.example.com",
    uri: "https://api.example.com/weather/paris",
    version: "1",
    nonce: "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
    issuedAt: now.toISOString(),
    expirationTime: new Date(now.getTime() + 300_000).toISOString(),
  };
}

const wallet = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");

describe("SIGN-IN-WITH-X interop with the official client", () => {
  it.each([
    [
      "with a statement and resources",
      { statement: "Sign in to reuse your payment", resources: ["https://api.example.com/weather/paris"] },
    ],
    ["minimal", {}],
  ])("accepts a proof made by createSIWxPayload (%s)", async (_name, extra) => {
    const now = new Date();
    const info = { ...challengeInfo(now), chainId: "eip155:31337", type: "eip191" as const, ...extra };
    const header = encodeSIWxHeader(await createSIWxPayload(info, wallet, "https://api.example.com/weather/paris"));

    const decoded = decodeSiwxHeader(header);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(buildSiweMessage(decoded.value, "31337")).toBe(createSIWxMessage(info, wallet.address));
    expect(
      checkSiwxFields(decoded.value, {
        host: "api.example.com",
        resourceOrigin: "https://api.example.com",
        nowMs: Date.now(),
        maxAgeSeconds: 300,
        clockSkewSeconds: 30,
      }),
    ).toEqual({ ok: true });
    expect(await verifySiwxSignature(decoded.value, NO_RPC)).toEqual({ ok: true });
  });

  it.each([
    [
      "with a statement and resources",
      { statement: "Sign in to reuse your payment", resources: ["https://api.example.com/weather/paris"] },
    ],
    ["minimal", {}],
  ])("accepts a Solana (SIWS, Ed25519) proof made by createSIWxPayload (%s)", async (_name, extra) => {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicKey = encodeBase58(new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer));
    const signer = {
      publicKey,
      signMessage: async (message: Uint8Array) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, message)),
    };
    const now = new Date();
    const info = { ...challengeInfo(now), chainId: SOLANA_MAINNET, type: "ed25519" as const, ...extra };
    const header = encodeSIWxHeader(await createSIWxPayload(info, signer, "https://api.example.com/weather/paris"));

    const decoded = decodeSiwxHeader(header);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(buildSiwsMessage(decoded.value, SOLANA_MAINNET.split(":")[1]!)).toBe(createSIWxMessage(info, publicKey));
    expect(await verifySiwxSignature(decoded.value, NO_RPC)).toEqual({ ok: true });
    expect(await verifySiwxSignature({ ...decoded.value, issuedAt: new Date(now.getTime() + 1).toISOString() }, NO_RPC)).toEqual({
      ok: false,
      reason: "invalid_siwx_signature",
    });
  });
});
