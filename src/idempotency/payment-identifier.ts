// The `payment-identifier` extension (specs/extensions/payment_identifier.md): the 402 advertises it, the client
// puts an idempotency `id` in its PaymentPayload. Pure.
import { sha256OfStableJson } from "../encoding/bytes.js";
import type { PaymentPayload } from "../x402/schemas.js";

export const PAYMENT_IDENTIFIER = "payment-identifier";
const ID_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export function buildPaymentIdentifierExtension(required: boolean) {
  return {
    info: { required },
    schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: {
        required: { type: "boolean" },
        id: { type: "string", minLength: 16, maxLength: 128, pattern: "^[a-zA-Z0-9_-]+$" },
      },
      required: ["required"],
    },
  };
}

export type ExtractedIdentifier = { kind: "none" } | { kind: "id"; id: string } | { kind: "invalid"; reason: string };

export function extractPaymentIdentifier(payload: PaymentPayload): ExtractedIdentifier {
  const extension = payload.extensions?.[PAYMENT_IDENTIFIER];
  if (extension === undefined) return { kind: "none" };
  const info = (extension as { info?: { id?: unknown } } | null)?.info;
  if (info?.id === undefined) return { kind: "none" };
  if (typeof info.id !== "string" || !ID_PATTERN.test(info.id)) {
    return { kind: "invalid", reason: "payment-identifier id must be 16-128 of [A-Za-z0-9_-]" };
  }
  return { kind: "id", id: info.id };
}

/** What "the same payload" means for a retry: the offer chosen and the signed scheme payload, key order aside. */
export function fingerprintPayment(payload: PaymentPayload): Promise<string> {
  return sha256OfStableJson({ accepted: payload.accepted, payload: payload.payload });
}
