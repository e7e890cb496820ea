// Content negotiation for the browser paywall: only a client whose Accept ranks text/html above JSON gets the
// HTML 402. Browsers name text/html and reach JSON only through `*/*`; agents and curl send `*/*` or JSON, and
// keep getting the JSON 402. Pure.

interface Ranked {
  q: number;
  /** 2: named exactly, 1: `type/*`, 0: `*` + `/*`, -1: not accepted at all. */
  specificity: number;
}

const NOT_ACCEPTED: Ranked = { q: 0, specificity: -1 };

export function prefersHtml(accept: string | null): boolean {
  if (!accept) return false;
  const html = rank(accept, "text", "html");
  if (html.specificity !== 2 || html.q === 0) return false;
  const json = rank(accept, "application", "json");
  return html.q > json.q || (html.q === json.q && json.specificity < 2);
}

/** The most specific range matching `type/subtype` decides its quality (RFC 9110 §12.5.1). */
function rank(accept: string, type: string, subtype: string): Ranked {
  let best = NOT_ACCEPTED;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.split(";");
    const [rangeType, rangeSubtype] = range.trim().toLowerCase().split("/");
    const specificity =
      rangeType === type && rangeSubtype === subtype
        ? 2
        : rangeType === type && rangeSubtype === "*"
          ? 1
          : rangeType === "*" && rangeSubtype === "*"
            ? 0
            : -1;
    if (specificity <= best.specificity) continue;
    best = { q: quality(params), specificity };
  }
  return best;
}

function quality(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split("=");
    if (name?.trim().toLowerCase() !== "q") continue;
    const q = Number(value?.trim());
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}
