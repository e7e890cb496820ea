// The rules document checked by the Worker's own compiler (the same schema, plugins and conflict checks a
// request would meet), every problem at once: what `npm run cli -- rules check FILE` prints. Pure but for I/O
// in the caller.
import { compilePriceRules } from "../src/pricing/compile-price-rules.js";
import { buildDefaultSchemeRegistry } from "../src/schemes/default-schemes.js";

export interface RulesCheck {
  ok: boolean;
  /** One line per problem, or a summary when there is none. */
  lines: string[];
}

export function checkRulesText(text: string): RulesCheck {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, lines: [`not JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  const compiled = compilePriceRules(json, buildDefaultSchemeRegistry());
  if (!compiled.ok) return { ok: false, lines: compiled.problems };
  const { rules, facilitators } = compiled.ruleSet;
  const discoverable = rules.filter((rule) => rule.discoverable).length;
  return { ok: true, lines: [`valid: ${rules.length} rule${rules.length === 1 ? "" : "s"} (${discoverable} discoverable), ${facilitators.length} facilitator${facilitators.length === 1 ? "" : "s"} listed`] };
}
