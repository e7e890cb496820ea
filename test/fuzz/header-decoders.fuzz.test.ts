// Property tests: the payment-header decoder and the payment decision never crash and never let a bad
// payload through. 10,000+ generated cases per property (seeded, so a failure reproduces).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GatewayFailure } from "../../src/errors.js";
import { decidePayment } from "../../src/pipeline/decide-payment.js";
import { buildChallenge } from "../../src/pipeline/challenge-response.js";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";
import { decodeSiwxHeader } from "../../src/siwx/siwx-proof.js";
import { decodePaymentSignatureHeader, encodeBase64Json } from "../../src/x402/headers.js";
import { decodeXPaymentHeader } from "../../src/x402/v1.js";

const RUNS = 10_000;
const schemes = buildDefaultSchemeRegistry();
const PAY_TO = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const compiled = compilePriceRules(
  { rules: [{ id: "r", path: "/paid", price: "$0.01", accepts: [{ network: "eip155:84532" }], payTo: PAY_TO }] },
  schemes,
);
if (!compiled.ok) throw new Error(compiled.problems.join("\n"));
const rule = compiled.ruleSet.rules[0]!;
const accepts = rule.staticAccepts!;
const offer = accepts[0]!;
const now = Math.floor(Date.now() / 1000);

const validAuthorization = {
  from: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  to: PAY_TO,
  value: offer.amount,
  validAfter: String(now - 600),
  validBefore: String(now + 60),
  nonce: `0x${"ab".repeat(32)}`,
};
const validPayload = { x402Version: 2, accepted: offer, payload: { signature: `0x${"11".repeat(65)}`, authorization: validAuthorization } };

/** Any JSON, or `valid` with one field (a dotted path) replaced by any JSON value. */
function payloadLike(valid: object, paths: string[]) {
  return fc.oneof(
    fc.jsonValue(),
    fc.record({ path: fc.constantFrom(...paths), value: fc.jsonValue() }).map(({ path, value }) => {
      const copy = structuredClone(valid) as Record<string, unknown>;
      const keys = path.split(".");
      let target = copy;
      for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
      target[keys.at(-1)!] = value;
      return copy;
    }),
  );
}

/** Free text, base64 noise, and base64 JSON of payload-like values, whole or cut short. */
function headerLike(payloads: fc.Arbitrary<unknown>) {
  return fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.base64String({ maxLength: 400 }),
    payloads.map((value) => encodeBase64Json(value)),
    payloads.map((value) => encodeBase64Json(value).slice(0, -3)),
  );
}

const AUTHORIZATION_PATHS = [
  "payload.authorization",
  "payload.authorization.value",
  "payload.authorization.to",
  "payload.authorization.validBefore",
];
const v2HeaderLike = headerLike(
  payloadLike(validPayload, [
    "x402Version",
    "accepted",
    "payload",
    "accepted.amount",
    "accepted.payTo",
    "accepted.network",
    ...AUTHORIZATION_PATHS,
    "payload.authorization.nonce",
  ]),
);
const check = { nowSeconds: now, validUntilSeconds: now + 71, isContract: async () => undefined, blockhashStatus: async () => undefined };

/** decidePayment either decides, or throws the documented 400/431 failures; nothing else. */
async function decideOrRefuse(headers: { paymentHeader: string | null; v1Header: string | null }) {
  try {
    return await decidePayment({
      accepts,
      challenge: (error) => buildChallenge(rule, accepts, "https://g/paid", error),
      resource: { url: "https://g/paid" },
      schemes,
      check,
      ...headers,
    });
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayFailure);
    expect(["payment_malformed", "header_too_large"]).toContain((error as GatewayFailure).error.kind);
    return undefined;
  }
}

