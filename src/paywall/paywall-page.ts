// The browser paywall (docs/paywall.md): the HTML a person's browser gets instead of the JSON 402. It shows what
// is sold and each offer's price, and pays an EVM `exact` offer with the injected wallet. Self-contained (no
// remote script, style or font) and locked down by its CSP. Pure: the CSP hashes are passed in.
import type { PaymentRequired } from "../x402/schemas.js";
import { PAYWALL_SCRIPT } from "./paywall-script.js";

/** One offer as the page lists it. */
export interface PaywallOffer {
  /** `0.01 USDC`. */
  price: string;
  networkName: string;
  payTo: string;
  scheme: string;
  /** Why the page itself cannot pay it (an x402 client can); absent when it can. */
  unpayableBecause?: string;
}

export interface PaywallView {
  title: string;
  description: string;
  method: string;
  paymentRequired: PaymentRequired;
  /** In `paymentRequired.accepts` order. */
  offers: PaywallOffer[];
  /** "One payment opens a session …", when the rule sells sessions. */
  sessionNote?: string;
  /** Shown when the 402 refuses something (a session that ran out), not for a plain first visit. */
  notice?: string;
}

export const PAYWALL_STYLE = `
:root{color-scheme:light dark;--fg:#15171a;--muted:#5b6270;--bg:#f6f7f9;--card:#fff;--line:#dde1e7;--accent:#1652f0;--bad:#b42318;--good:#067647}
@media (prefers-color-scheme:dark){:root{--fg:#eef0f3;--muted:#a3aab6;--bg:#101215;--card:#191c21;--line:#2c313a;--accent:#5b8cff;--bad:#ff8a80;--good:#6ce9a6}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:40rem;margin:3rem auto;padding:0 1rem}.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
.badge{display:inline-block;margin:0;font-size:.8rem;letter-spacing:.04em;text-transform:uppercase;color:var(--muted)}
h1{margin:.25rem 0 .5rem;font-size:1.6rem;line-height:1.2}h2{font-size:1rem;margin:1.5rem 0 .5rem}
.resource code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all;color:var(--muted)}
ul{list-style:none;margin:0;padding:0}li{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:.75rem 0;border-top:1px solid var(--line)}
.price{font-size:1.25rem;font-weight:650}.meta{display:block;color:var(--muted);font-size:.85rem;word-break:break-all}
button{font:inherit;font-weight:600;padding:.55rem 1.1rem;border:0;border-radius:8px;background:var(--accent);color:#fff;cursor:pointer;white-space:nowrap}
button:disabled{opacity:.45;cursor:not-allowed}.hint{color:var(--muted);font-size:.85rem;max-width:12rem;text-align:right}
.note{color:var(--muted);font-size:.9rem}#status{min-height:1.5rem;margin:1rem 0 0;word-break:break-word}
#status[data-kind=error]{color:var(--bad)}#status[data-kind=ok]{color:var(--good);font-weight:600}
pre{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:1rem;overflow:auto;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
img{max-width:100%}footer{margin-top:1rem;color:var(--muted);font-size:.8rem}
`;

export interface PaywallHashes {
  /** `'sha256-…'` of PAYWALL_SCRIPT and PAYWALL_STYLE, for the CSP. */
  script: string;
  style: string;
}

export function renderPaywallPage(view: PaywallView): string {
  const offers = view.offers.map((offer, index) => renderOffer(offer, index)).join("");
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">',
    `<title>Payment required · ${escapeHtml(view.title)}</title><style>${PAYWALL_STYLE}</style></head>`,
    '<body><main><div class="card">',
    `<p class="badge" id="badge">402 · Payment required</p><h1>${escapeHtml(view.title)}</h1>`,
    view.description && view.description !== view.title ? `<p>${escapeHtml(view.description)}</p>` : "",
    `<p class="resource"><code>${escapeHtml(view.method)} ${escapeHtml(view.paymentRequired.resource.url)}</code></p>`,
    view.notice ? `<p class="note">${escapeHtml(view.notice)}</p>` : "",
    `<section id="offers"><h2>Pay for this request</h2><ul>${offers}</ul>`,
    view.sessionNote ? `<p class="note">${escapeHtml(view.sessionNote)}</p>` : "",
    "</section>",
    '<p id="status" role="status" aria-live="polite"></p><section id="result" hidden></section>',
    "</div><footer>Paid with x402: programs and agents read the same offers from this response's PAYMENT-REQUIRED header.</footer></main>",
    `<script type="application/json" id="x402-data">${jsonForScript({ paymentRequired: view.paymentRequired, offers: view.offers })}</script>`,
    `<script>${PAYWALL_SCRIPT}</script></body></html>`,
  ].join("");
}

/** Nothing but this page's own script and style runs; it talks only to this origin and cannot be framed. */
export function paywallCsp(hashes: PaywallHashes): string {
  return [
    "default-src 'none'",
    `script-src ${hashes.script}`,
    `style-src ${hashes.style}`,
    "img-src blob: data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function renderOffer(offer: PaywallOffer, index: number): string {
  const action = offer.unpayableBecause
    ? `<span class="hint">${escapeHtml(offer.unpayableBecause)}</span>`
    : `<button type="button" data-offer="${index}" disabled>Pay ${escapeHtml(offer.price)}</button>`;
  const payee = offer.payTo.length > 20 ? `${offer.payTo.slice(0, 8)}…${offer.payTo.slice(-6)}` : offer.payTo;
  return (
    `<li><div><span class="price">${escapeHtml(offer.price)}</span>` +
    `<span class="meta">${escapeHtml(offer.networkName)} · ${escapeHtml(offer.scheme)} · to <span title="${escapeHtml(offer.payTo)}">${escapeHtml(payee)}</span></span></div>${action}</li>`
  );
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** JSON that cannot close its <script> element or open a comment, whatever the rule's strings hold. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
