// `npm run bench` runs this on its own (never part of `npm test`): compilePriceRules timed inside workerd.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "../../wrangler.toml" } })],
  test: { name: "bench-workerd", include: ["compile.bench-run.ts"], root: "bench/workerd", testTimeout: 300_000 },
});
