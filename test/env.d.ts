// The test-only bindings (vitest.config.ts); the Worker's own come from wrangler.toml (worker-configuration.d.ts).
declare namespace Cloudflare {
  interface Env {
    SCHEMA_SQL: string;
    TEST_ORIGIN_URL: string;
    TEST_FACILITATOR_URL: string;
    TEST_DEAD_URL: string;
    TEST_CDP_ED25519_KEY_ID: string;
    TEST_CDP_ED25519_SECRET: string;
    TEST_CDP_EC_KEY_ID: string;
    TEST_CDP_EC_SECRET: string;
  }
}
