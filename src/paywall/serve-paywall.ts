// The HTML 402: the same PAYMENT-REQUIRED header as the JSON one, the paywall page as the body.
import { encodeBase64 } from "../encoding/base64.js";
import { encodePaymentRequiredHeader, EXPOSED_PAYMENT_HEADERS, PAYMENT_REQUIRED } from "../x402/headers.js";
import type { PaymentRequired } from "../x402/schemas.js";
import { paywallCsp, PAYWALL_STYLE, renderPaywallPage, type PaywallHashes, type PaywallView } from "./paywall-page.js";
import { PAYWALL_SCRIPT } from "./paywall-script.js";

let hashes: Promise<PaywallHashes> | undefined;

export async function paywallResponse(paymentRequired: PaymentRequired, view: PaywallView, method: string): Promise<Response> {
  hashes ??= Promise.all([cspHash(PAYWALL_SCRIPT), cspHash(PAYWALL_STYLE)]).then(([script, style]) => ({ script, style }));
  return new Response(method === "HEAD" ? null : renderPaywallPage(view), {
    status: 402,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      [PAYMENT_REQUIRED]: encodePaymentRequiredHeader(paymentRequired),
      "Cache-Control": "no-store",
      Vary: "Accept",
      "Content-Security-Policy": paywallCsp(await hashes),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Access-Control-Expose-Headers": EXPOSED_PAYMENT_HEADERS,
    },
  });
}

async function cspHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `'sha256-${encodeBase64(digest)}'`;
}
