import { describe, expect, it } from "vitest";
import { escapeHtml, jsonForScript, paywallCsp } from "../../src/paywall/paywall-page.js";
import { formatUnits } from "../../src/paywall/paywall-view.js";
import { prefersHtml } from "../../src/paywall/prefers-html.js";

describe("prefersHtml", () => {
  it.each([
    ["Chrome's navigation", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", true],
    ["Firefox's navigation", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true],
    ["curl", "*/*", false],
    ["no Accept", null, false],
    ["an agent asking for JSON", "application/json", false],
    ["JSON first, HTML lower", "application/json, text/html;q=0.5", false],
    ["both named at the same quality", "text/html, application/json", false],
    ["HTML above application/*", "text/html, application/*;q=0.9", true],
    ["HTML refused", "text/html;q=0, */*", false],
    ["text/* only (not named)", "text/*", false],
    ["case and spaces", " TEXT/HTML ; q=1 , */*;q=0.1", true],
    ["a malformed q counts as refused", "text/html;q=abc, */*", false],
  ])("%s", (_name, accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});

describe("formatUnits", () => {
  it.each([
    ["10000", 6, "0.01"],
    ["250000", 6, "0.25"],
    ["1000000", 6, "1"],
    ["1", 6, "0.000001"],
    ["0", 6, "0"],
    ["123456789", 2, "1234567.89"],
    ["5", 0, "5"],
    ["000120", 2, "1.2"],
  ])("%s at %i decimals is %s", (amount, decimals, expected) => {
    expect(formatUnits(amount, decimals)).toBe(expected);
  });
});

describe("page escaping", () => {
  it("HTML text cannot open a tag or an attribute", () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe("&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
  });

  it("embedded JSON cannot close its script element, and parses back to the same value", () => {
    const value = { description: "</script><script>alert(1)</script> <!-- \u2028 & >" };
    const embedded = jsonForScript(value);
    expect(embedded).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(embedded)).toEqual(value);
  });

  it("the CSP allows only the page's own script and style, this origin, and no framing", () => {
    const csp = paywallCsp({ script: "'sha256-AAA='", style: "'sha256-BBB='" });
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'sha256-AAA='");
    expect(csp).toContain("style-src 'sha256-BBB='");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|https?:/);
  });
});
