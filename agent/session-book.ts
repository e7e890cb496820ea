// Sessions the wallet holds, as the gateway reported them (X402-SESSION token, -REMAINING, -EXPIRES), keyed by
// what a session covers: the listing (scope "rule" or a prefix) or the one URL ("resource" scopes). A token is
// taken for a call only while the gateway said calls remain; buying or signing into a session is done by one call
// at a time per key, so concurrent calls never buy the same session twice.
import type { Listing } from "./catalog.js";

export const SESSION_HEADER = "X402-SESSION";
const REMAINING_HEADER = "X402-SESSION-REMAINING";
const EXPIRES_HEADER = "X402-SESSION-EXPIRES";

interface HeldSession {
  token: string;
  remaining: number;
  /** Unix seconds. */
  expiresAt: number;
}

export class SessionBook {
  readonly #held = new Map<string, HeldSession>();
  readonly #opening = new Map<string, Promise<unknown>>();

  constructor(private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000)) {}

  keyOf(listing: Listing, url: string): string {
    const scope = listing.session?.scope;
    const perUrl = scope === "resource" || scope === "resource+query";
    return perUrl ? `url ${scope === "resource" ? url.split("?")[0] : url}` : `listing ${listing.resource}`;
  }

  holds(key: string): boolean {
    const held = this.#held.get(key);
    return held !== undefined && held.remaining > 0 && held.expiresAt > this.nowSeconds() + 1;
  }

  /** A token for one call, counted against what remains; undefined when none is usable. */
  take(key: string): string | undefined {
    if (!this.holds(key)) return undefined;
    const held = this.#held.get(key)!;
    held.remaining -= 1;
    return held.token;
  }

  /**
   * Keeps what an answer says about the session (any answer that opened or used one carries it). `opened`: the
   * answer to the payment or sign-in that opened it, whose count stands; answers to token uses may arrive in any
   * order while others are in flight, so the lower count (the local one counts those in flight) is kept.
   */
  update(key: string, headers: Headers, opened = false): { remaining: number } | undefined {
    const held = this.#held.get(key);
    // A token use is answered with the counts only: the token sent stays the one to send.
    const token = headers.get(SESSION_HEADER) ?? held?.token;
    const remaining = Number(headers.get(REMAINING_HEADER) ?? Number.NaN);
    const expiresAt = Number(headers.get(EXPIRES_HEADER) ?? Number.NaN);
    if (!token || !Number.isInteger(remaining) || !Number.isInteger(expiresAt)) return undefined;
    const next = !opened && held && held.expiresAt === expiresAt && held.remaining < remaining ? held.remaining : remaining;
    this.#held.set(key, { token, remaining: next, expiresAt });
    return { remaining: next };
  }

  forget(key: string): void {
    this.#held.delete(key);
  }

  /** Runs `open` for one call at a time per key; others wait for it, then look for a usable token again. */
  async exclusive<T>(key: string, open: () => Promise<T>): Promise<T> {
    for (;;) {
      const running = this.#opening.get(key);
      if (!running) break;
      await running.catch(() => undefined);
    }
    const run = open();
    this.#opening.set(key, run);
    try {
      return await run;
    } finally {
      this.#opening.delete(key);
    }
  }
}
