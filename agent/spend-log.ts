// The agent's spend log: one JSON line per event, appended as it happens (a file when a path is given) and kept in
// memory. Its payment lines add up to exactly what left the wallet.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export type SpendEvent =
  /** A payment the gateway settled (`amount` atomic, as charged; `tx` its transaction). */
  | "payment"
  /** A payment signed whose outcome is unknown (the gateway answered 502/504): counted against the budget. */
  | "payment_unknown"
  /** A call served by a session the wallet holds: nothing paid. */
  | "session_use"
  /** The 402 asked another price than discovery said. */
  | "price_drift"
  /** Not paid: over a cap, or no offer fits. */
  | "refused"
  /** A call that failed without a charge. */
  | "failed";

export interface SpendEntry {
  at: string;
  event: SpendEvent;
  resource: string;
  url: string;
  offer?: { scheme: string; network: string; asset: string; amount: string; payTo?: string | undefined };
  /** Atomic units of `offer.asset` charged. */
  amount?: string;
  /** The same as dollars (micro-dollars, as a string). */
  usdMicros?: string;
  tx?: string;
  session?: { remaining?: number | undefined; signedIn?: boolean };
  reason?: string;
  listedAmount?: string;
  askedAmount?: string;
}

export class SpendLog {
  readonly entries: SpendEntry[] = [];

  constructor(private readonly path?: string) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  write(entry: Omit<SpendEntry, "at">): SpendEntry {
    const line: SpendEntry = { at: new Date().toISOString(), ...entry };
    this.entries.push(line);
    if (this.path) appendFileSync(this.path, `${JSON.stringify(line)}\n`);
    return line;
  }
}
