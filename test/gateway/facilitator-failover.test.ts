// Several facilitators at the HTTP boundary: a preferred one failing in every way we know, a backup that works.
// In every case the payer is settled at most once, the origin's answer is used only after a verify succeeded, and
// the ledger names who verified and who settled.
import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, encodePayment, payFor, type FacilitatorSpec } from "../fixtures/builders.js";
import type { FacilitatorMode } from "../fixtures/fake-facilitator.js";

function twoFacilitators(primary: FacilitatorMode | "dead", backup: FacilitatorMode | "dead" = "ok", extra: Partial<FacilitatorSpec> = {}) {
  return buildHarness({
    facilitators: [
      { id: "primary", mode: primary, priority: 1, verifyTimeoutMs: 400, settleTimeoutMs: 400, ...extra },
      { id: "backup", mode: backup, priority: 2 },
    ],
  });
}

const paths = async (harness: Awaited<ReturnType<typeof twoFacilitators>>, facilitator: string) =>
  (await harness.facilitatorCalls({ facilitator })).map((call) => call.path);

describe("facilitator failover", () => {
  it.each<[string, FacilitatorMode | "dead", string[]]>([
    ["down (nothing listens)", "dead", []],
    ["answering 500 to verify", "http500", ["/verify"]],
    ["answering garbage to verify", "garbage", ["/verify"]],
    ["answering the wrong shape", "wrong-shape", ["/verify"]],
    ["dropping the connection", "drop", ["/verify"]],
    ["too slow to verify", "slow-verify", ["/verify"]],
    ["refusing our credentials", "auth-refused", []],
    ["with /supported down", "supported-500", []],
    ["not listing the kind", "no-kinds", []],
  ])("preferred facilitator %s: paid through the backup in the same request", async (_name, mode, primaryCalls) => {
    const harness = await twoFacilitators(mode);
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(200);
    expect(response.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
    expect(await paths(harness, "primary")).toEqual(primaryCalls);
    expect(await paths(harness, "backup")).toEqual(["/verify", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled", facilitator_id: "backup", settled_by: "backup" }]);
  });

  it("a refused verify is a verdict: a 402 with its reason, and the backup is not asked", async () => {
    const harness = await twoFacilitators("invalid");
    // A payer never seen here: one whose earlier payment passed has the origin asked during verify (origin-call.ts).
    const { response } = await payFor(harness, "/weather/paris", { signer: privateKeyToAccount(generatePrivateKey()) });

    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe("insufficient_funds");
    expect(await paths(harness, "backup")).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("a settle turned away at the door (401) moves to the backup, which settles once", async () => {
    const harness = await twoFacilitators("settle-401");
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(200);
    expect(await paths(harness, "primary")).toEqual(["/verify", "/settle"]);
    expect(await paths(harness, "backup")).toEqual(["/settle"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled", facilitator_id: "primary", settled_by: "backup" }]);
  });

  it.each<[string, FacilitatorMode]>([
    ["answers 500", "settle-500"],
    ["times out", "slow-settle"],
  ])("a settle that %s may have reached the chain: never settled elsewhere, ledger settle_unknown", async (_name, mode) => {
    const harness = await twoFacilitators(mode);
    const { response } = await payFor(harness, "/weather/paris");

    expect([502, 504]).toContain(response.status);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await paths(harness, "primary")).toEqual(["/verify", "/settle"]);
    expect(await paths(harness, "backup")).toEqual([]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settle_unknown", facilitator_id: "primary", settled_by: "primary" }]);
  });

  it("every settle turned away: settle_failed (certainly not settled), and the same payment may be tried again", async () => {
    const harness = await twoFacilitators("settle-401", "settle-401");
    const { response, payload } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "facilitator_unavailable" });
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "settle_failed", error_reason: "facilitator_unavailable (not submitted)", settled_by: "backup" },
    ]);
    // The replay lock was released: the retry is verified again rather than refused as already used.
    const retry = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(retry.status).toBe(502);
    expect(await paths(harness, "primary")).toEqual(["/verify", "/settle", "/verify", "/settle"]);
  });

  it("every facilitator down: 503 no_settleable_offer, never an empty accepts, origin untouched", async () => {
    const harness = await twoFacilitators("dead", "supported-garbage");
    const response = await harness.fetch("/weather/paris");

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "no_settleable_offer" });
    expect(response.headers.get("PAYMENT-REQUIRED")).toBeNull();
    expect(await harness.originCalls()).toEqual([]);
  });

  it("a facilitator restricted to other networks is never asked", async () => {
    const harness = await twoFacilitators("ok", "ok", { networks: ["eip155:8453"] });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(200);
    expect(await paths(harness, "primary")).toEqual([]);
    expect(await harness.ledgerRows()).toMatchObject([{ facilitator_id: "backup" }]);
  });
});

describe("facilitator and offer preferences", () => {
  it("preferFacilitators (rule) wins over priority", async () => {
    const harness = await buildHarness({
      facilitators: [
        { id: "primary", mode: "ok", priority: 1 },
        { id: "backup", mode: "ok", priority: 2 },
      ],
      rules: [buildRule({ preferences: { preferFacilitators: ["backup"] } })],
    });
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    expect(await harness.ledgerRows()).toMatchObject([{ facilitator_id: "backup", settled_by: "backup" }]);
    expect(await harness.facilitatorCalls({ facilitator: "primary" })).toEqual([]);
  });

  it("preferences visibly reorder and filter the 402's accepts", async () => {
    const accepts = [{ network: "eip155:8453" }, { network: "eip155:84532" }, { network: "eip155:1" }];
    const networksOf = async (document: Record<string, unknown>) => {
      const harness = await buildHarness({ document, rules: [buildRule({ accepts })] });
      return decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED")).accepts.map(
        (o) => o.network,
      );
    };
    expect(await networksOf({})).toEqual(["eip155:8453", "eip155:84532", "eip155:1"]);
    expect(await networksOf({ preferences: { preferNetworks: ["eip155:1", "eip155:84532"] } })).toEqual([
      "eip155:1",
      "eip155:84532",
      "eip155:8453",
    ]);
    expect(await networksOf({ preferences: { avoidMainnet: true } })).toEqual(["eip155:84532"]);
    expect(
      await networksOf({
        assets: [
          {
            network: "eip155:8453",
            address: "0x0000000000000000000000000000000000000e0c",
            decimals: 6,
            symbol: "EURC",
            name: "EURC",
            version: "2",
            default: true,
          },
        ],
        preferences: { assets: ["USDC"] },
      }),
    ).toEqual(["eip155:84532", "eip155:1"]);
  });
});

describe("preferences that leave nothing", () => {
  it("fail closed with a clear 503, never a 402 with an empty accepts", async () => {
    const harness = await buildHarness({
      document: { preferences: { testnetOnly: true } },
      rules: [buildRule({ accepts: [{ network: "eip155:8453" }] })],
    });
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "config_invalid" });
    expect(response.headers.get("PAYMENT-REQUIRED")).toBeNull();
    // Only the paths the refused document prices are blocked; the rest passes through.
    expect((await harness.fetch("/free")).status).toBe(200);
  });
});
