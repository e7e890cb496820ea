import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
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
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/setup/global-setup.ts"],
    setupFiles: ["./test/setup/apply-schema.ts"],
  },
});
