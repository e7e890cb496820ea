// Property tests: no string but a token the gateway signed opens a session, and no edit of a real token does.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SessionKeysSchema } from "../../src/sessions/session-keys.js";
import { issueSessionToken, verifySessionToken } from "../../src/sessions/session-token.js";

const RUNS = 3000;
const keys = SessionKeysSchema.parse("k1:fuzz-session-secret-0123456789abcdef0123");
const now = Math.floor(Date.now() / 1000);
const options = { keys, audience: "https://gateway.example", scope: "rule:weather", nowSeconds: now };
const BASE64URL = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"];

describe("session token verification", () => {
  it("refuses arbitrary strings and arbitrary three-part tokens", async () => {
    const part = fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 500 }),
          fc.tuple(part, part, part).map((parts) => parts.join(".")),
        ),
        async (token) => {
          expect((await verifySessionToken(token, options)).ok).toBe(false);
        },
      ),
      { numRuns: RUNS, seed: 4 },
    );
  });

  it("refuses a real token with any one character of its header or claims changed", async () => {
    const token = await issueSessionToken({ ...options, wallet: "eip155:0xabc", expiresAtSeconds: now + 300 });
    expect((await verifySessionToken(token, options)).ok).toBe(true);
    const signedPart = token.lastIndexOf(".");
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: signedPart - 1 }), fc.constantFrom(...BASE64URL, "."), async (position, replacement) => {
        fc.pre(token[position] !== replacement);
        const edited = token.slice(0, position) + replacement + token.slice(position + 1);
        expect((await verifySessionToken(edited, options)).ok).toBe(false);
      }),
      { numRuns: RUNS, seed: 5 },
    );
  });
});
