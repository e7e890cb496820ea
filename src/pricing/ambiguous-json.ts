// Whether a JSON text can be read two ways by the origin (security review F9). JSON.parse keeps a duplicate key's
// last value; other parsers keep the first, and Go's encoding/json matches field names case-insensitively. A price
// read from `max_tokens` must be the value the origin reads, so a body with a duplicate key anywhere, or a key that
// differs from one on the priced path only in case, is refused rather than priced. Pure; expects valid JSON (the
// caller parsed it first).

/** Why the text is ambiguous, or undefined. `path`: the priced field's keys, outermost first. */
export function findAmbiguousKey(text: string, path: readonly string[]): string | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.value(path, true);
  } catch (problem) {
    if (typeof problem === "string") return problem;
    throw problem;
  }
  return undefined;
}

/** Deeper bodies are refused rather than walked (each level is a stack frame here). */
const MAX_DEPTH = 256;

class Scanner {
  #at = 0;
  #depth = 0;
  constructor(private readonly text: string) {}

  /** `onPath`: this value is where the priced path leads so far (`path[0]` is the next key on it). */
  value(path: readonly string[], onPath: boolean): void {
    this.#space();
    const c = this.text[this.#at];
    if (c === "{" || c === "[") {
      if (++this.#depth > MAX_DEPTH) throw `nested deeper than ${MAX_DEPTH}`;
      if (c === "{") this.#object(path, onPath);
      else this.#array();
      this.#depth--;
      return;
    }
    if (c === '"') {
      this.#string();
      return;
    }
    // A number, true, false or null: up to the next delimiter.
    while (this.#at < this.text.length && !",]} \t\r\n".includes(this.text[this.#at]!)) this.#at++;
  }

  #object(path: readonly string[], onPath: boolean): void {
    this.#at++;
    const seen = new Set<string>();
    const next = onPath ? path[0] : undefined;
    for (this.#space(); this.text[this.#at] !== "}"; this.#space()) {
      const key = this.#string();
      if (seen.has(key)) throw `duplicate key "${key}"`;
      seen.add(key);
      if (next !== undefined && key !== next && fold(key) === fold(next))
        throw `key "${key}" differs from the priced "${next}" only in case`;
      this.#space();
      this.#at++; // ':'
      this.value(path.slice(1), key === next);
      this.#space();
      if (this.text[this.#at] === ",") this.#at++;
    }
    this.#at++;
  }

  #array(): void {
    this.#at++;
    for (this.#space(); this.text[this.#at] !== "]"; this.#space()) {
      this.value([], false);
      this.#space();
      if (this.text[this.#at] === ",") this.#at++;
    }
    this.#at++;
  }

  /** The string at the cursor, unescaped (JSON.parse of its own text: escapes are rare in keys). */
  #string(): string {
    const start = this.#at;
    this.#at++;
    while (this.text[this.#at] !== '"') this.#at += this.text[this.#at] === "\\" ? 2 : 1;
    this.#at++;
    return JSON.parse(this.text.slice(start, this.#at)) as string;
  }

  #space(): void {
    while (" \t\r\n".includes(this.text[this.#at] ?? "x")) this.#at++;
  }
}

/**
 * Case-folded as the loosest origin reads it: upper then lower case maps what Go's and .NET's case-insensitive
 * matches treat as the same letter (long s `ſ` is `s`, the Kelvin sign is `k`) onto one spelling.
 */
export function fold(key: string): string {
  return key.toUpperCase().toLowerCase();
}
