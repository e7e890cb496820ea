// The rules document in KV with its previous versions (docs/admin.md): every replace keeps the document it
// replaces under `<key>@history@<ms>`, newest last in KV's key order; a rollback restores the newest and
// drops it (undo, step by step). Validation is the Worker's own compiler, so what is stored is what would load.
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import { compilePriceRules } from "../pricing/compile-price-rules.js";

/** Versions kept beyond the current one. */
export const KEPT_VERSIONS = 20;

export interface RulesVersion {
  /** KV key the version is stored under. */
  key: string;
  /** When it was replaced (ms since epoch). */
  replacedAtMs: number;
}

export type RulesCheckResult = { ok: true; rules: number; discoverable: number; facilitators: number } | { ok: false; problems: string[] };

export function checkRulesDocument(text: string, schemes: SchemeRegistry): RulesCheckResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`not JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  const compiled = compilePriceRules(json, schemes);
  if (!compiled.ok) return { ok: false, problems: compiled.problems };
  const { rules, facilitators } = compiled.ruleSet;
  return {
    ok: true,
    rules: rules.length,
    discoverable: rules.filter((rule) => rule.discoverable).length,
    facilitators: facilitators.length,
  };
}

/** A short, stable tag of a document's text: what `If-Match` compares. */
export async function documentTag(text: string | null): Promise<string> {
  if (text === null) return '"none"';
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `"${[...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

function historyPrefix(key: string): string {
  return `${key}@history@`;
}

export async function listVersions(kv: KVNamespace, key: string): Promise<RulesVersion[]> {
  const prefix = historyPrefix(key);
  const versions: RulesVersion[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const entry of page.keys) versions.push({ key: entry.name, replacedAtMs: Number(entry.name.slice(prefix.length)) });
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return versions.sort((a, b) => a.replacedAtMs - b.replacedAtMs);
}

/** Stores `text` as the current document, keeping the one it replaces (if any); prunes to KEPT_VERSIONS. */
export async function replaceRules(kv: KVNamespace, key: string, text: string, nowMs: number): Promise<{ previous: string | null }> {
  const previous = await kv.get(key, "text");
  if (previous !== null) {
    const versions = await listVersions(kv, key);
    // Two replaces in one millisecond must not share a history key.
    const last = versions.at(-1)?.replacedAtMs ?? 0;
    const at = Math.max(nowMs, last + 1);
    await kv.put(`${historyPrefix(key)}${String(at).padStart(15, "0")}`, previous);
    for (const old of versions.slice(0, Math.max(0, versions.length + 1 - KEPT_VERSIONS))) await kv.delete(old.key);
  }
  await kv.put(key, text);
  return { previous };
}

/** Restores the newest kept version and drops it from the history; undefined when there is none. */
export async function rollbackRules(kv: KVNamespace, key: string): Promise<{ restored: RulesVersion; text: string } | undefined> {
  const newest = (await listVersions(kv, key)).at(-1);
  if (!newest) return undefined;
  const text = await kv.get(newest.key, "text");
  if (text === null) return undefined;
  await kv.put(key, text);
  await kv.delete(newest.key);
  return { restored: newest, text };
}
