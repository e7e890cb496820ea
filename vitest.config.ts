import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** Unit, binding and gateway tests inside workerd, with real KV/D1/DO from miniflare. */
function workersProject(name: string, include: string[], setupFiles: string[]) {
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // Test-only bindings: never in wrangler.toml.
          bindings: {
            SCHEMA_SQL: readFileSync("./schema.sql", "utf8"),
            TEST_ORIGIN_URL: inject("originUrl"),
            TEST_FACILITATOR_URL: inject("facilitatorUrl"),
            TEST_DEAD_URL: inject("deadUrl"),
            // Worker secrets named by the tests' facilitator `auth` (cdp-jwt).
            TEST_CDP_ED25519_KEY_ID: "organizations/test-org/apiKeys/ed25519-key",
            TEST_CDP_ED25519_SECRET: inject("cdpEd25519Secret"),
            TEST_CDP_EC_KEY_ID: "organizations/test-org/apiKeys/ec-key",
            TEST_CDP_EC_SECRET: inject("cdpEcSecret"),
            // The batch-settlement authorizer: Durable Objects see the Worker's env, not a test's overrides.
            CHANNEL_AUTHORIZER_KEY: "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
            // The PaymentRecord's reconciler reads RPC_URLS from the same env: a scripted chain on a network no rule uses
            // (test/fixtures/fake-evm-chain.ts). A test's `vars` replace it for the gateway.
            RPC_URLS: JSON.stringify({ "eip155:999999": `${inject("originUrl")}/evm-chain` }),
          },
          // The real local binding (writes go nowhere locally): every gateway test runs with metrics on.
          analyticsEngineDatasets: { ANALYTICS: { dataset: "x402_gateway_test" } },
        },
      })),
    ],
    test: { name, include, globalSetup: ["./test/setup/global-setup.ts"], setupFiles },
  };
}

export default defineConfig({
  test: {
    // Each request's log line (test/gateway/request-log.test.ts reads them) would bury the output.
    onConsoleLog: (log) => !log.startsWith('{"event":"request"'),
    projects: [
      workersProject("workers", ["test/{unit,bindings,gateway,fuzz}/**/*.test.ts"], ["./test/setup/apply-schema.ts"]),
      // D1 without the ledger schema: every ledger write fails, as in a D1 outage, until the test applies it.
      workersProject("workers-d1-outage", ["test/outage/**/*.test.ts"], []),
      {
        // End to end, in Node: local chain, official facilitator and client, the gateway under wrangler dev.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
