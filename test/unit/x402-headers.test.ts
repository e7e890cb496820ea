import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { decodeBase64Json, decodePaymentSignatureHeader, encodeBase64Json } from "../../src/x402/headers.js";

/** Base64 of the value's JSON as UTF-8, the long way round. */
function reference(value: unknown): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(JSON.stringify(value))) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const payload = {
  x402Version: 2,
  accepted: { scheme: "exact", network: "eip155:8453", amount: "1", asset: "0xa", payTo: "0xb", maxTimeoutSeconds: 60 },
  payload: { signature: "0x00" },
};

describe("decodePaymentSignatureHeader", () => {
  it("round-trips a payload, including non-ASCII text", () => {
    const withText = { ...payload, resource: { url: "https://x/é", description: "météo ☀" } };
    expect(decodePaymentSignatureHeader(encodeBase64Json(withText))).toEqual({ ok: true, value: withText });
  });

  it.each([
    ["empty", "", "header is empty"],
    ["url-safe alphabet", encodeBase64Json(payload).replaceAll("+", "-").replaceAll("/", "_") + "-_", "header is not standard base64"],
    ["not base64", "!!!", "header is not standard base64"],
    ["impossible length", "abcde", "header is not standard base64"],
    ["invalid UTF-8", btoa("\xff\xfe"), "header is not base64 of UTF-8 text"],
    ["not JSON", btoa("hello"), "header is not base64 of JSON"],
    ["JSON null", btoa("null"), "invalid field (root): Invalid input: expected object, received null"],
    [
      "missing accepted",
      encodeBase64Json({ x402Version: 2, payload: {} }),
      "invalid field accepted: Invalid input: expected object, received undefined",
    ],
    [
      "amount not atomic",
      encodeBase64Json({ ...payload, accepted: { ...payload.accepted, amount: "0.01" } }),
      "invalid field accepted.amount: expected an atomic amount (decimal digits)",
    ],
    [
      "network not CAIP-2",
      encodeBase64Json({ ...payload, accepted: { ...payload.accepted, network: "base" } }),
      "invalid field accepted.network: expected a CAIP-2 network id",
    ],
    ["too large", "A".repeat(16 * 1024 + 4), "header is too large"],
  ])("refuses %s", (_name, header, reason) => {
    expect(decodePaymentSignatureHeader(header)).toEqual({ ok: false, reason });
  });
});

describe("encodeBase64Json / decodeBase64Json", () => {
  it("is base64 of the JSON's UTF-8 bytes, ASCII or not, and reads back to the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: "grapheme" }), (value, text) => {
        for (const v of [value, { text, value }]) {
          const header = encodeBase64Json(v);
          expect(header).toBe(reference(v));
          expect(decodeBase64Json(header, z.unknown())).toEqual({ ok: true, value: JSON.parse(JSON.stringify(v)) });
        }
      }),
      { numRuns: 300 },
    );
  });
});
