declare namespace Cloudflare {
  interface Env {
    PRICE_RULES: KVNamespace;
    LEDGER: D1Database;
    PAYMENT_LOCKS: DurableObjectNamespace<import("../src/replay/payment-lock.js").PaymentLock>;
    SCHEMA_SQL: string;
    TEST_ORIGIN_URL: string;
    TEST_FACILITATOR_URL: string;
    TEST_DEAD_URL: string;
  }
}
