// The rules a document's last compile produced, by their source text: an edit to one rule of 10,000 compiles
// that one again and reuses the rest. Valid only while what a rule's compile reads besides the rule itself
// (assets, document preferences, facilitator ids, the scheme plugins) is unchanged; otherwise it starts empty.
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import type { PriceRule } from "./price-rule.js";

/** Each rule is kept with its position: one an edit did not move is reused as it is, without a copy. */
export class RuleMemo {
  #context = "";
  #schemes: SchemeRegistry | undefined;
  #previous = new Map<string, PriceRule>();
  #next = new Map<string, PriceRule>();

  /** Starts a compile; `context` is everything besides the rule that its compile depends on, as text. */
  begin(context: string, schemes: SchemeRegistry): void {
    if (context !== this.#context || schemes !== this.#schemes) this.#previous.clear();
    this.#context = context;
    this.#schemes = schemes;
    this.#next = new Map();
  }

  /** The rule compiled from `source` last time, at `index` (a copy only when it moved). */
  reuse(source: string, index: number): PriceRule | undefined {
    const previous = this.#previous.get(source);
    if (!previous) return undefined;
    const rule = previous.index === index ? previous : { ...previous, index };
    this.#next.set(source, rule);
    return rule;
  }

  /** Only rules that compiled without a problem are kept: a problem's text names the rule's position. */
  keep(source: string, rule: PriceRule): void {
    this.#next.set(source, rule);
  }

  /** Ends a compile: what it used is what the next one may reuse, so the memo never outgrows the document. */
  finish(): void {
    this.#previous = this.#next;
    this.#next = new Map();
  }
}
