// The one builder of a payment's ledger row, whichever mode took it: what was paid (the offer's terms), for which
// request, by whom, checked by which facilitator ("local": by the gateway alone, a channel's voucher).
import type { PaymentRequirements } from "../x402/schemas.js";
import type { LedgerEntry, LedgerStatus } from "./ledger.js";

/** What a mode knows of the payment besides the offer it paid. */
export interface PaymentParty {
  paymentKey: string;
  ruleId: string;
  method: string;
  resource: string;
  payer: string;
  facilitator: { url: string; id: string } | "local";
}

export function buildLedgerEntry(
  party: PaymentParty,
  requirements: PaymentRequirements,
  status: LedgerStatus,
  atMs: number,
  fields: Partial<LedgerEntry> = {},
): LedgerEntry {
  const { facilitator } = party;
  return {
    paymentKey: party.paymentKey,
    ruleId: party.ruleId,
    method: party.method,
    resource: party.resource,
    scheme: requirements.scheme,
    network: requirements.network,
    asset: requirements.asset,
    amount: requirements.amount,
    payTo: requirements.payTo,
    payer: party.payer,
    facilitator: facilitator === "local" ? "local" : facilitator.url,
    facilitatorId: facilitator === "local" ? "local" : facilitator.id,
    status,
    at: new Date(atMs).toISOString(),
    ...fields,
  };
}
