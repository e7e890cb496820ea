// Encode/decode the x402 HTTP headers (specs/transports-v2/http.md). Pure. No I/O.
import { binaryBytes, decodeBase64Binary, encodeBase64 } from "../encoding/base64.js";
import type * as z from "zod";
import { PaymentPayloadSchema, type PaymentPayload, type PaymentRequired, type SettleResponse } from "./schemas.js";

export const PAYMENT_REQUIRED = "PAYMENT-REQUIRED";
export const PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE";
export const PAYMENT_RESPONSE = "PAYMENT-RESPONSE";
/** x402 V1 request and response headers (x402/v1.ts). */
export const X_PAYMENT = "X-PAYMENT";
export const X_PAYMENT_RESPONSE = "X-PAYMENT-RESPONSE";
export const SIGN_IN_WITH_X = "SIGN-IN-WITH-X";
/** Gateway sessions (docs/sessions.md): a session token, both ways, and the session's state on answers it served. */
export const X402_SESSION = "X402-SESSION";
export const X402_SESSION_REMAINING = "X402-SESSION-REMAINING";
export const X402_SESSION_EXPIRES = "X402-SESSION-EXPIRES";

/** Headers a browser client must be able to read (spec: expose them through CORS). */
export const EXPOSED_PAYMENT_HEADERS = [
  PAYMENT_REQUIRED,
  PAYMENT_RESPONSE,
  X_PAYMENT_RESPONSE,
  X402_SESSION,
  X402_SESSION_REMAINING,
  X402_SESSION_EXPIRES,
].join(", ");

/** Largest `PAYMENT-SIGNATURE` accepted, in characters. An EVM exact payload is ~1.2 KiB. */
export const MAX_PAYMENT_HEADER_CHARS = 16 * 1024;

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Text whose UTF-8 bytes are its char codes: btoa and atob take it as it is. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: every ASCII character is meant, controls included
const ASCII = /^[\x00-\x7f]*$/;

export function encodeBase64Json(value: unknown): string {
  return encodeBase64Text(JSON.stringify(value));
}

/** Base64 of the text's UTF-8 bytes. */
export function encodeBase64Text(text: string): string {
  return ASCII.test(text) ? btoa(text) : encodeBase64(new TextEncoder().encode(text));
}

export function decodeBase64Json<S extends z.ZodType>(header: string, schema: S): DecodeResult<z.infer<S>> {
  const text = header.trim();
  if (text.length === 0) return { ok: false, reason: "header is empty" };
  const binary = decodeBase64Binary(text);
  if (binary === null) return { ok: false, reason: "header is not standard base64" };
  let json = binary;
  if (!ASCII.test(binary)) {
    try {
      json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(binaryBytes(binary));
    } catch {
      return { ok: false, reason: "header is not base64 of UTF-8 text" };
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, reason: "header is not base64 of JSON" };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? first.path.join(".") : "(root)";
    return { ok: false, reason: `invalid field ${where}: ${first?.message ?? "invalid"}` };
  }
  return { ok: true, value: parsed.data };
}

export function decodePaymentSignatureHeader(header: string): DecodeResult<PaymentPayload> {
  if (header.length > MAX_PAYMENT_HEADER_CHARS) return { ok: false, reason: "header is too large" };
  return decodeBase64Json(header, PaymentPayloadSchema);
}

export function encodePaymentRequiredHeader(paymentRequired: PaymentRequired): string {
  return encodeBase64Json(paymentRequired);
}

export function encodePaymentResponseHeader(settleResponse: SettleResponse): string {
  return encodeBase64Json(settleResponse);
}
