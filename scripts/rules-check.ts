// The rules document checked by the Worker's own compiler (the same schema, plugins and conflict checks a
// request would meet, and the same function the admin API's PUT runs), every problem at once: what
// `npm run cli -- rules check FILE` prints.
import { checkRulesDocument } from "../src/admin/rules-versions.js";
import { buildDefaultSchemeRegistry } from "../src/schemes/default-schemes.js";

export interface RulesCheck {
  ok: boolean;
  /** One line per problem, or a summary when there is none. */
  lines: string[];
}

export function checkRulesText(text: string): RulesCheck {
  const checked = checkRulesDocument(text, buildDefaultSchemeRegistry());
  if (!checked.ok) return { ok: false, lines: checked.problems };
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return {
    ok: true,
    lines: [
      `valid: ${plural(checked.rules, "rule")} (${checked.discoverable} discoverable), ${plural(checked.facilitators, "facilitator")} listed`,
    ],
  };
}
