declare namespace Cloudflare {
  interface Env {
    PRICE_RULES: KVNamespace;
    LEDGER: D1Database;
    SCHEMA_SQL: string;
    TEST_ORIGIN_URL: string;
    TEST_FACILITATOR_URL: string;
    TEST_DEAD_URL: string;
  }
}
