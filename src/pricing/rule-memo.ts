// The rules a document's last compile produced, by their source text: an edit to one rule of 10,000 compiles
// that one again and reuses the rest. Valid only while what a rule's compile reads besides the rule itself
// (assets, document preferences, facilitator ids, the scheme plugins) is unchanged; otherwise it starts empty.
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import type { PriceRule } from "./price-rule.js";

/** A compiled rule without its position: the same rule may move in the document. */
export type CompiledRuleBody = Omit<PriceRule, "index">;

export class RuleMemo {
  #context = "";
  #schemes: SchemeRegistry | undefined;
  #previous = new Map<string, CompiledRuleBody>();
  #next = new Map<string, CompiledRuleBody>();

  /** Starts a compile; `context` is everything besides the rule that its compile depends on, as text. */
  begin(context: string, schemes: SchemeRegistry): void {
    if (context !== this.#context || schemes !== this.#schemes) this.#previous.clear();
    this.#context = context;
    this.#schemes = schemes;
    this.#next = new Map();
  }

  reuse(source: string): CompiledRuleBody | undefined {
    const body = this.#previous.get(source);
    if (body) this.#next.set(source, body);
    return body;
  }

  /** Only rules that compiled without a problem are kept: a problem's text names the rule's position. */
  keep(source: string, body: CompiledRuleBody): void {
    this.#next.set(source, body);
  }

  /** Ends a compile: what it used is what the next one may reuse, so the memo never outgrows the document. */
  finish(): void {
    this.#previous = this.#next;
    this.#next = new Map();
  }
}
