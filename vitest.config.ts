import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Unit, binding and gateway tests inside workerd, with real KV/D1 from miniflare.
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
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/{unit,bindings,gateway,fuzz}/**/*.test.ts"],
          globalSetup: ["./test/setup/global-setup.ts"],
          setupFiles: ["./test/setup/apply-schema.ts"],
        },
      },
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
