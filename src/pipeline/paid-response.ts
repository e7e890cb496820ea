// What a paid answer carries, whichever mode it was paid in: the receipt (PAYMENT-RESPONSE), the timings, no caching;
// and a failure as the ledger records it.
import { GatewayFailure } from "../errors.js";
import { encodePaymentResponseHeader, EXPOSED_PAYMENT_HEADERS, PAYMENT_RESPONSE } from "../x402/headers.js";
import type { SettleResponse } from "../x402/schemas.js";

export function withReceipt(
  response: Response,
  settled: SettleResponse,
  serverTiming: string,
  extra: Record<string, string>,
  totalMs: number,
): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  headers.set(PAYMENT_RESPONSE, encodePaymentResponseHeader(settled));
  headers.append("Access-Control-Expose-Headers", EXPOSED_PAYMENT_HEADERS);
  headers.append("Server-Timing", `${serverTiming}, x402-total;dur=${totalMs}`);
  headers.set("Cache-Control", "no-store");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** A failure as the ledger's `error_reason` records it. */
export function describeFailure(error: unknown): string {
  return error instanceof GatewayFailure ? error.error.kind : "internal_error";
}
