import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { resetHealthProbes } from "../../src/health/serve-health.js";
import { buildHarness, newTestId } from "../fixtures/builders.js";

const HEALTH = "/.well-known/x402/health";

beforeEach(() => resetHealthProbes());

describe("GET /.well-known/x402/health", () => {
  it("ok: rules valid, the facilitator reachable, the ledger reachable; no secret and no facilitator path shown", async () => {
    const harness = await buildHarness({ vars: { FACILITATOR_AUTH_TOKEN: "health-test-secret-token" } });
    const response = await harness.fetch(HEALTH);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      status: "ok",
      rules: { key: harness.env.PRICE_RULES_KEY, valid: true, rules: 1 },
      facilitators: [
        {
          id: "default",
          origin: new URL(env.TEST_FACILITATOR_URL).origin,
          circuit: "closed",
          reachable: true,
          ms: expect.any(Number),
          kinds: expect.any(Number),
        },
      ],
      ledger: { reachable: true, stuckVerified: expect.any(Number), owedRefunds: expect.any(Number), settleUnknown: expect.any(Number) },
    });
    expect(text).not.toContain("health-test-secret-token");
    expect(text).not.toContain(`/t/${harness.id}`);
    // Never forwarded.
    expect(await harness.originCalls()).toEqual([]);
  });

  it("probes each facilitator at most once per 10 s per isolate", async () => {
    const harness = await buildHarness();
    await harness.fetch(HEALTH);
    const after = (await harness.facilitatorCalls({ supported: true })).length;
    for (let i = 0; i < 5; i++) expect((await harness.fetch(HEALTH)).status).toBe(200);
    expect((await harness.facilitatorCalls({ supported: true })).length).toBe(after);
  });

  it("failing (503) when no facilitator can be reached, with the reason", async () => {
    const harness = await buildHarness({ facilitator: "dead" });
    const response = await harness.fetch(HEALTH);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; facilitators: { reachable: boolean; error?: string }[] };
    expect(body.status).toBe("failing");
    expect(body.facilitators).toEqual([expect.objectContaining({ reachable: false, error: "facilitator_unavailable" })]);
  });

  it("degraded when one of two facilitators is down", async () => {
    const harness = await buildHarness({
      facilitators: [
        { id: "up", mode: "ok" },
        { id: "down", mode: "dead" },
      ],
    });
    const body = (await (await harness.fetch(HEALTH)).json()) as { status: string; facilitators: { id: string; reachable: boolean }[] };
    expect(body.status).toBe("degraded");
    expect(body.facilitators.map((f) => [f.id, f.reachable])).toEqual([
      ["up", true],
      ["down", false],
    ]);
  });

  it("failing (503) with the problems when the rules are invalid", async () => {
    const harness = await buildHarness({ rules: JSON.stringify({ rules: [{ id: "x", path: "no-slash", price: "$1" }] }) });
    const response = await harness.fetch(HEALTH);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; rules: { valid: boolean; problems: string[] } };
    expect(body.status).toBe("failing");
    expect(body.rules.valid).toBe(false);
    expect(body.rules.problems.length).toBeGreaterThan(0);
  });

  it("counts ledger rows whose outcome has not arrived, owed refunds and unknown settlements", async () => {
    const harness = await buildHarness();
    const before = (await (await harness.fetch(HEALTH)).json()) as { ledger: Record<string, number> };
    const old = new Date(Date.now() - 5 * 60_000).toISOString();
    const insert = (status: string) =>
      env.LEDGER.prepare(
        `INSERT INTO payments (payment_key, rule_id, method, resource, scheme, network, asset, amount, pay_to, payer, facilitator, status, created_at, updated_at)
         VALUES (?, 'weather', 'GET', 'https://gateway.example/weather/x', 'exact', 'eip155:84532', '0xasset', '1', '0xpayto', '0xpayer', 'https://f.example', ?, ?, ?)`,
      )
        .bind(`health-${newTestId()}`, status, old, old)
        .run();
    await insert("verified");
    await insert("owed_refund");
    await insert("settle_unknown");
    const response = await harness.fetch(HEALTH);
    const after = (await response.json()) as { status: string; ledger: Record<string, number> };
    expect(after.status).toBe("degraded");
    expect(after.ledger.stuckVerified).toBe(before.ledger.stuckVerified! + 1);
    expect(after.ledger.owedRefunds).toBe(before.ledger.owedRefunds! + 1);
    expect(after.ledger.settleUnknown).toBe(before.ledger.settleUnknown! + 1);
  });

  it("answers GET and HEAD only", async () => {
    const harness = await buildHarness();
    expect((await harness.fetch(HEALTH, { method: "HEAD" })).status).toBe(200);
    const post = await harness.fetch(HEALTH, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
  });
});