/** A payment that gets to verify pays exactly the offer, to its payee, and is still valid. */
function expectFitsOffer(decision: Awaited<ReturnType<typeof decidePayment>>) {
  const authorization = decision.kind === "verify" ? (decision.payload.payload.authorization as typeof validAuthorization) : undefined;
  if (!authorization || decision.kind !== "verify") return;
  expect(decision.requirements).toBe(offer);
  expect(authorization.to.toLowerCase()).toBe(PAY_TO.toLowerCase());
  expect(BigInt(authorization.value)).toBe(BigInt(offer.amount));
  expect(Number(authorization.validBefore)).toBeGreaterThan(now);
}

describe("PAYMENT-SIGNATURE decoding under fuzz", () => {
  it("never throws, and only accepts objects of the PaymentPayload shape", () => {
    fc.assert(
      fc.property(v2HeaderLike, (header) => {
        const decoded = decodePaymentSignatureHeader(header);
        if (decoded.ok) {
          expect(typeof decoded.value.x402Version).toBe("number");
          expect(typeof decoded.value.accepted.amount).toBe("string");
        } else {
          expect(decoded.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS, seed: 402 },
    );
  });

  it("decides a challenge or a 400 for everything but a payload that fits the offer exactly", async () => {
    // No RPC: a signature that does not recover to the payer may still be a contract wallet's, so it is not refused here.
    await fc.assert(
      fc.asyncProperty(v2HeaderLike, async (header) => {
        const decision = await decideOrRefuse({ paymentHeader: header, v1Header: null });
        if (decision) expectFitsOffer(decision);
      }),
      { numRuns: RUNS, seed: 4020 },
    );
  });
});

const validV1Payload = { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: validPayload.payload };
const v1HeaderLike = headerLike(
  payloadLike(validV1Payload, ["x402Version", "scheme", "network", "payload", ...AUTHORIZATION_PATHS, "payload.signature"]),
);

describe("X-PAYMENT (V1) decoding under fuzz", () => {
  it("never throws, and only accepts objects of the V1 PaymentPayload shape", () => {
    fc.assert(
      fc.property(v1HeaderLike, (header) => {
        const decoded = decodeXPaymentHeader(header);
        if (decoded.ok) {
          expect(typeof decoded.value.x402Version).toBe("number");
          expect(typeof decoded.value.scheme).toBe("string");
          expect(typeof decoded.value.network).toBe("string");
          expect(typeof decoded.value.payload).toBe("object");
        } else {
          expect(decoded.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS, seed: 1402 },
    );
  });

  it("decides a challenge or a 400 for everything but a V1 payment that fits an offer exactly", async () => {
    await fc.assert(
      fc.asyncProperty(v1HeaderLike, async (header) => {
        const decision = await decideOrRefuse({ paymentHeader: null, v1Header: header });
        if (decision?.kind === "verify")
          expect(decision.v1?.requirements).toMatchObject({ network: "base-sepolia", maxAmountRequired: offer.amount, payTo: offer.payTo });
        if (decision) expectFitsOffer(decision);
      }),
      { numRuns: RUNS, seed: 14020 },
    );
  });
});

const siwxLike = fc.oneof(
  fc.jsonValue(),
  fc.record({
    domain: fc.string(),
    address: fc.string(),
    uri: fc.string(),
    version: fc.constantFrom("1", "2", 1),
    chainId: fc.string(),
    type: fc.constantFrom("eip191", "ed25519", "rsa"),
    nonce: fc.string(),
    issuedAt: fc.string(),
    signature: fc.string(),
    resources: fc.option(fc.array(fc.string())),
  }),
);

describe("SIGN-IN-WITH-X decoding under fuzz", () => {
  it("never throws, and only accepts proofs of the schema's shape", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.base64String({ maxLength: 400 }),
          siwxLike.map((v) => encodeBase64Json(v)),
        ),
        (header) => {
          const decoded = decodeSiwxHeader(header);
          if (decoded.ok) {
            expect(decoded.value.version).toBe("1");
            expect(decoded.value.nonce).toMatch(/^[A-Za-z0-9]{8,64}$/);
          }
        },
      ),
      { numRuns: RUNS, seed: 122 },
    );
  });
});
