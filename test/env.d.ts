declare namespace Cloudflare {
  interface Env {
    PRICE_RULES: KVNamespace;
    LEDGER: D1Database;
    PAYMENT_IDENTIFIERS: DurableObjectNamespace<import("../src/idempotency/payment-identifier-record.js").PaymentIdentifierRecord>;
    PAYMENT_RECORDS: DurableObjectNamespace<import("../src/payment-record/payment-record.js").PaymentRecord>;
    WALLET_SESSIONS: DurableObjectNamespace<import("../src/sessions/wallet-session.js").WalletSession>;
    SCHEMA_SQL: string;
    TEST_ORIGIN_URL: string;
    TEST_FACILITATOR_URL: string;
    TEST_DEAD_URL: string;
    TEST_CDP_ED25519_KEY_ID: string;
    TEST_CDP_ED25519_SECRET: string;
    TEST_CDP_EC_KEY_ID: string;
    TEST_CDP_EC_SECRET: string;
    PAYMENT_CHANNELS: DurableObjectNamespace<import("../src/channels/payment-channel.js").PaymentChannel>;
    FACILITATOR_STATE: DurableObjectNamespace<import("../src/facilitator/facilitator-state.js").FacilitatorState>;
  }
}
