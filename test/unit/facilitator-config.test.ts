// Security review F11: a rules document cannot name the gateway's own secrets as a facilitator's credential.
import { describe, expect, it } from "vitest";
import { GATEWAY_ENV_VARS } from "../../src/gateway-config.js";
import { GATEWAY_OWN_VARS, SHORTHAND_TOKEN_SECRET } from "../../src/facilitator/facilitator-config.js";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const compile = (auth: Record<string, unknown>) =>
  compilePriceRules(
    {
      facilitators: [{ id: "x", url: "https://facilitator.example", auth }],
      rules: [
        {
          id: "r",
          path: "/r",
          price: "$0.01",
          accepts: [{ network: "eip155:84532" }],
          payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        },
      ],
    },
    buildDefaultSchemeRegistry(),
  );

describe("facilitator credentials", () => {
  it("every env var the gateway reads is off limits, but the shorthand's own token", () => {
    expect(GATEWAY_ENV_VARS.filter((name) => name !== SHORTHAND_TOKEN_SECRET && !GATEWAY_OWN_VARS.has(name))).toEqual([]);
  });

  it.each(["SESSION_KEYS", "ADMIN_TOKEN", "CHANNEL_AUTHORIZER_KEY", "OFFER_RECEIPT_KEYS", "ADMIN_JWT_KEY", "RPC_URLS"])(
    "refuses a bearer secret named %s",
    (name) => {
      const compiled = compilePriceRules({ facilitators: [], rules: [] }, buildDefaultSchemeRegistry());
      expect(compiled.ok).toBe(true);
      const refused = compile({ kind: "bearer", tokenSecret: name });
      expect(refused.ok).toBe(false);
      expect(!refused.ok && refused.problems.join("\n")).toContain("gateway's own settings or secrets");
    },
  );

  it("refuses a CDP key named after a gateway secret, and takes secrets of the facilitator's own", () => {
    expect(compile({ kind: "cdp-jwt", keyIdSecret: "CDP_KEY_ID", keySecret: "SESSION_KEYS" }).ok).toBe(false);
    expect(compile({ kind: "cdp-jwt", keyIdSecret: "CDP_KEY_ID", keySecret: "CDP_KEY_SECRET" }).ok).toBe(true);
    expect(compile({ kind: "bearer", tokenSecret: "FACILITATOR_AUTH_TOKEN" }).ok).toBe(true);
  });
});
