// A line diff (longest common subsequence) in unified style with context, for `rules diff`. Pure.

/** Lines prefixed "- " (only in `before`), "+ " (only in `after`) or "  " (both), `context` lines around each change. */
export function diffLines(before: string, after: string, context = 3): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  // lcs[i][j]: length of the common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push(`  ${a[i++]}`);
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) ops.push(`+ ${b[j++]}`);
    else ops.push(`- ${a[i++]}`);
  }
  const changed = ops.map((op) => !op.startsWith("  "));
  if (!changed.some(Boolean)) return [];
  const out: string[] = [];
  let lastShown = -1;
  ops.forEach((op, k) => {
    const near = changed.slice(Math.max(0, k - context), k + context + 1).some(Boolean);
    if (!near) return;
    if (lastShown !== -1 && k > lastShown + 1) out.push("  …");
    out.push(op);
    lastShown = k;
  });
  return out;
}

/** JSON text in one layout (two-space indent, key order kept), so a diff shows content, not formatting. */
export function canonicalJson(text: string): string {
  return JSON.stringify(JSON.parse(text), null, 2);
}
